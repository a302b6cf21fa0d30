"""Equations compared by their real solution sets, probed both ways.

Two equations are equivalent when the same real points solve them, where both
sides are defined. Points on each equation's solution set are found by fixing
every symbol but one at probe values (zero and the other degenerate values
included, so ``a x = a y`` is seen to hold for every x when a = 0) and finding
the roots of ``lhs - rhs`` in the remaining one on a grid of every scale: sign
changes refined by bisection, exact zeros (a double root such as (x - 2)^2 at
x = 2), and whole lines where the equation holds for every value. Each point
found on one set must solve the other equation; a point where the other has no
value counts only when that is not an isolated hole (1/x + 1/y = 2 at x = y = 0).

An identity (``2(x + 1) = 2x + 2``, ``sigma(-x) = 1 - sigma(x)``) holds
everywhere: it is equivalent to any other identity and to nothing else.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from grader.mathlang import ast
from grader.mathlang.arithmetic import MP
from grader.mathlang.errors import EvalError, LimitError, MathError
from grader.mathlang.evaluate import evaluate_val
from grader.mathlang.values import Env, Val
from grader.types.expression.feedback import _fmt
from grader.types.expression.outcome import Outcome
from grader.types.expression.prepare import Prepared, batch_at, get_batch, mp_env_at, relevant_scalars

ASSIGNMENTS = 12  # values of the other symbols per solved-for symbol
GRID = 160  # values of the solved-for symbol
MAX_SOLVED_FOR = 3
ROOT_STEPS = 40  # Illinois steps at most (a few usually reach full precision)
ZERO = 1e-12  # |lhs - rhs| below this times |lhs| + |rhs| is a solution
HOLE_OFFSETS = (1e-6, -1e-6, 3e-6, -3e-6)


@dataclass
class Points:
    """Points on an equation's solution set, as one column of values per symbol."""

    columns: dict[str, np.ndarray]

    @property
    def count(self) -> int:
        return len(next(iter(self.columns.values()))) if self.columns else 0


@dataclass(frozen=True)
class Equation:
    node: ast.Relation
    text: str
    is_reference: bool


def identity_outcome(prep: Prepared, ref: Equation, ans: Equation) -> Outcome | None:
    """Decided when either equation is an identity (or a constant statement); else None."""
    ref_everywhere, ans_everywhere = _holds_everywhere(prep, ref), _holds_everywhere(prep, ans)
    if ref_everywhere is None or ans_everywhere is None:
        return None
    if ref_everywhere and ans_everywhere:
        return Outcome(True, "", 0, "both equations hold for every value")
    if ref_everywhere:
        return Outcome(False, f"your equation{_fails_at(prep, ans)}, where the expected one holds")
    if ans_everywhere:
        return Outcome(False, "your equation holds for every value; the expected one does not")
    return None


def _holds_everywhere(prep: Prepared, eq: Equation) -> bool | None:
    """True for an identity, False when some probe point does not solve it, None when no
    probe has both sides defined."""
    names = relevant_scalars(prep, [eq.node])
    batch = get_batch(prep, 0) if names else batch_at(prep, {}, 1)
    left, right = _sides(prep, eq, batch.values, batch.size)
    if left is None or right is None:
        return None
    defined = np.isfinite(left) & np.isfinite(right)
    if not defined.any():
        return None
    return bool(np.all(_solves(left[defined], right[defined])))


def _fails_at(prep: Prepared, eq: Equation) -> str:
    names = relevant_scalars(prep, [eq.node])
    if not names:
        return " never holds"
    batch = get_batch(prep, 0)
    left, right = _sides(prep, eq, batch.values, batch.size)
    assert left is not None and right is not None
    bad = np.flatnonzero(np.isfinite(left) & np.isfinite(right) & ~_solves(left, right))
    sizes = sum(np.abs(np.broadcast_to(np.asarray(batch.raw[n], dtype=float), (batch.size,))) for n in names)
    i = int(bad[np.argmin(sizes[bad])])
    where = ", ".join(f"{n} = {_fmt(_column(batch.raw[n], i))}" for n in names)
    return f" does not hold at {where}"


