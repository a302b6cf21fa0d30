"""Comparing two formulas at sample points, with doubtful points settled at 40 digits."""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

import numpy as np

from grader.core.verdict import CheckUndecided
from grader.mathlang import ast
from grader.mathlang.builtins import MP
from grader.mathlang.errors import EvalError
from grader.mathlang.evaluate import (
    NotExactError,
    evaluate_exact,
    evaluate_val,
)
from grader.mathlang.values import Val
from grader.types.expression.feedback import _fmt_exact, _niceness, _shape_mismatch, _witness, canonical
from grader.types.expression.outcome import Outcome, Sides
from grader.types.expression.prepare import (
    MATRIX_MIN_POINTS,
    SCALAR_MIN_POINTS,
    Prepared,
    StudentShapeError,
    batch_indices,
    get_batch,
    mp_env,
    reference_value,
    student_value,
)
from grader.types.expression.symbolic import _symbolic_confirmation

MAX_RECHECKS = 12  # points re-evaluated with mpmath per batch


def compare(prep: Prepared, sides: Sides) -> Outcome:
    """Numeric (and where useful symbolic) equivalence of two formulas."""
    if not ast.free_names(sides.ref) and not ast.free_names(sides.ans) and not sides.overrides:
        constant = _compare_constants(prep, sides)
        if constant is not None:
            return constant
    points = 0
    rechecked = 0
    minimum = MATRIX_MIN_POINTS if prep.is_matrix else SCALAR_MIN_POINTS
    done: dict[int, tuple[Val, Val]] = {}
    try:
        if prep.is_matrix:  # shapes first, at the naming sizes
            done[0] = _both(prep, sides, 0)
            mismatch = _shape_mismatch(prep, sides, *done[0], 0)
            if mismatch:
                return Outcome(False, mismatch)
        for bi in _batch_order(prep):
            ref, ans = done.pop(bi) if bi in done else _both(prep, sides, bi)
            mismatch = _shape_mismatch(prep, sides, ref, ans, bi)
            if mismatch:
                return Outcome(False, mismatch)
            result = _compare_batch(prep, sides, ref, ans, bi)
            if result.feedback:
                return result
            points += result.points
            rechecked += result.rechecked
            if not prep.is_matrix and points >= minimum:
                break
    except StudentShapeError as err:
        return Outcome(False, err.message)
    if points < minimum:
        raise CheckUndecided(
            f"only {points} sample points where the expected formula is defined "
            f"(need {minimum}); check the symbols' domains"
        )
    method = f"numeric: {points} points"
    if prep.is_matrix:
        method += f" at sizes {_plan_text(prep)}"
    if rechecked:
        method += f", {rechecked} re-checked at 40 digits"
    outcome = Outcome(True, "", points, method, rechecked)
    return _symbolic_confirmation(prep, sides, outcome)


def _both(prep: Prepared, sides: Sides, bi: int) -> tuple[Val, Val]:
    ref = _ref_or_student(prep, sides, bi)
    ans = student_value(prep, sides.ans, sides.text, bi, sides.overrides)
    return ref, ans


def _batch_order(prep: Prepared) -> list[int]:
    """Scalar parts: batches in order; matrix parts: the smallest sizes first (nicer witnesses)."""
    indices = list(batch_indices(prep))
    if not prep.is_matrix:
        return indices
    return sorted(indices, key=lambda i: (sum(prep.size_plan[i].values()), i))


def _ref_or_student(prep: Prepared, sides: Sides, bi: int) -> Val:
    if not sides.ref_is_student:
        return reference_value(prep, sides.ref, bi, sides.overrides)
    return student_value(prep, sides.ref, sides.text, bi, sides.overrides)


def _plan_text(prep: Prepared) -> str:
    parts = []
    for sizes in prep.size_plan:
        parts.append("(" + ", ".join(f"{k}={v}" for k, v in sizes.items()) + ")")
    return " ".join(parts)


def _compare_constants(prep: Prepared, sides: Sides) -> Outcome | None:
    try:
        ref = evaluate_exact(sides.ref, {}, functions=prep.functions)
        ans = evaluate_exact(sides.ans, {}, functions=prep.functions)
    except NotExactError:
        return None
    except EvalError:
        return None
    if not isinstance(ref, Fraction) or not isinstance(ans, Fraction):
        return None
    if _has_float(sides.ans) or _has_float(sides.ref):
        return None
    if ref == ans:
        return Outcome(True, "", 1, "exact")
    return Outcome(False, f"your value is {_fmt_exact(ans)}, the expected {_fmt_exact(ref)}", 1, "exact")


