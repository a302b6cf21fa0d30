"""Scalar formulas in ball arithmetic (python-flint's ``arb``): validated numerics.

A ball ``[m +/- r]`` holds the true value of the formula for every input in the
input balls: every operation rounds outward, so a ball that excludes a number
proves the value is not that number. The evaluator covers scalar formulas (no
arrays): the four operations, powers, the constants ``pi`` and ``e``, the part's
``let`` names and one-parameter functions, and the element-wise built-ins. What it
cannot bound raises :class:`NotBallError`; where the formula may have no value on
the input balls (``log`` of a ball that reaches 0) the result is ``nan``.

Precision is the working precision in bits of :func:`precision` (python-flint's
context is global; it is set and restored around each evaluation).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from fractions import Fraction

from flint import arb, ctx, fmpq, fmpz

from grader.mathlang import ast
from grader.mathlang.names import SPELLINGS
from grader.mathlang.values import FunctionDef

__all__ = ["PRECISIONS", "NotBallError", "ball", "ball_value", "distinct_values", "precision"]

PRECISIONS = (64, 256, 1024, 4096)  # bits, tried in turn until the balls decide

MAX_DEPTH = 16  # nested spec-function calls
# exp of at most this (about 10^(10^12), the bound of the 40-digit evaluator): past it a
# ball would need an exponent too large to compute with
MAX_EXPONENTIAL_ARGUMENT = 2.3e12
MAX_INTEGER_POWER = 1 << 16


class NotBallError(Exception):
    """The formula has a part ball arithmetic does not cover (arrays, an unknown function)."""


@contextmanager
def precision(bits: int) -> Iterator[None]:
    saved = ctx.prec
    ctx.prec = bits
    try:
        yield
    finally:
        ctx.prec = saved


def ball(value: Fraction | int | float) -> arb:
    """A number as an exact ball (floats and fractions are exact in arb)."""
    if isinstance(value, Fraction):
        return arb(fmpq(value.numerator, value.denominator))
    if isinstance(value, int):
        return arb(fmpz(value))
    return arb(value)


def ball_value(
    node: ast.Node,
    values: Mapping[str, arb],
    functions: Mapping[str, FunctionDef] | None = None,
    lets: Mapping[str, ast.Node] | None = None,
) -> arb:
    """The formula's value as a ball, at the working precision."""
    return _Walk(values, functions or {}, lets or {}).value(node, 0)


class _Walk:
    def __init__(
        self, values: Mapping[str, arb], functions: Mapping[str, FunctionDef], lets: Mapping[str, ast.Node]
    ):
        self.values = dict(values)
        self.functions = functions
        self.lets = lets
        self.let_values: dict[str, arb] = {}

    def value(self, node: ast.Node, depth: int) -> arb:
        match node:
            case ast.Num(value=v):
                return ball(v)
            case ast.Const(name="pi"):
                return arb.pi()
            case ast.Const(name="e"):
                return arb.const_e()
            case ast.Sym(name=name):
                return self._symbol(name, depth)
            case ast.Neg(operand=operand):
                return -self.value(operand, depth)
            case ast.BinOp(op=op, left=left, right=right):
                return self._binop(op, left, right, depth)
            case ast.Call(name=name, args=args):
                return self._call(name, args, depth)
        raise NotBallError(f"{type(node).__name__} is not covered by ball arithmetic")

    def _symbol(self, name: str, depth: int) -> arb:
        if name in self.values:
            return self.values[name]
        if name in self.lets:
            if name not in self.let_values:
                self.let_values[name] = self.value(self.lets[name], depth)
            return self.let_values[name]
        raise NotBallError(f"no ball for {name}")

    def _binop(self, op: str, left: ast.Node, right: ast.Node, depth: int) -> arb:
        if op == "^":
            return self._power(left, right, depth)
        a, b = self.value(left, depth), self.value(right, depth)
        if op == "+":
            return a + b
        if op == "-":
            return a - b
        if op == "/":
            return a / b if not b.contains(0) else arb.nan()
        if op in ast.PRODUCT_KINDS:
            return a * b
        raise NotBallError(f"operator {op} is not covered by ball arithmetic")

    def _power(self, base_node: ast.Node, exponent_node: ast.Node, depth: int) -> arb:
        exponent = _rational(exponent_node)
        base = self.value(base_node, depth)
        if exponent is not None and exponent.denominator == 1:
            return integer_power(base, exponent.numerator)
        if exponent is not None:  # x^(p/q): a real value for x >= 0 only, as in every backend
            if not base >= 0:
                return arb.nan()
            return integer_power(_even_root(base, exponent.denominator), exponent.numerator)
        power = self.value(exponent_node, depth)
        whole = power.unique_fmpz() if power.is_exact() else None
        if whole is not None:  # x^n at an integer n (a symbol's value): negative x has a value
            return integer_power(base, int(whole))
        if base > 0:
            return _exp(power * base.log())
        return arb.nan()

    def _call(self, name: str, args: tuple[ast.Node, ...], depth: int) -> arb:
        fdef = self.functions.get(name)
        if fdef is not None and fdef.alias is None:
            if len(args) != 1 or depth >= MAX_DEPTH or fdef.body is None or fdef.param is None:
                raise NotBallError(f"{name} is not covered by ball arithmetic")
            inner = _Walk({**self.values, fdef.param: self.value(args[0], depth)}, self.functions, self.lets)
            return inner.value(fdef.body, depth + 1)
        name = fdef.alias if fdef is not None and fdef.alias else name
        name = SPELLINGS.get(name, name)
        values = [self.value(a, depth) for a in args]
        if len(values) == 1 and name in UNARY:
            return UNARY[name](values[0])
        if name == "norm" and (len(values) == 1 or (len(values) == 2 and bool(values[1] >= 1))):
            return abs(values[0])  # a number's norm of any order p >= 1 (as builtins' _p_norm)
        if name in ("max", "min") and values:
            found = values[0]
            for v in values[1:]:
                found = found.max(v) if name == "max" else found.min(v)
            return found
        if name == "log" and len(values) == 2:
            base = _log(values[1])
            return _log(values[0]) / base if not base.contains(0) else arb.nan()
        if name == "heaviside" and len(values) <= 2:
            return heaviside(values[0], values[1] if len(values) == 2 else ball(Fraction(1, 2)))
        if name == "leaky_relu" and len(values) <= 2:
            slope = values[1] if len(values) == 2 else ball(Fraction(1, 100))
            return _piecewise_at_zero(values[0], values[0], slope * values[0])
        if name == "root" and len(values) == 2:
            k = _rational(args[1])
            if k is None or k.denominator != 1 or k <= 0:
                raise NotBallError("root with a non-integer degree")
            degree = k.numerator
            return odd_root(values[0], degree) if degree % 2 else _even_root(values[0], degree)
        raise NotBallError(f"{name} is not covered by ball arithmetic")