def compare_solution_sets(prep: Prepared, ref: Equation, ans: Equation, label: str = "") -> Outcome:
    """Every point found on either solution set solves the other equation."""
    checked = 0
    names = relevant_scalars(prep, [ref.node, ans.node])
    for source, other in ((ref, ans), (ans, ref)):
        points = solution_points(prep, source, names)
        failure = _first_failure(prep, points, other, source)
        if failure is not None:
            return Outcome(False, _failure_text(prep, source, other, points, failure, label))
        checked += points.count
    if checked == 0:
        return Outcome(False, "no real solution of either equation was found to compare")
    return Outcome(
        True, "", checked, f"numeric: {checked} points on the two solution sets, each solving the other"
    )


def solution_points(prep: Prepared, eq: Equation, names: Sequence[str]) -> Points:
    """Points on the solution set, with a value for each of ``names`` (the symbols of both
    equations); symbols the equation does not mention take probe values."""
    own = relevant_scalars(prep, [eq.node])
    found: list[dict[str, np.ndarray]] = []
    for name in own[:MAX_SOLVED_FOR]:
        found.append(_roots_in(prep, eq, name, [n for n in names if n != name]))
    columns = {n: np.concatenate([f[n] for f in found]) if found else np.zeros(0) for n in own}
    return _filled(prep, Points(columns), names)


def _filled(prep: Prepared, points: Points, names: Sequence[str]) -> Points:
    """Give the symbols the equation does not mention probe values (the first probe point's)."""
    base = get_batch(prep, 0)
    columns = dict(points.columns)
    for name in names:
        if name not in columns:
            columns[name] = np.full(points.count, _column(base.raw[name], 0))
    return Points({name: columns[name] for name in names} if names else columns)


def _exact_zeros(
    prep: Prepared, eq: Equation, name: str, fixed: dict[str, np.ndarray], xs: np.ndarray
) -> np.ndarray:
    """Which values solve lhs = rhs at 40 digits too: a float underflow (s^2 e^(s t) at
    s = -1e9 is 0 in floats) is not a solution."""
    if not len(xs):
        return np.zeros(0, dtype=bool)
    env = mp_env_at(prep, {name: xs, **fixed}, len(xs), {}, {})
    try:
        left = np.broadcast_to(evaluate_val(eq.node.left, env).a, (len(xs),))
        right = np.broadcast_to(evaluate_val(eq.node.right, env).a, (len(xs),))
    except (EvalError, LimitError):
        return np.zeros(len(xs), dtype=bool)
    return np.array([_mp_solves(lv, rv) for lv, rv in zip(left, right, strict=True)], dtype=bool)


def _mp_solves(left: Any, right: Any) -> bool:
    if not (MP.isfinite(left) and MP.isfinite(right)):
        return False
    return bool(abs(left - right) <= ZERO * (abs(left) + abs(right)))


