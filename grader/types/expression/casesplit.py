"""Formulas with kinks and cases proved equal region by region (a case split).

``x H(x)``, ``\\max\\{0, x\\}``, ``\\frac{x + |x|}{2}`` and ``\\begin{cases} x & x > 0 \\\\ 0 &
\\text{otherwise} \\end{cases}`` are one function, which no rational-function reading sees:
each has a *switch* (``abs``, ``relu``, ``max``, ``min``, ``heaviside``, ``sign``,
``leaky_relu``, a case's condition) whose argument is affine in the symbols. The sign of
every such argument is fixed on each region the arguments' zero sets cut the space into;
on a region every switch is one branch, and the two formulas, their switches resolved, are
compared as rational functions (:mod:`identity`): the same function there is a proof.

- One symbol: the regions are the open intervals between the kinks (a sign read at a
  point inside each) and the kinks themselves, where both formulas are evaluated exactly.
- Several symbols: every sign vector (positive, negative, zero) of the distinct arguments;
  where an argument is zero, one symbol is solved for and put in. A sign vector no point
  has (an empty region) can only fail to prove, never prove wrongly.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from grader.mathlang import ast
from grader.mathlang.names import ALIASES
from grader.mathlang.values import FunctionDef
from grader.types.expression import identity
from grader.types.expression.outcome import Sides
from grader.types.expression.prepare import Prepared

MAX_KINKS_ONE = 8  # distinct kink arguments, one symbol
MAX_KINKS_SEVERAL = 3  # and several (3^k sign vectors)
# Built-ins that switch at 0 of their first argument; max and min at a - b.
SWITCHES = frozenset({"abs", "relu", "heaviside", "sign", "leaky_relu", "max", "min"})
_RELATIONS = frozenset({"<", "<=", ">", ">=", "=", "!="})


class NotSplit(Exception):
    """The formulas are not covered (a kink argument that is not affine, too many kinks)."""


@dataclass(frozen=True)
class Kink:
    """An affine argument ``sum coefficients[x] x + constant``, scaled so that its first
    nonzero coefficient is 1 (``key`` names it; ``scale`` is what the written one was
    multiplied by, negative when its sign flipped)."""

    coefficients: tuple[tuple[str, Fraction], ...]
    constant: Fraction

    def at(self, point: Mapping[str, Fraction]) -> Fraction:
        return self.constant + sum((c * point[name] for name, c in self.coefficients), Fraction(0))


def prove(prep: Prepared, sides: Sides) -> str | None:
    """Why the two scalar formulas are equal within the part's tolerance wherever the
    reference has a value, case by case; None where this cannot show it."""
    if prep.is_matrix or sides.overrides or sides.ref_is_student or prep.part.constants:
        return None
    try:
        return _prove(prep, sides)
    except (NotSplit, ZeroDivisionError, RecursionError):
        return None


def _prove(prep: Prepared, sides: Sides) -> str | None:
    lets = dict(prep.lets)
    ref, ans = _inlined(sides.ref, lets, prep.functions), _inlined(sides.ans, lets, prep.functions)
    kinks: dict[tuple[Any, ...], Kink] = {}
    for node in (ref, ans):
        for argument in _switch_arguments(node, prep.functions):
            kink, _ = _affine(argument, prep)
            if kink.coefficients:
                kinks[(kink.coefficients, kink.constant)] = kink
    if not kinks:
        return None
    names = sorted({name for kink in kinks.values() for name, _ in kink.coefficients})
    if any(prep.scalars.get(name) is None or prep.scalars[name].integer for name in names):
        return None
    if len(names) == 1:
        return _one_symbol(prep, ref, ans, list(kinks.values()), names[0])
    return _several(prep, ref, ans, list(kinks.values()))


def _inlined(
    node: ast.Node, lets: Mapping[str, ast.Node], functions: Mapping[str, FunctionDef], depth: int = 0
) -> ast.Node:
    """The formula with the part's ``let`` names and one-parameter functions written out
    (so that their switches are seen)."""
    if depth > 20:
        raise NotSplit("lets nest too deeply")
    if lets:
        written = {name: _inlined(body, lets, functions, depth + 1) for name, body in lets.items()}
        node = _replace(node, written)
    return _calls_inlined(node, functions, depth)


def _calls_inlined(node: ast.Node, functions: Mapping[str, FunctionDef], depth: int) -> ast.Node:
    if depth > 20:
        raise NotSplit("functions nest too deeply")
    match node:
        case ast.Call(name=name, args=args):
            args = tuple(_calls_inlined(arg, functions, depth) for arg in args)
            fdef = functions.get(name)
            if fdef is not None and fdef.alias is None:
                if fdef.body is None or fdef.param is None or len(args) != 1:
                    raise NotSplit(f"{name} is not written out")
                body = _replace(fdef.body, {fdef.param: args[0]})
                return _calls_inlined(body, functions, depth + 1)
            return ast.Call(node.pos, name, args)
        case ast.Num() | ast.Sym() | ast.Const():
            return node
    children = ast.children(node)
    if not children:
        return node
    return _rebuilt(node, [_calls_inlined(child, functions, depth) for child in children])


def _rebuilt(node: ast.Node, children: list[ast.Node]) -> ast.Node:
    match node:
        case ast.BinOp(op=op):
            return ast.BinOp(node.pos, op, children[0], children[1])
        case ast.Neg():
            return ast.Neg(node.pos, children[0])
        case ast.Relation(op=op):
            return ast.Relation(node.pos, op, children[0], children[1])
        case ast.Logic(op=op):
            return ast.Logic(node.pos, op, tuple(children))
        case ast.Piecewise(cases=cases):
            pairs = [(children[2 * i], children[2 * i + 1]) for i in range(len(cases))]
            return ast.Piecewise(node.pos, tuple(pairs))
    raise NotSplit(f"{type(node).__name__} is not written out")


def _switch_arguments(node: ast.Node, functions: Mapping[str, FunctionDef]) -> list[ast.Node]:
    found: list[ast.Node] = []
    for sub in ast.walk(node):
        if isinstance(sub, ast.Call):
            name = _builtin(sub.name, functions)
            if name in ("max", "min"):
                if len(sub.args) != 2:
                    raise NotSplit("max of more than two")
                found.append(ast.BinOp(sub.pos, "-", sub.args[0], sub.args[1]))
            elif name in SWITCHES and sub.args:
                found.append(sub.args[0])
        elif isinstance(sub, ast.Relation) and sub.op in _RELATIONS:
            found.append(ast.BinOp(sub.pos, "-", sub.left, sub.right))
    return found


def _builtin(name: str, functions: Mapping[str, FunctionDef]) -> str:
    fdef = functions.get(name)
    if fdef is not None and fdef.alias is None:
        return f"declared {name}"
    name = fdef.alias if fdef is not None and fdef.alias else name
    return ALIASES.get(name, name)


def _affine(node: ast.Node, prep: Prepared) -> tuple[Kink, int]:
    """The argument as an affine form in the symbols (rational coefficients), its first
    coefficient made 1, and the sign that took; NotSplit when it is not affine."""
    reading = identity.read_both(node, node, prep.functions, {})
    if reading is None:
        raise NotSplit("a kink argument that is not rational")
    value = reading.ref
    if value.den.total_degree() > 0 or value.num.total_degree() > 1:
        raise NotSplit("a kink argument that is not affine")
    if any(not key.startswith("sym ") for key in reading.reader.atoms):
        raise NotSplit("a kink argument with a term that is not a symbol")
    names = {index: key.removeprefix("sym ") for key, index in reading.reader.atoms.items()}
    den = Fraction(str(value.den.leading_coefficient()))
    coefficients: dict[str, Fraction] = {}
    constant = Fraction(0)
    for exponents, coefficient in value.num.to_dict().items():
        c = Fraction(str(coefficient)) / den
        powered = [i for i, e in enumerate(exponents) if e]
        if not powered:
            constant += c
        else:
            coefficients[names[powered[0]]] = coefficients.get(names[powered[0]], Fraction(0)) + c
    items = sorted((name, c) for name, c in coefficients.items() if c)
    if not items:
        return Kink((), constant), 1
    lead = items[0][1]
    return Kink(tuple((name, c / lead) for name, c in items), constant / lead), (1 if lead > 0 else -1)


# ---- resolving the switches on a region -----------------------------------------------


def _resolved(node: ast.Node, signs: Mapping[tuple[Any, ...], int], prep: Prepared) -> ast.Node:
    """The formula with every switch replaced by its branch where each kink argument has
    the sign ``signs`` gives (a relation by its truth value)."""
    match node:
        case ast.Call(name=name, args=args):
            args = tuple(_resolved(arg, signs, prep) for arg in args)
            builtin = _builtin(name, prep.functions)
            if builtin in SWITCHES and args:
                return _branch(builtin, node, args, signs, prep)
            return ast.Call(node.pos, name, args)
        case ast.Piecewise(cases=cases):
            for value, condition in cases:
                truth = _truth(condition, signs, prep)
                if truth:
                    return _resolved(value, signs, prep)
            raise NotSplit("a case that no row covers on a region")
        case ast.BinOp(op=op, left=left, right=right):
            return ast.BinOp(node.pos, op, _resolved(left, signs, prep), _resolved(right, signs, prep))
        case ast.Neg(operand=operand):
            return ast.Neg(node.pos, _resolved(operand, signs, prep))
        case ast.Num() | ast.Sym() | ast.Const():
            return node
    raise NotSplit(f"{type(node).__name__} is not resolved")


def _sign_of(argument: ast.Node, signs: Mapping[tuple[Any, ...], int], prep: Prepared) -> int:
    kink, lead = _affine(argument, prep)
    if not kink.coefficients:
        return _sign(kink.constant)
    return signs[(kink.coefficients, kink.constant)] * lead


def _branch(
    name: str,
    node: ast.Node,
    args: tuple[ast.Node, ...],
    signs: Mapping[tuple[Any, ...], int],
    prep: Prepared,
) -> ast.Node:
    pos = node.pos
    if name in ("max", "min"):
        sign = _sign_of(ast.BinOp(pos, "-", args[0], args[1]), signs, prep)
        first = sign >= 0 if name == "max" else sign <= 0
        return args[0] if first else args[1]
    sign = _sign_of(args[0], signs, prep)
    u = args[0]
    zero = ast.Num(pos, Fraction(0))
    if name == "abs":
        return u if sign >= 0 else ast.Neg(pos, u)
    if name == "relu":
        return u if sign > 0 else zero
    if name == "sign":
        return ast.Num(pos, Fraction(sign))
    if name == "heaviside":
        if sign == 0:
            return args[1] if len(args) > 1 else ast.Num(pos, Fraction(1, 2))
        return ast.Num(pos, Fraction(1 if sign > 0 else 0))
    if name == "leaky_relu":
        slope = args[1] if len(args) > 1 else ast.Num(pos, Fraction(1, 100))
        return u if sign >= 0 else ast.BinOp(pos, "star", slope, u)
    raise NotSplit(name)


def _truth(condition: ast.Node, signs: Mapping[tuple[Any, ...], int], prep: Prepared) -> bool:
    match condition:
        case ast.Const(name="true"):
            return True
        case ast.Relation(op=op, left=left, right=right) if op in _RELATIONS:
            sign = _sign_of(ast.BinOp(condition.pos, "-", left, right), signs, prep)
            return {
                "<": sign < 0,
                "<=": sign <= 0,
                ">": sign > 0,
                ">=": sign >= 0,
                "=": sign == 0,
                "!=": sign != 0,
            }[op]
        case ast.Logic(op="and", operands=operands):
            return all(_truth(o, signs, prep) for o in operands)
        case ast.Logic(op="or", operands=operands):
            return any(_truth(o, signs, prep) for o in operands)
        case ast.Logic(op="not", operands=(operand,)):
            return not _truth(operand, signs, prep)
    raise NotSplit("a condition that is not a comparison")


def _replace(node: ast.Node, values: Mapping[str, ast.Node]) -> ast.Node:
    """The formula with symbols replaced by formulas."""
    match node:
        case ast.Sym(name=name) if name in values:
            return values[name]
        case ast.Num() | ast.Sym() | ast.Const():
            return node
        case ast.Call(name=name, args=args):
            return ast.Call(node.pos, name, tuple(_replace(a, values) for a in args))
        case ast.BinOp(op=op, left=left, right=right):
            return ast.BinOp(node.pos, op, _replace(left, values), _replace(right, values))
        case ast.Neg(operand=operand):
            return ast.Neg(node.pos, _replace(operand, values))
        case ast.Relation(op=op, left=left, right=right):
            return ast.Relation(node.pos, op, _replace(left, values), _replace(right, values))
        case ast.Logic(op=op, operands=operands):
            return ast.Logic(node.pos, op, tuple(_replace(o, values) for o in operands))
        case ast.Piecewise(cases=cases):
            return ast.Piecewise(
                node.pos, tuple((_replace(v, values), _replace(c, values)) for v, c in cases)
            )
    raise NotSplit(f"{type(node).__name__} is not replaced")


def _same(prep: Prepared, ref: ast.Node, ans: ast.Node) -> bool:
    reading = identity.read_both(ref, ans, prep.functions, {})
    if reading is None:
        return False
    return identity.within_tolerance(reading, prep.part.rtol, prep.part.atol) is not None


# ---- one symbol: intervals between the kinks, and the kinks ---------------------------


def _one_symbol(prep: Prepared, ref: ast.Node, ans: ast.Node, kinks: list[Kink], name: str) -> str | None:
    if len(kinks) > MAX_KINKS_ONE:
        return None
    points = sorted({-kink.constant for kink in kinks})  # each kink is x + c
    lo, hi = _domain_ends(prep, name)
    ends = [None, *points, None]
    for left, right in itertools.pairwise(ends):  # the open intervals between the kinks
        if (hi is not None and left is not None and left >= hi) or (
            lo is not None and right is not None and right <= lo
        ):
            continue  # outside the symbol's domain
        inside = _inside(left, right)
        signs = {(k.coefficients, k.constant): _sign(k.at({name: inside})) for k in kinks}
        if not _same(prep, _resolved(ref, signs, prep), _resolved(ans, signs, prep)):
            return None
    for point in points:
        if (
            (lo is None or point >= lo)
            and (hi is None or point <= hi)
            and not _equal_at(prep, ref, ans, name, point)
        ):
            return None
    return (
        f"proved: case by case, the same function on each of the {len(points) + 1} intervals between "
        f"the kinks at {name} = {', '.join(_show(p) for p in points)}, and equal at each kink exactly"
    )


def _inside(left: Fraction | None, right: Fraction | None) -> Fraction:
    if left is None and right is None:
        return Fraction(0)
    if left is None:
        assert right is not None
        return right - 1
    if right is None:
        return left + 1
    return (left + right) / 2


def _domain_ends(prep: Prepared, name: str) -> tuple[Fraction | None, Fraction | None]:
    from grader.mathlang.sampling import bounds

    domain = prep.scalars[name]
    lo, hi = bounds(domain)
    low = None if lo is None else Fraction(lo)
    if domain.positive or domain.nonnegative:
        low = max(low, Fraction(0)) if low is not None else Fraction(0)
    return low, None if hi is None else Fraction(hi)


def _sign(value: Fraction) -> int:
    return (value > 0) - (value < 0)


def _equal_at(prep: Prepared, ref: ast.Node, ans: ast.Node, name: str, point: Fraction) -> bool:
    """Both formulas at a kink, evaluated exactly (where the reference has no value, the
    answer may have any); False where that is not shown."""
    from grader.mathlang.errors import MathError, NotExactError
    from grader.mathlang.evaluate import evaluate_exact

    try:
        r = evaluate_exact(ref, {name: point}, functions=prep.functions)
    except NotExactError:
        return False
    except MathError:
        return True  # no value there: nothing to match
    try:
        a = evaluate_exact(ans, {name: point}, functions=prep.functions)
    except MathError:
        return False
    if not isinstance(r, Fraction | int) or not isinstance(a, Fraction | int):
        return False
    allowed = Fraction(prep.part.atol) + Fraction(prep.part.rtol) * abs(Fraction(r))
    return abs(Fraction(a) - Fraction(r)) <= allowed


def _show(value: Fraction) -> str:
    return str(value.numerator) if value.denominator == 1 else f"{value.numerator}/{value.denominator}"


# ---- several symbols: every sign vector -------------------------------------------------


def _several(prep: Prepared, ref: ast.Node, ans: ast.Node, kinks: list[Kink]) -> str | None:
    if len(kinks) > MAX_KINKS_SEVERAL:
        return None
    names = sorted({name for kink in kinks for name, _ in kink.coefficients})
    if any(_bounded(prep, name) for name in names):
        return None  # the sign vectors are of the whole space: a domain's bounds are not used
    for signs_list in itertools.product((1, -1, 0), repeat=len(kinks)):
        signs = {(k.coefficients, k.constant): s for k, s in zip(kinks, signs_list, strict=True)}
        try:
            a, b = _resolved(ref, signs, prep), _resolved(ans, signs, prep)
        except NotSplit:
            return None
        zeros = [k for k, s in zip(kinks, signs_list, strict=True) if s == 0]
        solved = _solve(zeros)
        if solved is None:
            continue  # the zero sets do not meet: no point has this sign vector
        if solved:
            a, b = _replace(a, solved), _replace(b, solved)
        if not _same(prep, a, b):
            return None
    return f"proved: case by case, the same function on every sign of the {len(kinks)} kink arguments"


def _bounded(prep: Prepared, name: str) -> bool:
    from grader.mathlang.sampling import bounds

    domain = prep.scalars[name]
    lo, hi = bounds(domain)
    return lo is not None or hi is not None or domain.positive or domain.nonnegative or domain.nonzero


def _solve(zeros: list[Kink]) -> dict[str, ast.Node] | None:
    """Symbols solved for so that every kink in ``zeros`` is 0 (Gaussian elimination,
    exactly); None when they cannot all be 0."""
    rows = [(dict(k.coefficients), k.constant) for k in zeros]
    solved: dict[str, tuple[dict[str, Fraction], Fraction]] = {}
    for coefficients, constant in rows:
        for name, (expr, c0) in solved.items():  # put in what is solved already
            if name in coefficients:
                factor = coefficients.pop(name)
                for other, c in expr.items():
                    coefficients[other] = coefficients.get(other, Fraction(0)) + factor * c
                constant += factor * c0
        coefficients = {n: c for n, c in coefficients.items() if c}
        if not coefficients:
            if constant != 0:
                return None
            continue
        pivot = sorted(coefficients)[0]
        p = coefficients.pop(pivot)
        expr = {n: -c / p for n, c in coefficients.items()}
        for name, (other_expr, c0) in list(solved.items()):
            if pivot in other_expr:
                factor = other_expr.pop(pivot)
                for n, c in expr.items():
                    other_expr[n] = other_expr.get(n, Fraction(0)) + factor * c
                solved[name] = (other_expr, c0 + factor * (-constant / p))
        solved[pivot] = (expr, -constant / p)
    return {name: _affine_node(expr, c0) for name, (expr, c0) in solved.items()}


def _affine_node(coefficients: Mapping[str, Fraction], constant: Fraction) -> ast.Node:
    node: ast.Node = ast.Num(0, constant)
    for name, c in sorted(coefficients.items()):
        node = ast.BinOp(0, "+", node, ast.BinOp(0, "star", ast.Num(0, c), ast.Sym(0, name)))
    return node
