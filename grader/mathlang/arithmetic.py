"""Per-backend arithmetic: numbers lifted into a backend and element-wise functions.

The evaluator runs one tree walk in three backends (see
:mod:`grader.mathlang.values`). Every element-wise function here has three
implementations: numpy (``float``: nan where undefined), exact (``Fraction``, or
elements with their own ``relu``/``heaviside``/``maximum``... methods such as
``PL``: an :class:`EvalError` where undefined, :class:`NotExactError` where the
value is not rational) and mpmath (``mp``, 40 digits: nan where undefined).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from fractions import Fraction
from typing import Any

import numpy as np
from mpmath.ctx_mp import MPContext

from grader.mathlang.errors import EvalError, LimitError, NotExactError
from grader.mathlang.limits import check_exact_power, check_exponential, check_power_magnitude
from grader.mathlang.values import Env

MP = MPContext()
MP.dps = 40

MAX_EXACT_EXPONENT = 4096  # |k| in an exact x^k of a piecewise-linear (or other non-rational) element

# (-8)^{1/3} has no real value, as in floats, 40 digits, balls and sympy; \sqrt[3]{-8} is -2
NEGATIVE_BASE = (
    "a negative number to a power that is not a whole number has no real value "
    "(for the real cube root of x write \\sqrt[3]{x})"
)

HALF = Fraction(1, 2)
ZERO = Fraction(0)
ONE = Fraction(1)

__all__ = [
    "BINARY",
    "HALF",
    "MP",
    "ONE",
    "UNARY",
    "ZERO",
    "NotExactError",
    "apply_binary",
    "apply_unary",
    "exact_pow",
    "exact_root",
    "lift",
    "mp_from",
    "obj_array",
    "omap",
    "ones_like_backend",
    "zeros_like_backend",
]


# ---- lifting numbers into a backend -------------------------------------------


def lift(env: Env, value: Fraction | int | float) -> np.ndarray:
    """A constant as a batch-broadcastable array of shape (1,)."""
    if env.backend == "float":
        return np.array([float(value)])
    if env.backend == "mp":
        return obj_array([mp_from(value)])
    return obj_array([Fraction(value) if isinstance(value, int) else value])


def mp_from(value: Any) -> Any:
    """A number (Fraction, int, float, bool) as an mpmath number at the backend's precision."""
    if isinstance(value, Fraction):
        return MP.mpf(value.numerator) / value.denominator
    if isinstance(value, bool | np.bool_):
        return value
    return MP.mpf(float(value)) if isinstance(value, float | np.floating) else MP.mpf(value)


def obj_array(items: Sequence[Any]) -> np.ndarray:
    out = np.empty(len(items), dtype=object)
    for i, item in enumerate(items):
        out[i] = item
    return out


def omap(fn: Callable[..., Any], *arrays: np.ndarray) -> np.ndarray:
    """Apply a Python function element by element (object arrays), keeping shapes."""
    result = np.frompyfunc(fn, len(arrays), 1)(*arrays)
    return np.asarray(result, dtype=object)


def _filled(env: Env, shape: tuple[int, ...], value: int) -> np.ndarray:
    """An array of ``value`` (0 or 1) in the backend's number kind."""
    if env.backend == "float":
        return np.full(shape, float(value))
    out = np.empty(shape, dtype=object)
    out.fill(MP.mpf(value) if env.backend == "mp" else Fraction(value))
    return out


def zeros_like_backend(env: Env, shape: tuple[int, ...]) -> np.ndarray:
    return _filled(env, shape, 0)


def ones_like_backend(env: Env, shape: tuple[int, ...]) -> np.ndarray:
    return _filled(env, shape, 1)


# ---- exact element functions ---------------------------------------------------


def _is_rational(v: Any) -> bool:
    return isinstance(v, Fraction | int) and not isinstance(v, bool)


def _not_exact(name: str) -> NotExactError:
    return NotExactError(
        f"{name} has no exact (rational) value here; exact evaluation supports + - * / "
        "integer powers, abs, max, min, relu, heaviside, floor, ceil, mod"
    )


