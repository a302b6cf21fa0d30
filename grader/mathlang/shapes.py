"""Shape rules of array values: broadcasting, element-wise pairs, transposes, outer products,
and the messages that name both shapes when they do not fit.

Values are batched (:class:`~grader.mathlang.values.Val`): axis 0 is the batch, the
rest the logical shape; a 1-D vector is a column, a row vector a 1×n matrix flagged ``row``.
"""

from __future__ import annotations

import math

import numpy as np

from grader.mathlang import ast
from grader.mathlang.errors import EvalError, LimitError, ShapeError
from grader.mathlang.limits import MAX_DIM, MAX_ELEMENTS
from grader.mathlang.values import Env, Val, describe, show, show_operand

MATRIX_PRODUCTS = frozenset({"implicit", "cdot", "dot", "matmul", "times"})


def shape_error(message: str, node: ast.Node, hint: str = "") -> ShapeError:
    return ShapeError(message, position=node.pos, hint=hint)


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
        raise shape_error(_both_sides(env, what, lv, rv, node), node, hint=_scalar_hint(scalar_side))
    hint = ""
    if lv.shape[::-1] == rv.shape and (lv.row or rv.row):
        hint = "one side is a row vector and the other a column vector; check the transposes"
    raise shape_error(_both_sides(env, what, lv, rv, node), node, hint=hint)


def _scalar_hint(node: ast.Node | None) -> str:
    """Why a side is a scalar: ``u^T v`` is an inner product."""
    if isinstance(node, ast.BinOp) and node.op in MATRIX_PRODUCTS and isinstance(node.left, ast.Transpose):
        return inner_product_hint(node.left.operand, node.right, node)
    return "a scalar and a matrix do not add up (c I? c times a matrix of ones?)"


def inner_product_hint(u: ast.Node, v: ast.Node, whole: ast.Node) -> str:
    """``u^T v`` is a scalar; the outer product is ``u v^T``."""
    outer_text = f"{show_operand(u)} {show_operand(v)}^T"
    return f"`{show(whole)}` is a scalar (an inner product); the outer product is {outer_text}"


def _both_sides(env: Env, what: str, lv: Val, rv: Val, node: ast.Node) -> str:
    """``what`` is a template with {l} and {r}: ``cannot subtract {r} from {l}``."""
    names = env.dim_names
    left = getattr(node, "left", None)
    right = getattr(node, "right", None)
    if left is None or right is None:
        ls, rs = describe(lv, names), describe(rv, names)
    else:
        ls = f"`{show(left)}` ({describe(lv, names)})"
        rs = f"`{show(right)}` ({describe(rv, names)})"
    if "{l}" not in what:
        what += " {l} and {r}"
    return what.format(l=ls, r=rs) + ": the shapes do not match"


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
            f"an outer product needs two vectors, not {describe(lv, env.dim_names)} and "
            f"{describe(rv, env.dim_names)}",
            node,
        )
    check_size((u.shape[1], w.shape[1]), node.pos)
    return Val(u[:, :, None] * w[:, None, :])


def transpose(env: Env, v: Val, node: ast.Node) -> Val:
    if v.is_scalar():
        return v
    if v.is_vector():
        return Val(v.a[:, None, :], row=True)
    if v.row:
        return Val(v.a[:, 0, :])
    if v.is_matrix():
        return Val(np.swapaxes(v.a, 1, 2))
    raise shape_error(f"cannot transpose {describe(v, env.dim_names)}", node)


def size_arg(v: Val, node: ast.Node) -> int:
    """A dimension given as an argument (``eye(n)``): a positive integer, the same at every point."""
    if not v.is_scalar():
        raise shape_error("a size must be a scalar", node)
    first = v.a.reshape(-1)[0]
    try:
        n = int(first)
    except (TypeError, ValueError):
        raise EvalError("a size must be a number", position=node.pos) from None
    if n != first or n < 1 or np.any(v.a != first):
        raise EvalError("a size must be a positive integer", position=node.pos)
    check_size((n,), node.pos)
    return n