def _rational(node: ast.Node) -> Fraction | None:
    """A literal exponent (``2``, ``-1``, ``1/3``, ``-(1/2)``), exactly."""
    match node:
        case ast.Num(value=v):
            return Fraction(v)
        case ast.Neg(operand=operand):
            inner = _rational(operand)
            return None if inner is None else -inner
        case ast.BinOp(op="/", left=left, right=right):
            a, b = _rational(left), _rational(right)
            return None if a is None or b is None or b == 0 else a / b
    return None


def integer_power(base: arb, k: int) -> arb:
    """``base^k`` with the tight range of the power (an even power of a ball around 0 is >= 0)."""
    if abs(k) > MAX_INTEGER_POWER:
        raise NotBallError(f"exponent {k} is too large for ball arithmetic")
    if k < 0:
        positive = integer_power(base, -k)
        return 1 / positive if not positive.contains(0) else arb.nan()
    if k == 0:
        return arb(1)
    if not base.is_finite():
        return arb.nan()
    lo, hi = base.lower(), base.upper()
    if k % 2 == 0 and base.contains(0):
        top = _point_power(lo.abs_upper().max(hi.abs_upper()), k)
        return arb(0).union(top).nonnegative_part()  # a union's radius rounds past 0
    return _point_power(lo, k).union(_point_power(hi, k))


def _point_power(x: arb, k: int) -> arb:
    result, square = arb(1), x
    while k:
        if k & 1:
            result = result * square
        k >>= 1
        if k:
            square = square * square
    return result


def odd_root(x: arb, k: int) -> arb:
    if x.is_zero():
        return arb(0)
    if x >= 0:
        return x.root(k)
    if x <= 0:
        return -((-x).root(k))
    lo, hi = x.lower(), x.upper()
    return (-((-lo).root(k))).union(hi.root(k))


def _even_root(x: arb, k: int) -> arb:
    if x.is_zero():
        return arb(0)
    return x.root(k) if x >= 0 else arb.nan()


def _exp(x: arb) -> arb:
    if not x.is_finite():
        return arb.nan()
    if abs(x).upper() > MAX_EXPONENTIAL_ARGUMENT:
        raise NotBallError("a value too large for ball arithmetic")
    return x.exp()


def _growing(fn: Callable[[arb], arb]) -> Callable[[arb], arb]:
    """sinh, cosh: grow like exp(|x|), refused past the same bound."""

    def apply(x: arb) -> arb:
        _exp(abs(x))
        return fn(x)

    return apply


