"""Taylor enclosures of scalar formulas in one variable (python-flint's ``arb_series``).

Plain ball arithmetic loses to dependency: ``log(1 + x) - log(1 + x)`` over a box of
width ``w`` is a ball of width about ``2w``, so proving a difference below 1e-9 that way
would take 1e9 boxes. A Taylor enclosure of order ``K`` on the box ``c +/- r``,

    f(x) in  sum_{j<K} f_j(c) t^j  +  f_K(box) t^K,   |t| <= r,

takes the coefficients ``f_j(c)`` at the centre (tight balls: the cancellation happens
there) and only the last, the Lagrange remainder's, over the whole box; its width shrinks
like ``r^(K+1)``. Both come from evaluating the formula on a truncated power series.

Only smooth pieces are covered: where the box reaches a point a function is not
analytic at (``log`` of a series whose value reaches 0, ``|u|`` with ``u`` taking both
signs), the enclosure is ``nan`` and the caller splits the box; functions without
series here raise :class:`NotBallError`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from fractions import Fraction

from flint import arb, arb_series, ctx

from grader.mathlang import ast
from grader.mathlang.balls import MAX_INTEGER_POWER, NotBallError, _rational, ball
from grader.mathlang.names import SPELLINGS
from grader.mathlang.values import FunctionDef

ORDER = 8  # Taylor coefficients at the centre; the remainder is the next one
MAX_DEPTH = 16


def enclosure(
    node: ast.Node,
    name: str,
    low: float,
    high: float,
    values: Mapping[str, arb],
    functions: Mapping[str, FunctionDef],
    lets: Mapping[str, ast.Node],
) -> arb:
    """A ball holding the formula's value at every ``name`` in ``[low, high]`` (nan: none found)."""
    centre = ball(low / 2 + high / 2)
    radius = arb(0, max(centre.mid() - ball(low), ball(high) - centre.mid()).upper())
    saved = ctx.cap
    ctx.cap = ORDER + 1  # series functions truncate at the context's cap: never below the remainder's term
    try:
        at_centre = arb_series([centre, 1], prec=ORDER)
        on_box = arb_series([ball(low).union(ball(high)), 1], prec=ORDER + 1)
        point = _Walk(ORDER, values, functions, lets, {name: at_centre}).value(node, 0)
        box = _Walk(ORDER + 1, values, functions, lets, {name: on_box}).value(node, 0)
    finally:
        ctx.cap = saved
    if point.prec < ORDER or box.prec < ORDER + 1:  # a series cut short has no remainder term
        raise NotBallError("a Taylor series shorter than its order")
    coefficients = [*_coefficients(point, ORDER), _coefficients(box, ORDER + 1)[ORDER]]
    total = arb(0)
    for coefficient in reversed(coefficients):
        total = total * radius + coefficient
    return total if total.is_finite() else arb.nan()


def _coefficients(series: arb_series, count: int) -> list[arb]:
    found = list(series.coeffs())
    return found + [arb(0)] * (count - len(found))


def _value0(series: arb_series) -> arb:
    found = series.coeffs()
    return found[0] if found else arb(0)


Series = arb_series  # a truncated power series of balls


