"""What the student reads: values, points and witnesses formatted, shape mismatches named."""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

import numpy as np

from grader.mathlang import ast
from grader.mathlang.arithmetic import MP
from grader.mathlang.evaluate import (
    evaluate_val,
)
from grader.mathlang.shapes import inner_product_hint
from grader.mathlang.values import Val, describe, show
from grader.mathlang.wording import with_article
from grader.types.expression.outcome import Sides
from grader.types.expression.prepare import Batch, Prepared, _sized, float_env, get_batch, relevant_names


def _fmt_exact(v: Fraction) -> str:
    if v.denominator == 1 and abs(v.numerator) < 10**15:
        return str(v.numerator)
    if max(v.numerator.bit_length(), v.denominator.bit_length()) < 50:
        return f"{v.numerator}/{v.denominator}"
    try:
        return _fmt(float(v))
    except OverflowError:  # past a float's range (2^1500): six digits at high precision
        return str(MP.nstr(MP.mpf(v.numerator) / v.denominator, 6))


# What a wrong value is told: the reference's value there is the key's (issue 45, item 1).
NOT_EXPECTED = "which is not the expected value"


def canonical(val: Val) -> tuple[tuple[int, ...], np.ndarray]:
    """Shape with row vectors, n×1 matrices and 1×1 matrices read as vectors/scalars,
    and the values as (batch, entries)."""
    shape = val.shape
    if val.row or (len(shape) == 2 and shape[1] == 1 and shape[0] != 1):
        shape = (shape[0] * shape[1],)
    elif len(shape) == 2 and shape == (1, 1):
        shape = ()
    a = val.a
    return shape, a.reshape(a.shape[0], -1)


def _shape_mismatch(prep: Prepared, sides: Sides, ref: Val, ans: Val, bi: int) -> str:
    ref_shape, _ = canonical(ref)
    ans_shape, _ = canonical(ans)
    if ref_shape == ans_shape:
        return ""
    names = get_batch(prep, bi).dim_names
    yours, expected = with_article(describe(ans, names)), with_article(describe(ref, names))
    message = f"your formula is {yours}; the expected answer is {expected}"
    hint = _shape_hint(prep, sides, bi, ref)
    return _sized(prep, get_batch(prep, bi), bi, message + (f". {hint}" if hint else ""))


def _shape_hint(prep: Prepared, sides: Sides, bi: int, ref: Val) -> str:
    """Point at the sub-formula where the shape went astray (an inner product...)."""
    batch = get_batch(prep, bi)
    env = float_env(prep, batch, sides.overrides, bi)
    env.trace = {}
    with np.errstate(all="ignore"):
        evaluate_val(sides.ans, env)
    for node in ast.walk(sides.ans):
        if isinstance(node, ast.BinOp) and node.op in ("implicit", "cdot", "dot", "matmul", "times"):
            left, right = env.trace.get(id(node.left)), env.trace.get(id(node.right))
            if left is None or right is None or ref.is_scalar():
                continue
            if left.row and right.is_vector():
                if isinstance(node.left, ast.Transpose):
                    return inner_product_hint(node.left.operand, node.right, node)
                return f"`{show(node)}` is a scalar (a row vector times a column vector)"
    return ""


def _fmt(v: Any) -> str:
    if isinstance(v, bool | np.bool_):
        return str(bool(v)).lower()
    try:
        f = float(v)
    except (TypeError, ValueError, OverflowError):
        return MP.nstr(v, 6)
    if not math.isfinite(f):
        return MP.nstr(v, 6) if not isinstance(v, float | np.floating) else str(f)
    if f == int(f) and abs(f) < 1e15:
        return str(int(f))
    return f"{f:.6g}"


def _fmt_array(values: np.ndarray) -> str:
    if values.ndim == 1:
        return "[" + ", ".join(_fmt(v) for v in values) + "]"
    return "[" + ", ".join(_fmt_array(row) for row in values) + "]"


def printed_length(batch: Batch, i: int) -> int:
    """How many characters point ``i``'s inputs print as (remembered on the batch)."""
    known = batch.printed.get(i)
    if known is None:
        known = 0
        for arr in batch.raw.values():
            value = arr[0] if arr.shape[0] == 1 else arr[i]
            known += len(_fmt_array(value)) if np.ndim(value) else len(_fmt(value))
        batch.printed[i] = known
    return known


def point_text(prep: Prepared, batch: Batch, i: int, names: set[str] | None = None) -> str:
    """``x = -0.5, y = 2`` or ``n = 2, W = [[..]], x = [..]`` (only the inputs in ``names``)."""
    parts = []
    arrays = [a for a in prep.part.arrays if names is None or a in names]
    dims = set(batch.sizes) if arrays else set()
    for name in prep.part.symbols:
        wanted = names is None or name in names or name in dims
        if wanted and name in batch.raw and name not in prep.part.arrays:
            arr = batch.raw[name]
            parts.append(f"{name} = {_fmt(arr[0] if arr.shape[0] == 1 else arr[i])}")
    for name in arrays:
        value = batch.raw[name][i]
        if value.size <= 16:
            parts.append(f"{name} = {_fmt_array(value)}")
        else:
            parts.append(f"{name} random {'×'.join(map(str, value.shape))}")
    return ", ".join(parts) if parts else "every point"


def _witness(
    prep: Prepared,
    sides: Sides,
    batch: Batch,
    i: int,
    r: np.ndarray,
    a: np.ndarray,
    kind: str,
    shape: tuple[int, ...],
) -> str:
    names = relevant_names(prep, [sides.ref, sides.ans, *sides.overrides.values()])
    where = point_text(prep, batch, i, names - set(sides.overrides))
    label = f"{sides.label} = " if sides.label else ""
    if sides.ref_is_student:
        return f"at {where} its sides are {_value_text(r, shape)} and {_value_text(a, shape)}"
    if kind == "undefined":
        return f"at {where} your formula is undefined, where the expected formula has a value"
    if kind == "no reference":
        return (
            f"at {where} the expected formula has no real value, but yours gives "
            f"{label}{_value_text(a, shape)}; the two are not defined on the same values"
        )
    if len(r) > 9:
        k = int(np.argmax([abs(x - y) for x, y in zip(r, a, strict=True)]))
        entry = ", ".join(str(j + 1) for j in np.unravel_index(k, shape))
        return f"at {where}: entry ({entry}) of your answer is {_fmt(a[k])}, {NOT_EXPECTED}"
    return f"at {where} your formula gives {label}{_value_text(a, shape)}, {NOT_EXPECTED}"


def _value_text(values: np.ndarray, shape: tuple[int, ...] = ()) -> str:
    if len(values) == 1 and not shape:
        return _fmt(values[0])
    arr = np.asarray(values, dtype=object)
    return _fmt_array(arr.reshape(shape) if shape else arr)