def _exact_only_at(
    name: str, at: Fraction, value: Fraction, defined: Callable[[Fraction], bool] | None = None
) -> Callable[[Any], Any]:
    """``name`` is rational only at ``at`` (``sin(0) = 0``); undefined where ``defined`` says so."""

    def fn(v: Any) -> Any:
        if _is_rational(v) and defined is not None and not defined(Fraction(v)):
            raise EvalError(f"{name} is not defined at {v}")
        if _is_rational(v) and v == at:
            return value
        raise _not_exact(name)

    return fn


def _never_exact(name: str, defined: Callable[[Fraction], bool] | None = None) -> Callable[[Any], Any]:
    def fn(v: Any) -> Any:
        if _is_rational(v) and defined is not None and not defined(Fraction(v)):
            raise EvalError(f"{name} is not defined at {v}")
        raise _not_exact(name)

    return fn


def exact_sqrt(v: Any) -> Any:
    if not _is_rational(v):
        raise _not_exact("sqrt")
    v = Fraction(v)
    if v < 0:
        raise EvalError("square root of a negative number")
    num, den = math.isqrt(v.numerator), math.isqrt(v.denominator)
    if num * num == v.numerator and den * den == v.denominator:
        return Fraction(num, den)
    raise _not_exact(f"sqrt({v})")


def exact_log(v: Any) -> Any:
    if _is_rational(v) and v <= 0:
        raise EvalError("log of a non-positive number")
    if _is_rational(v) and v == 1:
        return ZERO
    raise _not_exact("log")


def exact_relu(v: Any) -> Any:
    if hasattr(v, "relu"):
        return v.relu()
    return v if v > 0 else v * 0


def exact_abs(v: Any) -> Any:
    return abs(v)


def exact_heaviside(v: Any, h0: Any = HALF) -> Any:
    if hasattr(v, "heaviside"):
        return v.heaviside(h0)
    if v > 0:
        return ONE
    if v < 0:
        return ZERO
    return h0


def exact_sign(v: Any) -> Any:
    if hasattr(v, "sign"):
        return v.sign()
    return Fraction((v > 0) - (v < 0))


def exact_leaky(v: Any, alpha: Any) -> Any:
    if hasattr(v, "leaky_relu"):
        return v.leaky_relu(alpha)
    return v if v > 0 else alpha * v


def exact_max(a: Any, b: Any) -> Any:
    if hasattr(a, "maximum"):
        return a.maximum(b)
    if hasattr(b, "maximum"):
        return b.maximum(a)
    return a if a >= b else b


def exact_min(a: Any, b: Any) -> Any:
    if hasattr(a, "minimum"):
        return a.minimum(b)
    if hasattr(b, "minimum"):
        return b.minimum(a)
    return a if a <= b else b


def exact_floor(v: Any) -> Any:
    if not _is_rational(v) and not isinstance(v, float):
        raise EvalError("floor needs a number")
    return Fraction(math.floor(v))


def exact_ceil(v: Any) -> Any:
    if not _is_rational(v) and not isinstance(v, float):
        raise EvalError("ceil needs a number")
    return Fraction(math.ceil(v))


def exact_mod(a: Any, b: Any) -> Any:
    if b == 0:
        raise EvalError("mod by zero")
    return a % b


def exact_div(a: Any, b: Any) -> Any:
    if _is_rational(b) and b == 0:
        raise EvalError("division by zero")
    try:
        return a / b
    except ZeroDivisionError:
        raise EvalError("division by zero") from None


def exact_pow(a: Any, b: Any) -> Any:
    if not _is_rational(b):
        if hasattr(b, "is_constant") and b.is_constant():
            b = b.constant_value()
        else:
            raise _not_exact("a power with a non-number exponent")
    b = Fraction(b)
    if b.denominator == 1:
        return _exact_int_pow(a, b.numerator)
    if not _is_rational(a):
        raise _not_exact("a fractional power")
    a = Fraction(a)
    if a < 0:  # one reading in every backend: a real x^y needs x >= 0 or a whole y
        raise EvalError(NEGATIVE_BASE)
    root = _exact_root(a, b.denominator)
    if root is None:
        raise _not_exact(f"{a}^({b})")
    return _exact_int_pow(root, b.numerator)


