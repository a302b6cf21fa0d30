"""The built-in functions of the math language: the table that gives each name its code.

The names and arities come from :mod:`grader.mathlang.names` (the one list of
function names, which the parser reads too); this table gives each name its
implementation, on batched values (:class:`~grader.mathlang.values.Val`) in every
backend. Nothing is looked up by name outside :data:`BUILTINS`. The element-wise
arithmetic is in :mod:`grader.mathlang.arithmetic`, linear algebra in
:mod:`grader.mathlang.linalg`, shape rules in :mod:`grader.mathlang.shapes`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np

from grader.mathlang import ast
from grader.mathlang.arithmetic import (
    HALF,
    MP,
    UNARY,
    ZERO,
    apply_binary,
    apply_unary,
    exact_root,
    lift,
    omap,
    ones_like_backend,
    zeros_like_backend,
)
from grader.mathlang.linalg import determinant, inverse
from grader.mathlang.names import ALIASES, BUILTIN_NAMES, FUNCTIONS, UNARY_NAMES
from grader.mathlang.shapes import (
    bcast,
    check_size,
    elementwise_pair,
    flat_vector,
    outer,
    shape_error,
    size_arg,
    transpose,
)
from grader.mathlang.values import Env, Val, describe

__all__ = ["ALIASES", "BUILTINS", "BUILTIN_NAMES", "Builtin"]

Implementation = Callable[[Env, ast.Call, list[Val]], Val]


# ---- built-in functions on values --------------------------------------------------


@dataclass(frozen=True)
class Builtin:
    min_args: int
    max_args: int
    impl: Implementation


def _unary(name: str) -> Implementation:
    def impl(env: Env, node: ast.Call, args: list[Val]) -> Val:
        v = args[0]
        return Val(apply_unary(env, name, v.a), v.row)

    return impl


def _with_param(name: str, default: Fraction | None) -> Implementation:
    """``heaviside(x, h0)``, ``leaky_relu(x, a)``: element-wise in x, a scalar parameter."""

    def impl(env: Env, node: ast.Call, args: list[Val]) -> Val:
        x = args[0]
        if len(args) > 1:
            p = args[1]
            if not p.is_scalar():
                raise shape_error(f"the second argument of {name} must be a scalar", node)
            pa = bcast(p.a, x.ndim)
        else:
            pa = bcast(lift(env, default if default is not None else ZERO), x.ndim)
        return Val(apply_binary(env, name, x.a, pa), x.row)

    return impl


def _extremum(name: str) -> Implementation:
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

    return impl


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
        raise shape_error("the degree of a root must be a scalar", node)
    ka = bcast(k.a, x.ndim)
    if env.backend == "float":
        odd = (np.mod(ka, 2) == 1) & (np.floor(ka) == ka)
        mag = np.power(np.abs(x.a), 1.0 / ka)
        out = np.where(odd, np.sign(x.a) * mag, np.where(x.a >= 0, mag, np.nan))
        return Val(np.asarray(out), x.row)
    if env.backend == "mp":
        return Val(omap(_mp_root, x.a, ka), x.row)
    return Val(omap(exact_root, x.a, ka), x.row)


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
            raise shape_error("the base of a log must be a scalar", node)
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


def _softmax(kind: str) -> Implementation:
    def impl(env: Env, node: ast.Call, args: list[Val]) -> Val:
        v = args[0]
        if v.is_scalar() or v.ndim > 2:
            raise shape_error(f"{kind} needs a vector or a matrix, not {describe(v, env.dim_names)}", node)
        if v.is_vector() or v.row:
            return _softmax_axis(env, v, -1)
        return _softmax_axis(env, v, -2 if kind == "softmax_col" else -1)

    return impl


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
    raise shape_error(f"diag of {describe(v, env.dim_names)}", node)


def _sum(env: Env, node: ast.Call, args: list[Val]) -> Val:
    v = args[0]
    if v.is_scalar():
        return v
    return Val(np.asarray(np.sum(v.a.reshape(v.a.shape[0], -1), axis=1)))


def _norm(env: Env, node: ast.Call, args: list[Val]) -> Val:
    v = args[0]
    flat = v.a.reshape(v.a.shape[0], int(np.prod(v.a.shape[1:])))  # -1 is ambiguous for an empty batch
    if len(args) == 2:
        p = args[1]
        if not p.is_scalar():
            raise shape_error("the order of a norm must be a scalar", node)
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
        raise shape_error(f"the trace needs a square matrix, not {describe(v, env.dim_names)}", node)
    return Val(np.asarray(np.trace(v.a, axis1=1, axis2=2)))


def _outer(env: Env, node: ast.Call, args: list[Val]) -> Val:
    return outer(env, args[0], args[1], node)


def _eye(env: Env, node: ast.Call, args: list[Val]) -> Val:
    n = size_arg(args[0], node)
    m = size_arg(args[1], node) if len(args) > 1 else n
    check_size((n, m), node.pos)
    out = zeros_like_backend(env, (1, n, m))
    one = ones_like_backend(env, (1,))[0]
    for i in range(min(n, m)):
        out[0, i, i] = one
    return Val(out)


def _filled(kind: str) -> Implementation:
    def impl(env: Env, node: ast.Call, args: list[Val]) -> Val:
        dims = tuple(size_arg(a, node) for a in args)
        check_size(dims, node.pos)
        maker = ones_like_backend if kind == "ones" else zeros_like_backend
        return Val(maker(env, (1, *dims)))

    return impl


def _inv(env: Env, node: ast.Call, args: list[Val]) -> Val:
    v = args[0]
    if v.is_scalar():
        return Val(apply_binary(env, "div", lift(env, 1), v.a))
    if not v.is_matrix() or v.shape[0] != v.shape[1]:
        raise shape_error(f"only a square matrix has an inverse, not {describe(v, env.dim_names)}", node)
    return Val(inverse(env, v.a, node))


def _det(env: Env, node: ast.Call, args: list[Val]) -> Val:
    v = args[0]
    if v.is_scalar():
        return v
    if not v.is_matrix() or v.shape[0] != v.shape[1]:
        raise shape_error(f"the determinant needs a square matrix, not {describe(v, env.dim_names)}", node)
    return Val(determinant(env, v.a))


def _concat(env: Env, node: ast.Call, args: list[Val]) -> Val:
    parts = []
    for v in args:
        if v.is_scalar():
            parts.append(v.a[:, None])
            continue
        flat = flat_vector(v)
        if flat is None:
            raise shape_error(f"concat joins scalars and vectors, not {describe(v, env.dim_names)}", node)
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


IMPLEMENTATIONS: dict[str, Implementation] = {
    **{name: _unary(name) for name in UNARY_NAMES},
    "log": _log,
    "heaviside": _with_param("heaviside", HALF),
    "leaky_relu": _with_param("leaky_relu", Fraction(1, 100)),
    "max": _extremum("max"),
    "min": _extremum("min"),
    "mod": _mod,
    "root": _root,
    "softmax": _softmax("softmax"),
    "softmax_row": _softmax("softmax_row"),
    "softmax_col": _softmax("softmax_col"),
    "diag": _diag,
    "norm": _norm,
    "sum": _sum,
    "trace": _trace,
    "outer": _outer,
    "eye": _eye,
    "ones": _filled("ones"),
    "zeros": _filled("zeros"),
    "inv": _inv,
    "det": _det,
    "concat": _concat,
    "identity": _identity,
    "transpose": _transpose,
}


def _table() -> dict[str, Builtin]:
    """Every name of :data:`grader.mathlang.names.FUNCTIONS` with its implementation."""
    missing = (set(FUNCTIONS) - set(IMPLEMENTATIONS)) | (set(UNARY_NAMES) - set(UNARY))
    unnamed = set(IMPLEMENTATIONS) - set(FUNCTIONS)
    if missing or unnamed:
        raise RuntimeError(
            f"built-ins without code: {sorted(missing)}; code without a name: {sorted(unnamed)}"
        )
    return {
        name: Builtin(arity.least, arity.most, IMPLEMENTATIONS[name]) for name, arity in FUNCTIONS.items()
    }


BUILTINS: dict[str, Builtin] = _table()