def _has_float(node: ast.Node) -> bool:
    return any(isinstance(n, ast.Num) and n.is_float for n in ast.walk(node))


def _compare_batch(prep: Prepared, sides: Sides, ref: Val, ans: Val, bi: int) -> Outcome:
    batch = get_batch(prep, bi)
    shape, r = canonical(ref)
    _, a = canonical(ans)
    size = batch.size
    r = np.broadcast_to(r, (size, r.shape[1]))
    a = np.broadcast_to(a, (size, a.shape[1]))
    with np.errstate(all="ignore"):
        ref_ok = np.all(np.isfinite(r), axis=1)
        ans_ok = np.all(np.isfinite(a), axis=1)
        scale = _scale(r[ref_ok])
        close = _close(r, a, prep.part.rtol, prep.part.atol * scale)
    good = ref_ok & ans_ok & close
    bad = np.flatnonzero(ref_ok & ~good)
    points = int(good.sum())
    if not len(bad):
        return Outcome(True, points=points)
    return _recheck(prep, sides, bi, bad, points, scale, shape)


def _scale(r: np.ndarray) -> float:
    if not len(r):
        return 1.0
    typical = float(np.median(np.sqrt(np.mean(r * r, axis=1))))
    return typical if typical > 0 and math.isfinite(typical) else 1.0


def _close(r: np.ndarray, a: np.ndarray, rtol: float, atol: float) -> np.ndarray:
    if r.shape[1] == 1:
        r1, a1 = r[:, 0], a[:, 0]
        return np.abs(r1 - a1) <= rtol * np.maximum(np.abs(r1), np.abs(a1)) + atol
    diff = np.sqrt(np.sum((r - a) ** 2, axis=1))
    size = np.maximum(np.sqrt(np.sum(r * r, axis=1)), np.sqrt(np.sum(a * a, axis=1)))
    return diff <= rtol * size + atol * math.sqrt(r.shape[1])


def _recheck(
    prep: Prepared, sides: Sides, bi: int, bad: np.ndarray, points: int, scale: float, shape: tuple[int, ...]
) -> Outcome:
    """Settle doubtful points with mpmath; a confirmed one is the witness."""
    batch = get_batch(prep, bi)
    order = sorted(bad.tolist(), key=lambda i: _niceness(prep, batch, i))
    chosen = np.array(order[:MAX_RECHECKS])
    env = mp_env(prep, batch, chosen, sides.overrides)
    ref_mp = evaluate_val(sides.ref, env)
    ans_mp = evaluate_val(sides.ans, env)
    _, r = canonical(ref_mp)
    _, a = canonical(ans_mp)
    r = np.broadcast_to(r, (len(chosen), r.shape[1]))
    a = np.broadcast_to(a, (len(chosen), a.shape[1]))
    spurious = 0
    for k, i in enumerate(chosen):
        verdict = _mp_point(r[k], a[k], prep.part.rtol, prep.part.atol * scale)
        if verdict == "drop":
            continue
        if verdict == "same":
            spurious += 1
            continue
        witness = _witness(prep, sides, batch, int(i), r[k], a[k], verdict, shape)
        return Outcome(False, witness, points)
    # every re-checked point was float noise: the others are taken to be too
    unchecked = len(bad) - len(chosen)
    return Outcome(True, points=points + spurious + max(unchecked, 0), rechecked=len(chosen))


def _mp_point(r: np.ndarray, a: np.ndarray, rtol: float, atol: float) -> str:
    if not all(_mp_finite(v) for v in r):
        return "drop"
    if not all(_mp_finite(v) for v in a):
        return "undefined"
    diff = MP.sqrt(sum(((x - y) ** 2 for x, y in zip(r, a, strict=True)), MP.zero))
    size = max(MP.sqrt(sum((x * x for x in r), MP.zero)), MP.sqrt(sum((y * y for y in a), MP.zero)))
    return "same" if diff <= rtol * size + atol * math.sqrt(len(r)) else "differ"


def _mp_finite(v: Any) -> bool:
    if isinstance(v, bool | np.bool_):
        return True
    return bool(MP.isfinite(v))
