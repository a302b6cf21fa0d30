"""Scalar formulas as sympy expressions, built node by node from an allow-list.

Nothing is parsed or evaluated from text here: every sympy object comes from a
fixed constructor (``Symbol``, ``Rational``, ``Add``, ``Mul``, ``Pow``, ``exp``,
``log``, ``Max``, ``Heaviside``, ``Piecewise``...). Arrays and anything outside
the allow-list raise :class:`Unsupported`; callers then rely on numerics.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import sympy

from grader.mathlang import ast
from grader.mathlang.domains import SymbolDomain
from grader.mathlang.names import ALIASES
from grader.mathlang.values import FunctionDef

MAX_EXPONENT = 64  # |k| of integer powers handed to sympy
MAX_NODES = 400


class Unsupported(Exception):
    """The formula uses something this translation does not cover (arrays, matrices...)."""


def symbol_for(name: str, domain: SymbolDomain | None = None) -> sympy.Symbol:
    """A sympy Symbol with the assumptions of a spec domain."""
    assumptions: dict[str, bool] = {"real": True}
    if domain is not None:
        if domain.integer:
            assumptions["integer"] = True
        if domain.positive or (domain.min is not None and domain.min > 0):
            assumptions["positive"] = True
        elif domain.nonnegative or (domain.min is not None and domain.min >= 0):
            assumptions["nonnegative"] = True
        if domain.nonzero:
            assumptions["nonzero"] = True
        if domain.interval is not None and domain.interval[0] >= 0:
            assumptions["positive"] = True
    return sympy.Symbol(name, **assumptions)


def to_sympy(
    node: ast.Node,
    *,
    domains: Mapping[str, SymbolDomain] | None = None,
    functions: Mapping[str, FunctionDef] | None = None,
    lets: Mapping[str, ast.Node] | None = None,
) -> Any:
    """The sympy expression of a scalar formula (a Relation gives ``Eq``/``Lt``...)."""
    if sum(1 for _ in ast.walk(node)) > MAX_NODES:
        raise Unsupported("formula too large for symbolic checking")
    conv = _Converter(dict(domains or {}), dict(functions or {}), dict(lets or {}))
    return conv.go(node, {})


class _Converter:
    def __init__(
        self,
        domains: dict[str, SymbolDomain],
        functions: dict[str, FunctionDef],
        lets: dict[str, ast.Node],
    ):
        self.domains = domains
        self.functions = functions
        self.lets = lets
        self.depth = 0

    def go(self, node: ast.Node, scope: dict[str, Any]) -> Any:
        translate = _TRANSLATIONS.get(type(node))
        if translate is None:
            raise Unsupported(f"{type(node).__name__} is not supported symbolically")
        return translate(self, node, scope)

    def number(self, node: ast.Num, scope: dict[str, Any]) -> Any:
        return sympy.Rational(node.value.numerator, node.value.denominator)

    def constant(self, node: ast.Const, scope: dict[str, Any]) -> Any:
        value = _CONSTANTS.get(node.name)
        if value is None:
            raise Unsupported(f"the constant {node.name} is not supported symbolically")
        return value

    def binop(self, node: ast.BinOp, scope: dict[str, Any]) -> Any:
        op, a, b = node.op, self.go(node.left, scope), self.go(node.right, scope)
        if op == "+":
            return sympy.Add(a, b)
        if op == "-":
            return sympy.Add(a, sympy.Mul(sympy.Integer(-1), b))
        if op == "/":
            return sympy.Mul(a, sympy.Pow(b, sympy.Integer(-1)))
        if op == "^":
            return self.power(a, b)
        if op in ast.PRODUCT_KINDS and op != "otimes":
            return sympy.Mul(a, b)
        raise Unsupported(f"the operation {op} is not supported symbolically")

    def logic(self, node: ast.Logic, scope: dict[str, Any]) -> Any:
        operands = [self.go(o, scope) for o in node.operands]
        if node.op == "not":
            return sympy.Not(operands[0])
        return (sympy.And if node.op == "and" else sympy.Or)(*operands)

    def piecewise(self, node: ast.Piecewise, scope: dict[str, Any]) -> Any:
        return sympy.Piecewise(*[(self.go(v, scope), self.go(c, scope)) for v, c in node.cases])

    def symbol(self, name: str, scope: dict[str, Any]) -> Any:
        if name in scope:
            return scope[name]
        if name in self.lets:
            value = self.go(self.lets[name], {})
            scope[name] = value
            return value
        return symbol_for(name, self.domains.get(name))

    def power(self, base: Any, exponent: Any) -> Any:
        if (
            exponent.is_Integer
            and abs(int(exponent)) > MAX_EXPONENT
            and not _small_number_power(base, exponent)
        ):
            raise Unsupported("exponent too large for symbolic checking")
        return sympy.Pow(base, exponent)

    def call(self, name: str, args: tuple[ast.Node, ...], scope: dict[str, Any]) -> Any:
        fdef = self.functions.get(name)
        if fdef is not None and fdef.alias is None:
            if len(args) != 1 or fdef.body is None or fdef.param is None:
                raise Unsupported(f"{name}: wrong number of arguments")
            self.depth += 1
            if self.depth > 16:
                raise Unsupported("functions nest too deeply")
            inner = dict(scope)
            inner[fdef.param] = self.go(args[0], scope)
            try:
                return self.go(fdef.body, inner)
            finally:
                self.depth -= 1
        real = fdef.alias if fdef is not None and fdef.alias else ALIASES.get(name, name)
        builder = _FUNCTIONS.get(real)
        if builder is None:
            raise Unsupported(f"{name} is not supported symbolically")
        values = [self.go(a, scope) for a in args]
        return builder(values)


_CONSTANTS: dict[str, Any] = {
    "pi": sympy.pi,
    "e": sympy.E,
    "inf": sympy.oo,
    "true": sympy.true,
    "otherwise": sympy.true,
}

_TRANSLATIONS: dict[type, Callable[[_Converter, Any, dict[str, Any]], Any]] = {
    ast.Num: _Converter.number,
    ast.Sym: lambda conv, node, scope: conv.symbol(node.name, scope),
    ast.Const: _Converter.constant,
    ast.Neg: lambda conv, node, scope: sympy.Mul(sympy.Integer(-1), conv.go(node.operand, scope)),
    ast.BinOp: _Converter.binop,
    ast.Transpose: lambda conv, node, scope: conv.go(node.operand, scope),  # scalars only
    ast.Call: lambda conv, node, scope: conv.call(node.name, node.args, scope),
    ast.Relation: lambda conv, node, scope: _RELATIONS[node.op](
        conv.go(node.left, scope), conv.go(node.right, scope)
    ),
    ast.Logic: _Converter.logic,
    ast.Piecewise: _Converter.piecewise,
}


def _one(fn: Callable[[Any], Any]) -> Callable[[list[Any]], Any]:
    def build(args: list[Any]) -> Any:
        if len(args) != 1:
            raise Unsupported("wrong number of arguments")
        return fn(args[0])

    return build


def _heaviside(args: list[Any]) -> Any:
    if len(args) == 1:
        return sympy.Heaviside(args[0], sympy.Rational(1, 2))
    return sympy.Heaviside(args[0], args[1])


def _leaky(args: list[Any]) -> Any:
    alpha = args[1] if len(args) > 1 else sympy.Rational(1, 100)
    return sympy.Piecewise((args[0], sympy.Gt(args[0], 0)), (alpha * args[0], True))


def _log(args: list[Any]) -> Any:
    if len(args) == 2:
        return sympy.log(args[0]) / sympy.log(args[1])
    return sympy.log(args[0])


def _root(args: list[Any]) -> Any:
    if len(args) != 2:
        raise Unsupported("root takes 2 arguments")
    k = args[1]
    if k.is_Integer and int(k) % 2 == 1:
        return sympy.real_root(args[0], k)
    return sympy.root(args[0], k)


def _max(args: list[Any]) -> Any:
    if len(args) < 2:
        raise Unsupported("max of one argument")
    return sympy.Max(*args)


def _min(args: list[Any]) -> Any:
    if len(args) < 2:
        raise Unsupported("min of one argument")
    return sympy.Min(*args)


def _mod(args: list[Any]) -> Any:
    return sympy.Mod(args[0], args[1])


_FUNCTIONS: dict[str, Callable[[list[Any]], Any]] = {
    "exp": _one(sympy.exp),
    "log": _log,
    "sqrt": _one(sympy.sqrt),
    "root": _root,
    "abs": _one(sympy.Abs),
    "max": _max,
    "min": _min,
    "floor": _one(sympy.floor),
    "ceil": _one(sympy.ceiling),
    "sin": _one(sympy.sin),
    "cos": _one(sympy.cos),
    "tan": _one(sympy.tan),
    "sec": _one(sympy.sec),
    "csc": _one(sympy.csc),
    "cot": _one(sympy.cot),
    "asin": _one(sympy.asin),
    "acos": _one(sympy.acos),
    "atan": _one(sympy.atan),
    "sinh": _one(sympy.sinh),
    "cosh": _one(sympy.cosh),
    "tanh": _one(sympy.tanh),
    "sech": _one(sympy.sech),
    "csch": _one(sympy.csch),
    "coth": _one(sympy.coth),
    "asinh": _one(sympy.asinh),
    "acosh": _one(sympy.acosh),
    "atanh": _one(sympy.atanh),
    "sigmoid": _one(lambda v: 1 / (1 + sympy.exp(-v))),
    "relu": _one(lambda v: sympy.Max(0, v)),
    "softplus": _one(lambda v: sympy.log(1 + sympy.exp(v))),
    "sign": _one(sympy.sign),
    "heaviside": _heaviside,
    "leaky_relu": _leaky,
    "mod": _mod,
    "identity": _one(lambda v: v),
}

_RELATIONS: dict[str, Callable[[Any, Any], Any]] = {
    "=": sympy.Eq,
    "!=": sympy.Ne,
    "<": sympy.Lt,
    "<=": sympy.Le,
    ">": sympy.Gt,
    ">=": sympy.Ge,
}


MAX_NUMBER_POWER_BITS = 1 << 14


def _small_number_power(base: Any, exponent: Any) -> bool:
    """A rational number to an integer power whose exact value stays small (2^70)."""
    if not base.is_Rational:
        return False
    bits = max(abs(int(base.p)).bit_length(), int(base.q).bit_length())
    return bits * abs(int(exponent)) <= MAX_NUMBER_POWER_BITS
