"""Matrix formulas shown equal by a normal form: one formula written otherwise.

Sums are sorted (matrices of one shape add in any order), products chained (a matrix
product is associative), scalar factors gathered out of a chain in any order (a scalar
commutes with every matrix), element-wise products sorted, a division by a scalar a
factor of its inverse, ``a \\otimes b`` of two arrays the outer product it is. Two formulas
with the same normal form are the same function wherever both have a value: a proof.
Which sub-formulas are scalars is read from the formula (scalar symbols, numbers, norms,
traces and determinants, and element-wise functions of scalars), never from values.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from fractions import Fraction

from grader.mathlang import ast
from grader.mathlang.names import ALIASES
from grader.mathlang.values import FunctionDef

_MATRIX_PRODUCTS = frozenset({"implicit", "cdot", "times", "matmul"})
_ELEMENTWISE = frozenset({"star", "odot"})
_SCALAR_OF_ARRAY = frozenset({"norm", "trace", "det"})
# Element-wise built-ins: a scalar's value is a scalar.
_ELEMENTWISE_CALLS = frozenset(
    {
        "exp",
        "log",
        "sqrt",
        "abs",
        "sin",
        "cos",
        "tan",
        "tanh",
        "sigmoid",
        "relu",
        "softplus",
        "sign",
        "heaviside",
    }
)
MAX_NODES = 400


class NoForm(Exception):
    """The formula is too large for the normal form."""


def same_form(
    ref: ast.Node, ans: ast.Node, scalars: Collection[str], functions: Mapping[str, FunctionDef]
) -> bool:
    """Do the two formulas have the same normal form?"""
    try:
        return _Form(scalars, functions).of(ref) == _Form(scalars, functions).of(ans)
    except NoForm:
        return False


class _Form:
    def __init__(self, scalars: Collection[str], functions: Mapping[str, FunctionDef]):
        self.scalars = scalars
        self.functions = functions
        self.nodes = 0

    def of(self, node: ast.Node) -> str:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise NoForm("too large")
        match node:
            case ast.Num(value=v):
                return f"#{v}"
            case ast.Sym(name=name):
                return f"${name}"
            case ast.Const(name=name):
                return f"!{name}"
            case ast.Neg() | ast.BinOp(op="+" | "-"):
                return self._sum(node)
            case ast.BinOp():
                return self._product(node)
            case ast.Call(name=name, args=args):
                resolved = _resolved(name, self.functions)
                return f"{resolved}({','.join(self.of(a) for a in args)})"
            case ast.Transpose(operand=operand):
                return f"T({self.of(operand)})"
        children = ast.children(node)
        return f"{type(node).__name__}({','.join(self.of(c) for c in children)})"

    def _product(self, node: ast.BinOp) -> str:
        op, left, right = node.op, node.left, node.right
        if op in _MATRIX_PRODUCTS or op == "/" or (op in _ELEMENTWISE and self._scaling(node)):
            return self._chain(node)
        if op in _ELEMENTWISE:
            factors = sorted(self.of(f) for f in _flatten(node, _ELEMENTWISE))
            return f"odot({','.join(factors)})"
        if op == "otimes":
            if self.scalar(left) or self.scalar(right):
                return self._chain(ast.BinOp(node.pos, "implicit", left, right))
            return f"outer({self.of(left)},{self.of(right)})"
        return f"{op}({self.of(left)},{self.of(right)})"

    def _sum(self, node: ast.Node) -> str:
        terms: list[str] = []
        for term, negative in _terms(node, False):
            if negative:  # the factor -1 of a chain, as a product writes it
                term = ast.BinOp(term.pos, "implicit", ast.Num(term.pos, Fraction(-1)), term)
            terms.append(self.of(term))
        if len(terms) == 1:
            return terms[0]
        return f"sum({','.join(sorted(terms))})"

    def _chain(self, node: ast.Node) -> str:
        scalars: list[str] = []
        arrays: list[str] = []
        for factor, inverted in self._factors(node, False):
            if inverted and not self.scalar(factor):
                raise NoForm("a division by an array")
            shown = self.of(factor)
            if self.scalar(factor):
                scalars.append(f"inv({shown})" if inverted else shown)
            else:
                arrays.append(shown)
        if not scalars and len(arrays) == 1:
            return arrays[0]
        return f"prod({','.join(sorted(scalars))};{','.join(arrays)})"

    def _scaling(self, node: ast.BinOp) -> bool:
        """An element-wise product with a scalar: a scalar multiple, as a matrix product."""
        return self.scalar(node.left) or self.scalar(node.right)

    def _factors(self, node: ast.Node, inverted: bool) -> list[tuple[ast.Node, bool]]:
        """The factors of a product chain, in order (a divisor marked inverted; a sign is the
        factor -1)."""
        match node:
            case ast.BinOp(op=op, left=left, right=right) if op in _MATRIX_PRODUCTS or (
                op in _ELEMENTWISE and self._scaling(node)
            ):
                return [*self._factors(left, inverted), *self._factors(right, inverted)]
            case ast.BinOp(op="/", left=left, right=right):
                return [*self._factors(left, inverted), *self._factors(right, not inverted)]
            case ast.Neg(operand=operand):
                return [(ast.Num(node.pos, Fraction(-1)), False), *self._factors(operand, inverted)]
            case ast.Num(value=v) if v == 1:
                return []
        return [(node, inverted)]

    def scalar(self, node: ast.Node) -> bool:
        match node:
            case ast.Num() | ast.Const():
                return True
            case ast.Sym(name=name):
                return name in self.scalars
            case ast.Neg(operand=operand) | ast.Transpose(operand=operand):
                return self.scalar(operand)
            case ast.BinOp(left=left, right=right):
                return self.scalar(left) and self.scalar(right)
            case ast.Call(name=name, args=args):
                resolved = _resolved(name, self.functions)
                if resolved in _SCALAR_OF_ARRAY and len(args) == 1:
                    return True
                return resolved in _ELEMENTWISE_CALLS and all(self.scalar(a) for a in args)
        return False


def _resolved(name: str, functions: Mapping[str, FunctionDef]) -> str:
    fdef = functions.get(name)
    if fdef is not None and fdef.alias is None:
        return f"declared {name}"
    name = fdef.alias if fdef is not None and fdef.alias else name
    return ALIASES.get(name, name)


def _flatten(node: ast.Node, ops: frozenset[str]) -> list[ast.Node]:
    if isinstance(node, ast.BinOp) and node.op in ops:
        return [*_flatten(node.left, ops), *_flatten(node.right, ops)]
    return [node]


def _terms(node: ast.Node, negative: bool) -> list[tuple[ast.Node, bool]]:
    match node:
        case ast.BinOp(op="+", left=left, right=right):
            return [*_terms(left, negative), *_terms(right, negative)]
        case ast.BinOp(op="-", left=left, right=right):
            return [*_terms(left, negative), *_terms(right, not negative)]
        case ast.Neg(operand=operand):
            return _terms(operand, not negative)
    return [(node, negative)]
