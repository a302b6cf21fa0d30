"""Built-in functions and the per-backend arithmetic of the evaluator.

Every function here takes and returns :class:`~grader.mathlang.values.Val`
(batched arrays). Element-wise functions have three implementations: numpy
(``float``), exact (``Fraction``, or elements with their own ``relu``/
``heaviside``/``maximum``... methods such as ``PL``) and mpmath (``mp``).
Nothing is looked up by name outside the :data:`BUILTINS` allow-list.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np
from mpmath.ctx_mp import MPContext

from grader.mathlang import ast
from grader.mathlang.errors import EvalError, LimitError, ShapeError
from grader.mathlang.values import MAX_DIM, MAX_ELEMENTS, Env, Val, describe

MP = MPContext()
MP.dps = 40

MAX_EXACT_EXPONENT = 4096  # |k| in an exact x^k
MAX_EXACT_BITS = 200_000  # size of an exact power's result

HALF = Fraction(1, 2)
ZERO = Fraction(0)
ONE = Fraction(1)


class NotExactError(EvalError):
    """Exact evaluation met a function whose value is not a rational number (exp, sqrt(2)...)."""


# ---- lifting numbers into a backend -------------------------------------------


def lift(env: Env, value: Fraction | int | float) -> np.ndarray:
    """A constant as a batch-broadcastable array of shape (1,)."""
    if env.backend == "float":
        return np.array([float(value)])
    if env.backend == "mp":
        return obj_array([mp_from(value)])
    return obj_array([Fraction(value) if isinstance(value, int) else value])


def mp_from(value: Any) -> Any:
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


def zeros_like_backend(env: Env, shape: tuple[int, ...]) -> np.ndarray:
    if env.backend == "float":
        return np.zeros(shape)
    out = np.empty(shape, dtype=object)
    out.fill(MP.zero if env.backend == "mp" else ZERO)
    return out


def ones_like_backend(env: Env, shape: tuple[int, ...]) -> np.ndarray:
    if env.backend == "float":
        return np.ones(shape)
    out = np.empty(shape, dtype=object)
    out.fill(MP.one if env.backend == "mp" else ONE)
    return out


def to_2d(v: Val) -> np.ndarray:
    """A vector as an n×1 column; matrices as they are."""
    return v.a[..., None] if v.is_vector() else v.a


def bcast(a: np.ndarray, ndim: int) -> np.ndarray:
    """A batched array with trailing unit axes so it broadcasts against ``ndim`` logical axes."""
    missing = ndim - (a.ndim - 1)
    return a.reshape(a.shape + (1,) * missing) if missing > 0 else a


def check_size(shape: tuple[int, ...], pos: int | None = None) -> None:
    if any(s > MAX_DIM for s in shape) or math.prod(shape) > MAX_ELEMENTS:
        raise LimitError(
            f"an array of shape {'×'.join(map(str, shape))} is past the size limit "
            f"({MAX_DIM} per axis, {MAX_ELEMENTS} entries)",
            position=pos,
        )


# ---- exact element functions ---------------------------------------------------


def _is_rational(v: Any) -> bool:
    return isinstance(v, Fraction | int) and not isinstance(v, bool)


def _not_exact(name: str) -> NotExactError:
    return NotExactError(
        f"{name} has no exact (rational) value here; exact evaluation supports + - * / "
        "integer powers, abs, max, min, relu, heaviside, floor, ceil, mod"
    )


def _exact_only_at(name: str, at: Fraction, value: Fraction) -> Callable[[Any], Any]:
    def fn(v: Any) -> Any:
        if _is_rational(v) and v == at:
            return value
        raise _not_exact(name)

    return fn


def _never_exact(name: str) -> Callable[[Any], Any]:
    def fn(v: Any) -> Any:
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
    if a < 0:
        if b.denominator % 2 == 0:
            raise EvalError("even root of a negative number")
        return -exact_pow(-a, b)
    root = _exact_root(a, b.denominator)
    if root is None:
        raise _not_exact(f"{a}^({b})")
    return _exact_int_pow(root, b.numerator)


def _exact_int_pow(a: Any, k: int) -> Any:
    if abs(k) > MAX_EXACT_EXPONENT:
        raise LimitError(f"exponent {k} is past the limit of {MAX_EXACT_EXPONENT} for exact powers")
    if _is_rational(a):
        a = Fraction(a)
        bits = max(a.numerator.bit_length(), a.denominator.bit_length())
        if bits * abs(k) > MAX_EXACT_BITS:
            raise LimitError("the exact power is too large")
        if a == 0 and k < 0:
            raise EvalError("division by zero (0 to a negative power)")
        return a**k
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
    return _mp_real(MP.power(a, b))


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


# name -> (float, exact, mp)
Elementwise = tuple[Callable[..., Any], Callable[..., Any], Callable[..., Any]]

UNARY: dict[str, Elementwise] = {
    "exp": (np.exp, _exact_only_at("exp", ZERO, ONE), MP.exp),
    "log": (f_log, exact_log, mp_log),
    "sqrt": (lambda x: np.sqrt(x), exact_sqrt, mp_sqrt),
    "abs": (np.abs, exact_abs, MP.fabs),
    "floor": (np.floor, exact_floor, MP.floor),
    "ceil": (np.ceil, exact_ceil, MP.ceil),
    "sin": (np.sin, _exact_only_at("sin", ZERO, ZERO), MP.sin),
    "cos": (np.cos, _exact_only_at("cos", ZERO, ONE), MP.cos),
    "tan": (np.tan, _exact_only_at("tan", ZERO, ZERO), MP.tan),
    "tanh": (np.tanh, _exact_only_at("tanh", ZERO, ZERO), MP.tanh),
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


# ---- shapes --------------------------------------------------------------------


def shape_error(env: Env, message: str, node: ast.Node, hint: str = "") -> ShapeError:
    return ShapeError(message, position=node.pos, hint=hint)


def elementwise_pair(
    env: Env, lv: Val, rv: Val, node: ast.Node, what: str, scalar_with_matrix: bool
) -> tuple[np.ndarray, np.ndarray, bool]:
    """Broadcast-ready arrays for an element-wise operation, or a ShapeError.

    A scalar goes with anything when ``scalar_with_matrix``, else only with
    scalars and vectors (``1 - sigma(x)``); arrays must have the same shape.
    ``what`` is the start of the message (``cannot subtract``).
    Returns (left, right, row flag of the result).
    """
    if lv.shape == rv.shape and (lv.row == rv.row or lv.shape[:1] == (1,)):
        return lv.a, rv.a, lv.row or rv.row
    if lv.is_scalar() or rv.is_scalar():
        arr = rv if lv.is_scalar() else lv
        if scalar_with_matrix or arr.ndim == 1 or arr.row:
            nd = arr.ndim
            return bcast(lv.a, nd), bcast(rv.a, nd), arr.row
        scalar_side = getattr(node, "left" if lv.is_scalar() else "right", None)
        raise shape_error(env, _both_sides(env, what, lv, rv, node), node, hint=_scalar_hint(scalar_side))
    hint = ""
    if lv.shape[::-1] == rv.shape and (lv.row or rv.row):
        hint = "one side is a row vector and the other a column vector; check the transposes"
    return_msg = _both_sides(env, what, lv, rv, node)
    raise shape_error(env, return_msg, node, hint=hint)


def _scalar_hint(node: ast.Node | None) -> str:
    """Why a side is a scalar: ``u^T v`` is an inner product."""
    if (
        isinstance(node, ast.BinOp)
        and node.op in ("implicit", "cdot", "dot", "matmul", "times")
        and isinstance(node.left, ast.Transpose)
    ):
        return inner_product_hint(node.left.operand, node.right, node)
    return "a scalar and a matrix do not add up (c I? c times a matrix of ones?)"


def inner_product_hint(u: ast.Node, v: ast.Node, whole: ast.Node) -> str:
    """``u^T v`` is a scalar; the outer product is ``u v^T``."""
    from grader.mathlang.values import show_operand

    outer_text = f"{show_operand(u)} {show_operand(v)}^T"
    return f"`{_show(whole)}` is a scalar (an inner product); the outer product is {outer_text}"


def _both_sides(env: Env, what: str, lv: Val, rv: Val, node: ast.Node) -> str:
    """``what`` is a template with {l} and {r}: ``cannot subtract {r} from {l}``."""
    names = env.dim_names
    left = getattr(node, "left", None)
    right = getattr(node, "right", None)
    if left is None or right is None:
        ls, rs = describe(lv, names), describe(rv, names)
    else:
        ls = f"`{_show(left)}` ({describe(lv, names)})"
        rs = f"`{_show(right)}` ({describe(rv, names)})"
    if "{l}" not in what:
        what += " {l} and {r}"
    return what.format(l=ls, r=rs) + ": the shapes do not match"


def _show(node: ast.Node) -> str:
    from grader.mathlang.values import show

    return show(node)


def matmul_arrays(env: Env, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    if env.backend == "float":
        return np.matmul(a, b)
    a, b = _broadcast_batch(a, b)
    return np.asarray(np.matmul(a, b), dtype=object)


def _broadcast_batch(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    n = max(a.shape[0], b.shape[0])
    if a.shape[0] != n:
        a = np.broadcast_to(a, (n, *a.shape[1:]))
    if b.shape[0] != n:
        b = np.broadcast_to(b, (n, *b.shape[1:]))
    return a, b


# ---- linear algebra for object arrays (exact / mp) -------------------------------


def _is_zero(env: Env, v: Any) -> bool:
    return bool(v == 0)


def _inv_one(env: Env, m: np.ndarray) -> np.ndarray | None:
    """Gauss-Jordan inverse of one square object matrix; None when singular."""
    n = m.shape[0]
    a = [[m[i, j] for j in range(n)] + [ONE if i == j else ZERO for j in range(n)] for i in range(n)]
    for col in range(n):
        pivot = _pivot_row(env, a, col)
        if pivot is None:
            return None
        a[col], a[pivot] = a[pivot], a[col]
        p = a[col][col]
        a[col] = [x / p for x in a[col]]
        for i in range(n):
            if i != col and not _is_zero(env, a[i][col]):
                f = a[i][col]
                a[i] = [x - f * y for x, y in zip(a[i], a[col], strict=True)]
    out = np.empty((n, n), dtype=object)
    for i in range(n):
        for j in range(n):
            out[i, j] = a[i][n + j]
    return out


def _pivot_row(env: Env, a: list[list[Any]], col: int) -> int | None:
    rows = [i for i in range(col, len(a)) if not _is_zero(env, a[i][col])]
    if not rows:
        return None
    if env.backend == "mp":
        return max(rows, key=lambda i: abs(a[i][col]))
    return rows[0]


def _det_one(env: Env, m: np.ndarray) -> Any:
    n = m.shape[0]
    a = [[m[i, j] for j in range(n)] for i in range(n)]
    det: Any = ONE if env.backend == "exact" else MP.one
    for col in range(n):
        pivot = _pivot_row(env, a, col)
        if pivot is None:
            return det * 0
        if pivot != col:
            a[col], a[pivot] = a[pivot], a[col]
            det = -det
        p = a[col][col]
        det = det * p
        for i in range(col + 1, n):
            f = a[i][col] / p
            a[i] = [x - f * y for x, y in zip(a[i], a[col], strict=True)]
    return det


def inverse(env: Env, m: np.ndarray, node: ast.Node) -> np.ndarray:
    """Batched inverse of square matrices; singular ones give nan (float, mp) or an error."""
    if env.backend == "float":
        try:
            return np.asarray(np.linalg.inv(m))
        except np.linalg.LinAlgError:
            out = np.full(m.shape, np.nan)
            for i in range(m.shape[0]):
                if np.all(np.isfinite(m[i])) and np.linalg.matrix_rank(m[i]) == m.shape[-1]:
                    out[i] = np.linalg.inv(m[i])
            return out
    out = np.empty(m.shape, dtype=object)
    for i in range(m.shape[0]):
        inv = _inv_one(env, m[i])
        if inv is None:
            if env.backend == "exact":
                raise EvalError("the matrix is singular (no inverse)", position=node.pos)
            out[i].fill(MP.nan)
        else:
            out[i] = inv
    return out


def determinant(env: Env, m: np.ndarray) -> np.ndarray:
    if env.backend == "float":
        return np.asarray(np.linalg.det(m))
    return obj_array([_det_one(env, m[i]) for i in range(m.shape[0])])


def matrix_power(env: Env, m: np.ndarray, k: int, node: ast.Node) -> np.ndarray:
    if abs(k) > 64:
        raise LimitError(f"matrix power {k} is past the limit of 64", position=node.pos)
    if k < 0:
        m = inverse(env, m, node)
        k = -k
    if env.backend == "float":
        return np.asarray(np.linalg.matrix_power(m, k))
    n = m.shape[-1]
    result = np.broadcast_to(np.eye(n, dtype=int), m.shape).astype(object)
    result = omap(lambda v: Fraction(v) if env.backend == "exact" else MP.mpf(v), result)
    for _ in range(k):
        result = matmul_arrays(env, result, m)
    return result


# ---- built-in functions on values --------------------------------------------------


@dataclass(frozen=True)
class Builtin:
    min_args: int
    max_args: int
    impl: Callable[[Env, ast.Call, list[Val]], Val]


def _unary_builtin(name: str) -> Builtin:
    def impl(env: Env, node: ast.Call, args: list[Val]) -> Val:
        v = args[0]
        return Val(apply_unary(env, name, v.a), v.row)

    return Builtin(1, 1, impl)


def _with_param(name: str, default: Fraction | None) -> Builtin:
    """``heaviside(x, h0)``, ``leaky_relu(x, a)``: element-wise in x, a scalar parameter."""

    def impl(env: Env, node: ast.Call, args: list[Val]) -> Val:
        x = args[0]
        if len(args) > 1:
            p = args[1]
            if not p.is_scalar():
                raise shape_error(env, f"the second argument of {name} must be a scalar", node)
            pa = bcast(p.a, x.ndim)
        else:
            pa = bcast(lift(env, default if default is not None else ZERO), x.ndim)
        return Val(apply_binary(env, name, x.a, pa), x.row)

    return Builtin(1, 2, impl)


def _extremum(name: str) -> Builtin:
    """``max(a, b, ...)`` element-wise; ``max(v)`` of one array: its largest entry."""

    def impl(env: Env, node: ast.Call, args: list[Val]) -> Val:
        if len(args) == 1:
            v = args[0]
            if v.is_scalar():
                return v
            flat = v.a.reshape(v.a.shape[0], -1)
            if env.backend == "float":
                red = flat.max(axis=1) if name == "max" else flat.min(axis=1)
                return Val(np.asarray(red))
            acc = flat[:, 0]
            for j in range(1, flat.shape[1]):
                acc = apply_binary(env, name, acc, flat[:, j])
            return Val(acc)
        acc_val = args[0]
        for other in args[1:]:
            la, ra, row = elementwise_pair(
                env, acc_val, other, _pair_node(node), f"cannot take the {name} of", True
            )
            acc_val = Val(apply_binary(env, name, la, ra), row)
        return acc_val

    return Builtin(1, 16, impl)


def _pair_node(node: ast.Call) -> ast.BinOp:
    left = node.args[0]
    right = node.args[1] if len(node.args) > 1 else node.args[0]
    return ast.BinOp(node.pos, node.name, left, right)


def _mod(env: Env, node: ast.Call, args: list[Val]) -> Val:
    la, ra, row = elementwise_pair(env, args[0], args[1], _pair_node(node), "cannot take {l} mod {r}", True)
    return Val(apply_binary(env, "mod", la, ra), row)


def _root(env: Env, node: ast.Call, args: list[Val]) -> Val:
    x, k = args[0], args[1]
    if not k.is_scalar():
        raise shape_error(env, "the degree of a root must be a scalar", node)
    ka = bcast(k.a, x.ndim)
    if env.backend == "float":
        odd = (np.mod(ka, 2) == 1) & (np.floor(ka) == ka)
        mag = np.power(np.abs(x.a), 1.0 / ka)
        out = np.where(odd, np.sign(x.a) * mag, np.where(x.a >= 0, mag, np.nan))
        return Val(np.asarray(out), x.row)
    if env.backend == "mp":
        return Val(omap(_mp_root, x.a, ka), x.row)
    return Val(omap(lambda v, kk: exact_pow(v, 1 / Fraction(kk)), x.a, ka), x.row)


def _mp_root(v: Any, k: Any) -> Any:
    if MP.isint(k) and int(k) % 2 == 1 and v < 0:
        return -MP.root(-v, int(k))
    return MP.root(v, k) if v >= 0 else MP.nan


def _log(env: Env, node: ast.Call, args: list[Val]) -> Val:
    x = args[0]
    out = apply_unary(env, "log", x.a)
    if len(args) == 2:
        base = args[1]
        if not base.is_scalar():
            raise shape_error(env, "the base of a log must be a scalar", node)
        out = apply_binary(env, "div", out, bcast(apply_unary(env, "log", base.a), x.ndim))
    return Val(out, x.row)


def _softmax_axis(env: Env, v: Val, axis: int) -> Val:
    a = v.a
    if env.backend == "float":
        shifted = a - np.max(a, axis=axis, keepdims=True)
        e = np.exp(shifted)
        return Val(e / np.sum(e, axis=axis, keepdims=True), v.row)
    e = apply_unary(env, "exp", a)
    total = np.sum(e, axis=axis, keepdims=True)
    return Val(apply_binary(env, "div", e, np.broadcast_to(total, e.shape)), v.row)


def _softmax(kind: str) -> Builtin:
    def impl(env: Env, node: ast.Call, args: list[Val]) -> Val:
        v = args[0]
        if v.is_scalar() or v.ndim > 2:
            raise shape_error(
                env, f"{kind} needs a vector or a matrix, not {describe(v, env.dim_names)}", node
            )
        if v.is_vector() or v.row:
            return _softmax_axis(env, v, -1)
        return _softmax_axis(env, v, -2 if kind == "softmax_col" else -1)

    return Builtin(1, 1, impl)


def _diag(env: Env, node: ast.Call, args: list[Val]) -> Val:
    v = args[0]
    if v.is_vector() or v.row:
        vec = v.a if v.is_vector() else v.a[:, 0, :]
        n = vec.shape[1]
        out = zeros_like_backend(env, (vec.shape[0], n, n))
        idx = np.arange(n)
        out[:, idx, idx] = vec
        return Val(out)
    if v.is_matrix():
        return Val(np.diagonal(v.a, axis1=1, axis2=2).copy())
    if v.is_scalar():
        return v
    raise shape_error(env, f"diag of {describe(v, env.dim_names)}", node)


def _sum(env: Env, node: ast.Call, args: list[Val]) -> Val:
    v = args[0]
    if v.is_scalar():
        return v
    return Val(np.asarray(np.sum(v.a.reshape(v.a.shape[0], -1), axis=1)))


def _norm(env: Env, node: ast.Call, args: list[Val]) -> Val:
    v = args[0]
    flat = v.a.reshape(v.a.shape[0], -1)
    if len(args) == 2:
        p = args[1]
        if not p.is_scalar():
            raise shape_error(env, "the order of a norm must be a scalar", node)
        return _p_norm(env, flat, p.a, node)
    if env.backend == "float":
        return Val(np.sqrt(np.sum(flat * flat, axis=1)))
    squares = np.sum(flat * flat, axis=1)
    return Val(apply_unary(env, "sqrt", np.asarray(squares, dtype=object)))


def _p_norm(env: Env, flat: np.ndarray, p: np.ndarray, node: ast.Node) -> Val:
    absval = apply_unary(env, "abs", flat)
    if env.backend == "float":
        pf = np.asarray(p, dtype=float)
        with np.errstate(all="ignore"):
            out = np.where(
                np.isinf(pf),
                np.max(absval, axis=1),
                np.sum(absval ** pf[:, None], axis=1) ** (1.0 / pf),
            )
        return Val(np.asarray(out))
    pv = p[0]
    if (env.backend == "mp" and MP.isinf(pv)) or (env.backend == "exact" and pv == float("inf")):
        acc = absval[:, 0]
        for j in range(1, absval.shape[1]):
            acc = apply_binary(env, "max", acc, absval[:, j])
        return Val(acc)
    powered = apply_binary(env, "pow", absval, np.broadcast_to(p[:, None], absval.shape))
    total = np.asarray(np.sum(powered, axis=1), dtype=object)
    inv = apply_binary(env, "div", lift(env, 1), p)
    return Val(apply_binary(env, "pow", total, inv))


def _trace(env: Env, node: ast.Call, args: list[Val]) -> Val:
    v = args[0]
    if v.is_scalar():
        return v
    if not v.is_matrix() or v.shape[0] != v.shape[1]:
        raise shape_error(env, f"the trace needs a square matrix, not {describe(v, env.dim_names)}", node)
    return Val(np.asarray(np.trace(v.a, axis1=1, axis2=2)))


def flat_vector(v: Val) -> np.ndarray | None:
    """A vector's entries as (B, n), for a column or a row vector; None otherwise."""
    if v.is_vector():
        return v.a
    if v.row:
        return v.a[:, 0, :]
    return None