class _Walk:
    def __init__(
        self,
        length: int,
        values: Mapping[str, arb],
        functions: Mapping[str, FunctionDef],
        lets: Mapping[str, ast.Node],
        bound: Mapping[str, Series],
    ):
        self.length = length  # of every series
        self.values = values
        self.functions = functions
        self.lets = lets
        self.bound = dict(bound)
        self.let_values: dict[str, Series] = {}

    def constant(self, value: arb) -> Series:
        return arb_series([value], prec=self.length)

    def value(self, node: ast.Node, depth: int) -> Series:
        match node:
            case ast.Num(value=v):
                return self.constant(ball(v))
            case ast.Const(name="pi"):
                return self.constant(arb.pi())
            case ast.Const(name="e"):
                return self.constant(arb.const_e())
            case ast.Sym(name=name):
                return self._symbol(name, depth)
            case ast.Neg(operand=operand):
                return -self.value(operand, depth)
            case ast.BinOp(op=op, left=left, right=right):
                return self._binop(op, left, right, depth)
            case ast.Call(name=name, args=args) if len(args) == 1:
                return self._call(name, args[0], depth)
        raise NotBallError(f"{type(node).__name__} has no Taylor series here")

    def _symbol(self, name: str, depth: int) -> Series:
        if name in self.bound:
            return self.bound[name]
        if name in self.values:
            return self.constant(self.values[name])
        if name in self.lets:
            if name not in self.let_values:
                self.let_values[name] = self.value(self.lets[name], depth)
            return self.let_values[name]
        raise NotBallError(f"no value for {name}")

    def _binop(self, op: str, left: ast.Node, right: ast.Node, depth: int) -> Series:
        if op == "^":
            return self._power(left, right, depth)
        a, b = self.value(left, depth), self.value(right, depth)
        if op == "+":
            return a + b
        if op == "-":
            return a - b
        if op == "/":
            return a / b if not _value0(b).contains(0) else _nan(a)
        if op in ast.PRODUCT_KINDS:
            return a * b
        raise NotBallError(f"operator {op}")

    def _power(self, base_node: ast.Node, exponent_node: ast.Node, depth: int) -> Series:
        exponent = _rational(exponent_node)
        base = self.value(base_node, depth)
        if exponent is not None and exponent.denominator == 1:
            k = exponent.numerator
            if abs(k) > MAX_INTEGER_POWER:
                raise NotBallError("too large a power")
            if k < 0 and _value0(base).contains(0):
                return _nan(base)
            power = base ** abs(k) if k else self.constant(arb(1))
            return 1 / power if k < 0 else power
        if not _value0(base) > 0:  # a real power of a base that may reach 0: not smooth there
            return _nan(base)
        power = self.constant(ball(exponent)) if exponent is not None else self.value(exponent_node, depth)
        return (power * base.log()).exp()

    def _call(self, name: str, arg: ast.Node, depth: int) -> Series:
        fdef = self.functions.get(name)
        value = self.value(arg, depth)
        if fdef is not None and fdef.alias is None:
            if depth >= MAX_DEPTH or fdef.body is None or fdef.param is None:
                raise NotBallError(f"{name} has no Taylor series here")
            inner = _Walk(
                self.length, self.values, self.functions, self.lets, {**self.bound, fdef.param: value}
            )
            return inner.value(fdef.body, depth + 1)
        builtin = fdef.alias if fdef is not None and fdef.alias else name
        function = SMOOTH.get(SPELLINGS.get(builtin, builtin))
        if function is None:
            raise NotBallError(f"{builtin} has no Taylor series here")
        return function(value)


def _nan(like: Series) -> Series:
    return like * arb.nan()


def _where(defined: Callable[[arb], bool], fn: Callable[[Series], Series]) -> Callable[[Series], Series]:
    return lambda s: fn(s) if defined(_value0(s)) else _nan(s)


def _signed(
    above: Callable[[Series], Series], below: Callable[[Series], Series]
) -> Callable[[Series], Series]:
    """A function smooth on each side of 0 (``|u|``, ``relu``): the side the value is on."""

    def apply(s: Series) -> Series:
        v = _value0(s)
        if v > 0:
            return above(s)
        if v < 0:
            return below(s)
        return _nan(s)

    return apply


def _zero(s: Series) -> Series:
    return s * 0


HALF = Fraction(1, 2)

SMOOTH: dict[str, Callable[[Series], Series]] = {
    "exp": lambda s: s.exp(),
    "log": _where(lambda v: bool(v > 0), lambda s: s.log()),
    "sqrt": _where(lambda v: bool(v > 0), lambda s: s.sqrt()),
    "sin": lambda s: s.sin(),
    "cos": lambda s: s.cos(),
    "tan": _where(lambda v: not v.cos().contains(0), lambda s: s.tan()),
    "atan": lambda s: s.atan(),
    "asin": _where(lambda v: bool(v > -1 and v < 1), lambda s: s.asin()),
    "acos": _where(lambda v: bool(v > -1 and v < 1), lambda s: s.acos()),
    "sinh": lambda s: (s.exp() - (-s).exp()) * ball(HALF),
    "cosh": lambda s: (s.exp() + (-s).exp()) * ball(HALF),
    "tanh": lambda s: 1 - 2 / ((2 * s).exp() + 1),
    "sigmoid": lambda s: 1 / (1 + (-s).exp()),
    "softplus": lambda s: (1 + s.exp()).log(),
    "abs": _signed(lambda s: s, lambda s: -s),
    "relu": _signed(lambda s: s, _zero),
    "sign": _signed(lambda s: s * 0 + 1, lambda s: s * 0 - 1),
}