def exact_root(v: Any, k: Any) -> Any:
    """The real ``k``-th root (``\\sqrt[3]{-8} = -2``: an odd root of a negative number is real)."""
    degree = Fraction(k)
    if _is_rational(v) and v < 0 and degree.denominator == 1 and degree.numerator % 2 == 1:
        return -exact_pow(-Fraction(v), 1 / degree)
    return exact_pow(v, 1 / degree)


def _exact_int_pow(a: Any, k: int) -> Any:
    if _is_rational(a):
        a = Fraction(a)
        check_exact_power(a, k)  # refused by the size of the result, whatever the exponent
        if a == 0 and k < 0:
            raise EvalError("division by zero (0 to a negative power)")
        return a**k
    if abs(k) > MAX_EXACT_EXPONENT:  # elements with no size bound of their own (piecewise-linear)
        raise LimitError(f"exponent {k} is past the limit of {MAX_EXACT_EXPONENT} for exact powers")
    if k >= 0 and not hasattr(a, "__pow__"):
        result = ONE
        for _ in range(k):
            result = result * a
        return result
    return a**k


def _exact_root(a: Fraction, k: int) -> Fraction | None:
    def iroot(n: int) -> int | None:
        r = round(n ** (1.0 / k)) if n < 2**1000 else _int_root(n, k)
        for c in (r - 1, r, r + 1):
            if c >= 0 and c**k == n:
                return c
        return None

    num, den = iroot(a.numerator), iroot(a.denominator)
    return None if num is None or den is None else Fraction(num, den)


