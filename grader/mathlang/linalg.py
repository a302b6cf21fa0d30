"""Linear algebra on batched arrays: products, inverses, determinants, matrix powers.

The ``float`` backend uses numpy; the ``exact`` (Fractions) and ``mp`` backends use
Gaussian elimination on object arrays, exact over Fractions (a singular matrix is
an :class:`EvalError` there) and with partial pivoting for mpmath (nan there).
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import numpy as np

from grader.mathlang import ast
from grader.mathlang.arithmetic import MP, ONE, ZERO, obj_array, omap
from grader.mathlang.errors import EvalError, LimitError
from grader.mathlang.limits import check_numbers
from grader.mathlang.values import Env

MAX_MATRIX_POWER = 64


def matmul_arrays(env: Env, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Batched matrix product of (B, r, k) and (B, k, c) arrays (a batch of 1 broadcasts)."""
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


def _is_zero(v: Any) -> bool:
    return bool(v == 0)


def _inv_one(env: Env, m: np.ndarray) -> np.ndarray | None:
    """Gauss-Jordan inverse of one square object matrix; None when singular."""
    n = m.shape[0]
    one, zero = (MP.one, MP.zero) if env.backend == "mp" else (ONE, ZERO)  # Fraction / mpf is not defined
    a = [[m[i, j] for j in range(n)] + [one if i == j else zero for j in range(n)] for i in range(n)]
    for col in range(n):
        pivot = _pivot_row(env, a, col)
        if pivot is None:
            return None
        a[col], a[pivot] = a[pivot], a[col]
        p = a[col][col]
        a[col] = [x / p for x in a[col]]
        for i in range(n):
            if i != col and not _is_zero(a[i][col]):
                f = a[i][col]
                a[i] = [x - f * y for x, y in zip(a[i], a[col], strict=True)]
    out = np.empty((n, n), dtype=object)
    for i in range(n):
        for j in range(n):
            out[i, j] = a[i][n + j]
    return out


def _pivot_row(env: Env, a: list[list[Any]], col: int) -> int | None:
    rows = [i for i in range(col, len(a)) if not _is_zero(a[i][col])]
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
    if abs(k) > MAX_MATRIX_POWER:
        raise LimitError(f"matrix power {k} is past the limit of {MAX_MATRIX_POWER}", position=node.pos)
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
        check_numbers(result.flat)
    return result