def outer(env: Env, lv: Val, rv: Val, node: ast.Node) -> Val:
    if lv.is_scalar() or rv.is_scalar():
        nd = max(lv.ndim, rv.ndim)
        return Val(bcast(lv.a, nd) * bcast(rv.a, nd), lv.row or rv.row)
    u, w = flat_vector(lv), flat_vector(rv)
    if u is None or w is None:
        raise shape_error(
            env,
            f"an outer product needs two vectors, not {describe(lv, env.dim_names)} and "
            f"{describe(rv, env.dim_names)}",
            node,
        )
    check_size((u.shape[1], w.shape[1]), node.pos)
    return Val(u[:, :, None] * w[:, None, :])


def _outer(env: Env, node: ast.Call, args: list[Val]) -> Val:
    return outer(env, args[0], args[1], node)


def size_arg(env: Env, v: Val, node: ast.Node) -> int:
    """A dimension given as an argument (``eye(n)``): a positive integer, the same at every point."""
    if not v.is_scalar():
        raise shape_error(env, "a size must be a scalar", node)
    first = v.a.reshape(-1)[0]
    try:
        n = int(first)
    except (TypeError, ValueError):
        raise EvalError("a size must be a number", position=node.pos) from None
    if n != first or n < 1 or np.any(v.a != first):
        raise EvalError("a size must be a positive integer", position=node.pos)
    check_size((n,), node.pos)
    return n