def _roots_in(prep: Prepared, eq: Equation, name: str, others: Sequence[str]) -> dict[str, np.ndarray]:
    """Roots of lhs - rhs in ``name`` with the others fixed at a few probe points each: exact
    zeros on the grid, whole lines where it holds for every value, and sign changes refined
    by bisection (every bracket of every row at once)."""
    base = get_batch(prep, 0)
    values = np.unique(_column_all(base.raw[name]))
    grid = values[:: max(1, len(values) // GRID)]
    rows = _assignments(base.raw, others)
    fixed = {other: np.array([row[other] for row in rows], dtype=float) for other in others}
    raw = {name: np.tile(grid, len(rows)), **{k: np.repeat(v, len(grid)) for k, v in fixed.items()}}
    left, right = _sides(prep, eq, batch_at(prep, raw, len(rows) * len(grid)).values, len(rows) * len(grid))
    if left is None or right is None:
        return {n: np.zeros(0) for n in (name, *others)}
    diff = (left - right).reshape(len(rows), len(grid))
    scale = (np.abs(left) + np.abs(right)).reshape(len(rows), len(grid))
    finite = np.isfinite(diff)
    signed = ~np.isnan(diff)  # an overflow to +-inf still has a sign: x^5999 (1 - x + x^3) at x = -1.5
    zero = finite & (np.abs(diff) <= ZERO * np.maximum(scale, 1e-300))
    candidates = _zero_candidates(grid, finite, zero)
    crossing = signed[:, :-1] & signed[:, 1:] & ~zero[:, :-1] & ~zero[:, 1:]
    crossing &= np.sign(diff[:, :-1]) != np.sign(diff[:, 1:])
    r_idx, g_idx = np.nonzero(crossing)
    point_rows = np.concatenate([candidates[0], r_idx])
    kinds = np.concatenate([np.zeros(len(candidates[0]), bool), np.ones(len(r_idx), bool)])
    xs = np.concatenate([candidates[1], grid[g_idx]])
    his = np.concatenate([candidates[1], grid[g_idx + 1]])
    f_lo = np.concatenate([np.zeros(len(candidates[0])), diff[r_idx, g_idx]])
    bracket = {k: v[point_rows] for k, v in fixed.items()}
    crossings = {k: v[kinds] for k, v in bracket.items()}
    roots = _bisect(prep, eq, name, crossings, xs[kinds], his[kinds], f_lo[kinds])
    exact = _exact_zeros(prep, eq, name, {k: v[~kinds] for k, v in bracket.items()}, xs[~kinds])
    keep = np.concatenate([exact, ~np.isnan(roots)])
    solved = np.concatenate([xs[~kinds], np.where(np.isnan(roots), 0.0, roots)])
    out = {name: solved[keep]}
    for k, v in bracket.items():
        out[k] = np.concatenate([v[~kinds], v[kinds]])[keep]
    return out


def _zero_candidates(grid: np.ndarray, finite: np.ndarray, zero: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(row, value) pairs where a row is zero on the grid; a row zero at every finite value
    (the equation holds on the whole line) gives three values spread along it."""
    rows: list[int] = []
    values: list[float] = []
    for r in range(finite.shape[0]):
        if finite[r].sum() >= 3 and zero[r][finite[r]].all():
            picks = grid[finite[r]]
            chosen = [picks[len(picks) // 4], picks[len(picks) // 2], picks[-1]]
        else:  # the simplest first: 0 and small integers, then by size (underflow gives many)
            zeros = grid[zero[r]]
            chosen = sorted(zeros.tolist(), key=lambda v: (v != round(v), abs(v)))[:8]
        rows += [r] * len(chosen)
        values += [float(v) for v in chosen]
    return np.array(rows, dtype=int), np.array(values, dtype=float)


def _bisect(
    prep: Prepared,
    eq: Equation,
    name: str,
    fixed: dict[str, np.ndarray],
    lo: np.ndarray,
    hi: np.ndarray,
    f_lo: np.ndarray,
) -> np.ndarray:
    """Roots in the brackets [lo, hi] by the Illinois method (regula falsi that halves a stale
    end), every bracket at once; NaN where a bracket straddles a pole (1/x at 0)."""
    if not len(lo):
        return np.zeros(0)
    f_hi = _difference_at(prep, eq, name, fixed, hi)
    lo, hi, f_lo = lo.copy(), hi.copy(), f_lo.copy()
    side = np.zeros(len(lo))
    for _ in range(ROOT_STEPS):
        with np.errstate(all="ignore"):
            x = (lo * f_hi - hi * f_lo) / (f_hi - f_lo)
        x = np.where(np.isfinite(x) & (x > np.minimum(lo, hi)) & (x < np.maximum(lo, hi)), x, (lo + hi) / 2)
        f_x = _difference_at(prep, eq, name, fixed, x)
        same_as_lo = np.sign(f_x) == np.sign(f_lo)
        lo, f_lo = np.where(same_as_lo, x, lo), np.where(same_as_lo, f_x, f_lo)
        hi, f_hi = np.where(same_as_lo, hi, x), np.where(same_as_lo, f_hi, f_x)
        f_hi = np.where(same_as_lo & (side == 1), f_hi / 2, f_hi)  # Illinois: the end kept twice is halved
        f_lo = np.where(~same_as_lo & (side == -1), f_lo / 2, f_lo)
        side = np.where(same_as_lo, 1, -1)
        if np.all(np.abs(hi - lo) <= 1e-14 * np.maximum(np.abs(lo), np.abs(hi)) + 1e-300):
            break
    return _roots_not_poles(prep, eq, name, fixed, lo, hi)


def _roots_not_poles(
    prep: Prepared, eq: Equation, name: str, fixed: dict[str, np.ndarray], lo: np.ndarray, hi: np.ndarray
) -> np.ndarray:
    """A converged sign change is a root when |lhs - rhs| shrinks towards it and a pole
    (1/x at 0) when it grows; judged at 40 digits, where nothing overflows."""
    step = 1e-3 * np.maximum(np.maximum(np.abs(lo), np.abs(hi)), 1e-3)
    xs = np.concatenate([lo, hi, lo - step, hi + step])
    count = len(lo)
    env = mp_env_at(prep, {name: xs, **{k: np.tile(v, 4) for k, v in fixed.items()}}, 4 * count, {}, {})
    try:
        left = np.broadcast_to(evaluate_val(eq.node.left, env).a, (4 * count,))
        right = np.broadcast_to(evaluate_val(eq.node.right, env).a, (4 * count,))
    except (EvalError, LimitError):
        return np.full(count, np.nan)
    size = [
        abs(lv - rv) if MP.isfinite(lv) and MP.isfinite(rv) else MP.inf
        for lv, rv in zip(left, right, strict=True)
    ]
    roots = np.full(count, np.nan)
    for k in range(count):
        inner, outer = max(size[k], size[count + k]), min(size[2 * count + k], size[3 * count + k])
        if MP.isfinite(inner) and inner < outer:
            roots[k] = lo[k] if size[k] <= size[count + k] else hi[k]
    return roots


def _difference_at(
    prep: Prepared, eq: Equation, name: str, fixed: dict[str, np.ndarray], xs: np.ndarray
) -> np.ndarray:
    left, right = _sides(prep, eq, batch_at(prep, {name: xs, **fixed}, len(xs)).values, len(xs))
    if left is None or right is None:
        return np.full(len(xs), np.nan)
    return left - right


def _assignments(raw: dict[str, np.ndarray], others: Sequence[str]) -> list[dict[str, float]]:
    """Values of the other symbols: degenerate ones (0, ±1) first, then probe points."""
    if not others:
        return [{}]
    size = max(len(raw[n]) for n in others)
    columns = [np.broadcast_to(np.abs(np.asarray(raw[n], dtype=float)), (size,)) for n in others]
    unusual = np.sum([(c != 0) & (c != 1) for c in columns], axis=0)
    order = np.lexsort((np.sum(columns, axis=0), unusual)).tolist()
    half = ASSIGNMENTS // 2
    picked = order[:half] + order[half :: max(1, size // ASSIGNMENTS)][:half]
    return [{n: _column(raw[n], i) for n in others} for i in picked]


def _column(values: np.ndarray, i: int) -> float:
    return float(values[0] if values.shape[0] == 1 else values[i])


def _column_all(values: np.ndarray) -> np.ndarray:
    return np.asarray(values, dtype=float).reshape(-1)


def _sides(
    prep: Prepared, eq: Equation, values: dict, count: int
) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Both sides as float columns; None when a side is not a scalar or cannot be evaluated."""
    env = Env("float", count, dict(values), prep.functions, {}, prep.known)
    try:
        with np.errstate(all="ignore"):
            left = evaluate_val(eq.node.left, env)
            right = evaluate_val(eq.node.right, env)
    except (EvalError, LimitError):
        if eq.is_reference:
            return None, None
        raise
    if not (left.is_scalar() and right.is_scalar()):
        return None, None
    return np.broadcast_to(left.a, (count,)).astype(float), np.broadcast_to(right.a, (count,)).astype(float)


def _solves(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    with np.errstate(all="ignore"):
        return np.abs(left - right) <= 1e-9 * np.maximum(np.abs(left), np.abs(right)) + 1e-12


@dataclass(frozen=True)
class Failure:
    index: int
    left: float
    right: float
    undefined: bool


def _first_failure(prep: Prepared, points: Points, other: Equation, source: Equation) -> Failure | None:
    if points.count == 0:
        return None
    values = batch_at(prep, dict(points.columns), points.count).values
    left, right = _sides(prep, other, values, points.count)
    if left is None or right is None:
        return None
    defined = np.isfinite(left) & np.isfinite(right)
    holds = defined & _holds(left, right, prep)
    for i in np.flatnonzero(~holds).tolist():
        precise = _holds_precisely(prep, points, other, i)
        if precise is True:
            continue
        polished = _polished(prep, points, source, i)
        if polished is not None and _holds_precisely(prep, polished, other, 0) is True:
            continue  # a float root beside the true one (a flat, double root): confirmed at 40 digits
        undefined = precise is None
        if undefined and _isolated_hole(prep, points, other, i):
            continue
        return Failure(i, float(left[i]), float(right[i]), undefined)
    return None


POLISH_WINDOW = 1e-6  # relative half-width of the window a float root is polished in
POLISH_ABSOLUTE = 1e-6  # and absolute, near 0
POLISH_STEPS = 160


def _polished(prep: Prepared, points: Points, source: Equation, i: int) -> Points | None:
    """The root of one unknown found in floats, moved at 40 digits to where |lhs - rhs| is least
    nearby (golden-section search): float noise makes roots beside a double root."""
    if len(points.columns) != 1:
        return None
    name, column = next(iter(points.columns.items()))
    x = MP.mpf(float(column[i]))
    width = max(POLISH_WINDOW * abs(x), MP.mpf(POLISH_ABSOLUTE))
    lo, hi = x - width, x + width
    ratio = (MP.sqrt(5) - 1) / 2
    try:
        for _ in range(POLISH_STEPS):
            a, b = hi - ratio * (hi - lo), lo + ratio * (hi - lo)
            if _size_at(prep, source, name, a) < _size_at(prep, source, name, b):
                hi = b
            else:
                lo = a
    except (EvalError, LimitError, TypeError):
        return None
    return Points({name: np.array([float((lo + hi) / 2)])})


def _size_at(prep: Prepared, eq: Equation, name: str, value: Any) -> Any:
    """|lhs - rhs| at 40 digits with ``name`` at an mpmath value (inf where undefined)."""
    cell = np.empty(1, dtype=object)
    cell[0] = value
    values = {name: Val(cell)}
    env = Env("mp", 1, values, prep.functions, {}, prep.known)
    for let_name, node in prep.lets:
        values[let_name] = evaluate_val(node, env)
    left = evaluate_val(eq.node.left, env).a.reshape(-1)[0]
    right = evaluate_val(eq.node.right, env).a.reshape(-1)[0]
    if not (MP.isfinite(left) and MP.isfinite(right)):
        return MP.inf
    return abs(left - right)


def _holds_precisely(prep: Prepared, points: Points, other: Equation, i: int) -> bool | None:
    """The other equation at point i at 40 digits: holds, does not, or (None) has no value."""
    env = mp_env_at(prep, {n: c[i : i + 1] for n, c in points.columns.items()}, 1, {}, {})
    try:
        left = evaluate_val(other.node.left, env).a.reshape(-1)[0]
        right = evaluate_val(other.node.right, env).a.reshape(-1)[0]
    except (EvalError, LimitError):
        return None
    if not (MP.isfinite(left) and MP.isfinite(right)):
        return None
    rtol, atol = max(prep.part.rtol, 1e-9), max(prep.part.atol, 1e-12)
    return bool(abs(left - right) <= rtol * max(abs(left), abs(right)) + atol)


def _holds(left: np.ndarray, right: np.ndarray, prep: Prepared) -> np.ndarray:
    rtol = max(prep.part.rtol, 1e-9)
    with np.errstate(all="ignore"):
        return np.abs(left - right) <= rtol * np.maximum(np.abs(left), np.abs(right)) + max(
            prep.part.atol, 1e-12
        )


def _isolated_hole(prep: Prepared, points: Points, other: Equation, i: int) -> bool:
    """The other equation has no value at point i but has values just beside it."""
    raw = {}
    for name, column in points.columns.items():
        base = float(column[i])
        domain = prep.scalars.get(name)
        movable = domain is not None and not domain.integer
        offsets = np.array(HOLE_OFFSETS) * max(abs(base), 1e-3) if movable else np.zeros(len(HOLE_OFFSETS))
        raw[name] = base + offsets
    try:
        values = batch_at(prep, raw, len(HOLE_OFFSETS)).values
        left, right = _sides(prep, other, values, len(HOLE_OFFSETS))
    except MathError:
        return False
    if left is None or right is None:
        return False
    return int(np.sum(np.isfinite(left) & np.isfinite(right))) >= len(HOLE_OFFSETS) - 1


def _failure_text(
    prep: Prepared, source: Equation, other: Equation, points: Points, failure: Failure, label: str
) -> str:
    where = ", ".join(f"{name} = {_fmt(column[failure.index])}" for name, column in points.columns.items())
    # A point solving the expected equation, or its sides' values, would be the key's.
    if source.is_reference:
        if failure.undefined:
            return "your equation has no value at some solutions of the expected equation"
        return "your equation does not hold at some solutions of the expected equation"
    if failure.undefined:
        return f"your equation holds at {where}, where the expected one has no value"
    first = "your equation allows other values than the expected one: " if label else ""
    return f"{first}at {where} your equation holds but the expected one does not"