def _int_root(n: int, k: int) -> int:
    lo, hi = 0, 1 << (n.bit_length() // k + 1)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if mid**k <= n:
            lo = mid
        else:
            hi = mid - 1
    return lo


# ---- mp element functions (nan where undefined) ----------------------------------


def _mp_real(v: Any) -> Any:
    return v if isinstance(v, MP.mpf) else MP.nan


def _mp_where(defined: Callable[[Any], bool], fn: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """``fn`` where ``defined`` holds, nan elsewhere (``atanh(1)`` is not +inf: it has no value)."""

    def apply(v: Any) -> Any:
        return fn(v) if defined(v) else MP.nan

    return apply


def mp_div(a: Any, b: Any) -> Any:
    if b == 0:
        return MP.nan
    return a / b


def mp_pow(a: Any, b: Any) -> Any:
    if MP.isnan(a) or MP.isnan(b):
        return MP.nan
    if a == 0 and b < 0:
        return MP.nan
    if a < 0 and not MP.isint(b):
        return MP.nan
    if a != 0 and MP.isfinite(a) and MP.isfinite(b):
        check_power_magnitude(MP.log10(abs(a)), b)
    return _mp_real(MP.power(a, b))


def mp_exp(v: Any) -> Any:
    if MP.isfinite(v):
        check_exponential(v)
    return MP.exp(v)


def _mp_exponential(fn: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """``sinh``/``cosh`` grow like ``exp(|v|)``: refused before forming past the size bound."""

    def apply(v: Any) -> Any:
        if MP.isfinite(v):
            check_exponential(abs(v))
        return fn(v)

    return apply


def mp_log(v: Any) -> Any:
    return MP.log(v) if v > 0 else MP.nan


def mp_sqrt(v: Any) -> Any:
    return MP.sqrt(v) if v >= 0 else MP.nan


def mp_heaviside(v: Any, h0: Any) -> Any:
    if MP.isnan(v):
        return MP.nan
    return MP.one if v > 0 else MP.zero if v < 0 else h0


def mp_relu(v: Any) -> Any:
    return v if v > 0 or MP.isnan(v) else MP.zero


def mp_max(a: Any, b: Any) -> Any:
    if MP.isnan(a) or MP.isnan(b):
        return MP.nan
    return a if a >= b else b


def mp_min(a: Any, b: Any) -> Any:
    if MP.isnan(a) or MP.isnan(b):
        return MP.nan
    return a if a <= b else b


def mp_sign(v: Any) -> Any:
    return MP.mpf((v > 0) - (v < 0)) if not MP.isnan(v) else v


def mp_mod(a: Any, b: Any) -> Any:
    return MP.nan if b == 0 else a - b * MP.floor(a / b)


def mp_leaky(v: Any, alpha: Any) -> Any:
    return v if v > 0 else alpha * v


def mp_sigmoid(v: Any) -> Any:
    return 1 / (1 + MP.exp(-v))


def mp_softplus(v: Any) -> Any:
    return MP.log(1 + MP.exp(v))


# ---- float element functions ---------------------------------------------------


def f_sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def f_relu(x: np.ndarray) -> np.ndarray:
    return np.maximum(x, 0.0)


def f_softplus(x: np.ndarray) -> np.ndarray:
    return np.logaddexp(0.0, x)


def f_log(x: np.ndarray) -> np.ndarray:
    # log(0) = -inf is undefined for us, like log of a negative number
    return np.where(x > 0, np.log(np.where(x > 0, x, 1.0)), np.nan)


def f_div(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.where(b != 0, a / np.where(b != 0, b, 1.0), np.nan)


def f_reciprocal(fn: Callable[[np.ndarray], np.ndarray]) -> Callable[[np.ndarray], np.ndarray]:
    """``1 / fn(x)``, nan where ``fn(x)`` is 0 (``sec``, ``csc``)."""
    return lambda x: f_div(np.ones_like(x, dtype=float), fn(x))


def f_cot(x: np.ndarray) -> np.ndarray:
    return f_div(np.cos(x), np.sin(x))


def f_coth(x: np.ndarray) -> np.ndarray:
    return f_div(np.cosh(x), np.sinh(x))


def f_where(defined: Callable[[np.ndarray], np.ndarray], fn: Callable[[np.ndarray], np.ndarray]) -> Any:
    """``fn`` where ``defined`` holds, nan elsewhere (``acosh`` below 1, ``atanh`` at ±1)."""
    return lambda x: np.where(defined(x), fn(np.where(defined(x), x, 0.5)), np.nan)


def f_pow(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    out = np.power(a, b)
    if out.dtype.kind == "f":  # 0^-1 is undefined, and so stays anything^nan and nan^0
        out = np.where(((a == 0) & (b < 0)) | np.isnan(a) | np.isnan(b), np.nan, out)
    return out


def f_heaviside(x: np.ndarray, h0: np.ndarray) -> np.ndarray:
    return np.heaviside(x, h0)


def f_leaky(x: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    return np.where(x > 0, x, alpha * x) + 0.0 * x


def f_mod(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.where(b != 0, np.mod(a, np.where(b != 0, b, 1.0)), np.nan)


def _unit(v: Any) -> bool:
    return bool(-1 <= v <= 1)


def _open_unit(v: Any) -> bool:
    return bool(-1 < v < 1)


def _at_least_one(v: Any) -> bool:
    return bool(v >= 1)


def _nonzero(v: Any) -> bool:
    return bool(v != 0)


# name -> (float, exact, mp)
Elementwise = tuple[Callable[..., Any], Callable[..., Any], Callable[..., Any]]

UNARY: dict[str, Elementwise] = {
    "exp": (np.exp, _exact_only_at("exp", ZERO, ONE), mp_exp),
    "log": (f_log, exact_log, mp_log),
    "sqrt": (lambda x: np.sqrt(x), exact_sqrt, mp_sqrt),
    "abs": (np.abs, exact_abs, MP.fabs),
    "floor": (np.floor, exact_floor, MP.floor),
    "ceil": (np.ceil, exact_ceil, MP.ceil),
    "sin": (np.sin, _exact_only_at("sin", ZERO, ZERO), MP.sin),
    "cos": (np.cos, _exact_only_at("cos", ZERO, ONE), MP.cos),
    "tan": (np.tan, _exact_only_at("tan", ZERO, ZERO), MP.tan),
    "sec": (f_reciprocal(np.cos), _exact_only_at("sec", ZERO, ONE), MP.sec),
    "csc": (f_reciprocal(np.sin), _never_exact("csc", _nonzero), _mp_where(_nonzero, MP.csc)),
    "cot": (f_cot, _never_exact("cot", _nonzero), _mp_where(_nonzero, MP.cot)),
    "asin": (
        f_where(lambda x: np.abs(x) <= 1, np.arcsin),
        _exact_only_at("asin", ZERO, ZERO, _unit),
        _mp_where(_unit, MP.asin),
    ),
    "acos": (
        f_where(lambda x: np.abs(x) <= 1, np.arccos),
        _exact_only_at("acos", ONE, ZERO, _unit),
        _mp_where(_unit, MP.acos),
    ),
    "atan": (np.arctan, _exact_only_at("atan", ZERO, ZERO), MP.atan),
    "sinh": (np.sinh, _exact_only_at("sinh", ZERO, ZERO), _mp_exponential(MP.sinh)),
    "cosh": (np.cosh, _exact_only_at("cosh", ZERO, ONE), _mp_exponential(MP.cosh)),
    "tanh": (np.tanh, _exact_only_at("tanh", ZERO, ZERO), MP.tanh),
    "sech": (f_reciprocal(np.cosh), _exact_only_at("sech", ZERO, ONE), MP.sech),
    "csch": (f_reciprocal(np.sinh), _never_exact("csch", _nonzero), _mp_where(_nonzero, MP.csch)),
    "coth": (f_coth, _never_exact("coth", _nonzero), _mp_where(_nonzero, MP.coth)),
    "asinh": (np.arcsinh, _exact_only_at("asinh", ZERO, ZERO), MP.asinh),
    "acosh": (
        f_where(lambda x: x >= 1, np.arccosh),
        _exact_only_at("acosh", ONE, ZERO, _at_least_one),
        _mp_where(_at_least_one, MP.acosh),
    ),
    "atanh": (
        f_where(lambda x: np.abs(x) < 1, np.arctanh),
        _exact_only_at("atanh", ZERO, ZERO, _open_unit),
        _mp_where(_open_unit, MP.atanh),
    ),
    "sigmoid": (f_sigmoid, _exact_only_at("sigmoid", ZERO, HALF), mp_sigmoid),
    "relu": (f_relu, exact_relu, mp_relu),
    "softplus": (f_softplus, _never_exact("softplus"), mp_softplus),
    "sign": (np.sign, exact_sign, mp_sign),
}

BINARY: dict[str, Elementwise] = {
    "heaviside": (f_heaviside, exact_heaviside, mp_heaviside),
    "leaky_relu": (f_leaky, exact_leaky, mp_leaky),
    "mod": (f_mod, exact_mod, mp_mod),
    "max": (np.maximum, exact_max, mp_max),
    "min": (np.minimum, exact_min, mp_min),
    "pow": (f_pow, exact_pow, mp_pow),
    "div": (f_div, exact_div, mp_div),
}


def apply_unary(env: Env, name: str, a: np.ndarray) -> np.ndarray:
    f_float, f_exact, f_mp = UNARY[name]
    if env.backend == "float":
        return np.asarray(f_float(a), dtype=float)
    if env.backend == "mp":
        return omap(lambda v: _mp_real(f_mp(v)) if not MP.isnan(v) else v, a)
    return omap(f_exact, a)


def apply_binary(env: Env, name: str, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    f_float, f_exact, f_mp = BINARY[name]
    if env.backend == "float":
        return np.asarray(f_float(a, b))
    return omap(f_mp if env.backend == "mp" else f_exact, a, b)