def _log(x: arb) -> arb:
    return x.log() if x > 0 else arb.nan()


def _sqrt(x: arb) -> arb:
    if x.is_zero():
        return arb(0)
    return x.sqrt() if x >= 0 else arb.nan()


def _piecewise_at_zero(x: arb, above: arb, below: arb) -> arb:
    if x > 0:
        return above
    if x < 0:
        return below
    return above.union(below)


def heaviside(x: arb, at_zero: arb) -> arb:
    if x > 0:
        return arb(1)
    if x < 0:
        return arb(0)
    if x.is_zero():
        return at_zero
    return arb(0).union(arb(1)).union(at_zero)


def _sign(x: arb) -> arb:
    if x > 0:
        return arb(1)
    if x < 0:
        return arb(-1)
    if x.is_zero():
        return arb(0)
    return arb(-1).union(arb(1))


def _where(defined: Callable[[arb], bool], fn: Callable[[arb], arb]) -> Callable[[arb], arb]:
    return lambda x: fn(x) if defined(x) else arb.nan()


def _nonzero(x: arb) -> bool:
    return not x.contains(0)


def _unit(x: arb) -> bool:
    return bool(x >= -1 and x <= 1)


UNARY: dict[str, Callable[[arb], arb]] = {
    "exp": _exp,
    "log": _log,
    "sqrt": _sqrt,
    "abs": lambda x: abs(x),
    "floor": lambda x: x.floor(),
    "ceil": lambda x: x.ceil(),
    "sin": lambda x: x.sin(),
    "cos": lambda x: x.cos(),
    "tan": _where(lambda x: not x.cos().contains(0), lambda x: x.tan()),
    "sec": _where(lambda x: not x.cos().contains(0), lambda x: 1 / x.cos()),
    "csc": _where(lambda x: not x.sin().contains(0), lambda x: 1 / x.sin()),
    "cot": _where(lambda x: not x.sin().contains(0), lambda x: x.cos() / x.sin()),
    "asin": _where(_unit, lambda x: x.asin()),
    "acos": _where(_unit, lambda x: x.acos()),
    "atan": lambda x: x.atan(),
    "sinh": _growing(lambda x: x.sinh()),
    "cosh": _growing(lambda x: x.cosh()),
    "tanh": lambda x: x.tanh(),
    "sech": _growing(lambda x: 1 / x.cosh()),
    "csch": _growing(_where(_nonzero, lambda x: 1 / x.sinh())),
    "coth": _growing(_where(_nonzero, lambda x: x.cosh() / x.sinh())),
    "asinh": lambda x: x.asinh(),
    "acosh": _where(lambda x: bool(x >= 1), lambda x: x.acosh()),
    "atanh": _where(lambda x: bool(x > -1 and x < 1), lambda x: x.atanh()),
    "sigmoid": lambda x: 1 / (1 + _exp(-x)) if x > -MAX_EXPONENTIAL_ARGUMENT else arb(0).union(arb(1)),
    "relu": lambda x: _piecewise_at_zero(x, x, arb(0)).nonnegative_part(),
    "softplus": lambda x: (1 + _exp(x)).log() if x < 0 else x + (1 + _exp(-x)).log(),
    "sign": _sign,
}


def distinct_values(answer: arb | Fraction, expected: arb | Fraction) -> tuple[str, str]:
    """The two values with as many digits as it takes to tell them apart (6 to 60); an exact
    integer as itself, an exact rational without trailing zeros."""
    with precision(512):
        a, r = _as_ball(answer), _as_ball(expected)
        for digits in (6, 12, 20, 30, 45, 60):
            if _digits(a, digits) != _digits(r, digits):
                break
        return _shown(answer, a, digits), _shown(expected, r, digits)


def _shown(value: arb | Fraction, as_ball: arb, digits: int) -> str:
    if isinstance(value, Fraction) and value.denominator == 1 and abs(value) < 10**15:
        return str(value.numerator)
    integer = value.unique_fmpz() if isinstance(value, arb) and value.is_exact() else None
    if integer is not None and abs(int(integer)) < 10**15:
        return str(int(integer))
    text = _digits(as_ball, digits)
    if isinstance(value, Fraction) and "." in text and "e" not in text:  # 2.000001, not 2.00000100
        text = text.rstrip("0").rstrip(".")
    return text


def _as_ball(value: arb | Fraction) -> arb:
    return value if isinstance(value, arb) else ball(value)


def _digits(value: arb, digits: int) -> str:
    if value.rel_accuracy_bits() < 10:  # a wide ball (sin of a huge argument): its range
        low, high = (end.str(3, radius=False).strip("[]") for end in (value.lower(), value.upper()))
        return f"between {low} and {high}"
    return value.mid().str(digits, radius=False).strip("[]")