def _eye(env: Env, node: ast.Call, args: list[Val]) -> Val:
    n = size_arg(env, args[0], node)
    m = size_arg(env, args[1], node) if len(args) > 1 else n
    check_size((n, m), node.pos)
    out = zeros_like_backend(env, (1, n, m))
    one = ones_like_backend(env, (1,))[0]
    for i in range(min(n, m)):
        out[0, i, i] = one
    return Val(out)


def _filled(kind: str) -> Builtin:
    def impl(env: Env, node: ast.Call, args: list[Val]) -> Val:
        dims = tuple(size_arg(env, a, node) for a in args)
        check_size(dims, node.pos)
        maker = ones_like_backend if kind == "ones" else zeros_like_backend
        return Val(maker(env, (1, *dims)))

    return Builtin(1, 2, impl)


def _inv(env: Env, node: ast.Call, args: list[Val]) -> Val:
    v = args[0]
    if v.is_scalar():
        return Val(apply_binary(env, "div", lift(env, 1), v.a))
    if not v.is_matrix() or v.shape[0] != v.shape[1]:
        raise shape_error(env, f"only a square matrix has an inverse, not {describe(v, env.dim_names)}", node)
    return Val(inverse(env, v.a, node))


def _det(env: Env, node: ast.Call, args: list[Val]) -> Val:
    v = args[0]
    if v.is_scalar():
        return v
    if not v.is_matrix() or v.shape[0] != v.shape[1]:
        raise shape_error(
            env, f"the determinant needs a square matrix, not {describe(v, env.dim_names)}", node
        )
    return Val(determinant(env, v.a))


def _concat(env: Env, node: ast.Call, args: list[Val]) -> Val:
    parts = []
    for v in args:
        if v.is_scalar():
            parts.append(v.a[:, None])
            continue
        flat = flat_vector(v)
        if flat is None:
            raise shape_error(
                env, f"concat joins scalars and vectors, not {describe(v, env.dim_names)}", node
            )
        parts.append(flat)
    batch = max(p.shape[0] for p in parts)
    parts = [np.broadcast_to(p, (batch, p.shape[1])) for p in parts]
    out = np.concatenate(parts, axis=1)
    check_size(out.shape[1:], node.pos)
    return Val(out)


def _identity(env: Env, node: ast.Call, args: list[Val]) -> Val:
    return args[0]


def _transpose(env: Env, node: ast.Call, args: list[Val]) -> Val:
    return transpose(env, args[0], node)


def transpose(env: Env, v: Val, node: ast.Node) -> Val:
    if v.is_scalar():
        return v
    if v.is_vector():
        return Val(v.a[:, None, :], row=True)
    if v.row:
        return Val(v.a[:, 0, :])
    if v.is_matrix():
        return Val(np.swapaxes(v.a, 1, 2))
    raise shape_error(env, f"cannot transpose {describe(v, env.dim_names)}", node)


BUILTINS: dict[str, Builtin] = {
    **{name: _unary_builtin(name) for name in UNARY if name != "log"},
    "log": Builtin(1, 2, _log),
    "heaviside": _with_param("heaviside", HALF),
    "leaky_relu": _with_param("leaky_relu", Fraction(1, 100)),
    "max": _extremum("max"),
    "min": _extremum("min"),
    "mod": Builtin(2, 2, _mod),
    "root": Builtin(2, 2, _root),
    "softmax": _softmax("softmax"),
    "softmax_row": _softmax("softmax_row"),
    "softmax_col": _softmax("softmax_col"),
    "diag": Builtin(1, 1, _diag),
    "norm": Builtin(1, 2, _norm),
    "sum": Builtin(1, 1, _sum),
    "trace": Builtin(1, 1, _trace),
    "outer": Builtin(2, 2, _outer),
    "eye": Builtin(1, 2, _eye),
    "ones": _filled("ones"),
    "zeros": _filled("zeros"),
    "inv": Builtin(1, 1, _inv),
    "det": Builtin(1, 1, _det),
    "concat": Builtin(1, 32, _concat),
    "identity": Builtin(1, 1, _identity),
    "transpose": Builtin(1, 1, _transpose),
}

# Other spellings students use; a part's own declarations take precedence.
ALIASES: dict[str, str] = {
    "ReLU": "relu",
    "Relu": "relu",
    "RELU": "relu",
    "sigma": "sigmoid",
    "sgn": "sign",
    "tr": "trace",
    "Tr": "trace",
    "ln": "log",
    "Softmax": "softmax",
    "softmax_rows": "softmax_row",
    "softmax_cols": "softmax_col",
    "H": "heaviside",
    "step": "heaviside",
    "Diag": "diag",
}

BUILTIN_NAMES: tuple[str, ...] = tuple(sorted(BUILTINS))
