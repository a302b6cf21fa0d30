"""Several inputs, decided exactly: walk the activation regions of a piecewise-linear network.

The network is evaluated by the ordinary exact evaluator with inputs that are
:class:`Aff` objects, affine forms ``c . x + d`` with Fraction coefficients.
Affine layers and ``concat`` work on them unchanged; each ``relu``,
``leaky_relu``, ``abs``, ``max`` and ``min`` of a form that is not constant
asks the walk which side of its kink the current region is on (``z >= 0`` or
``z <= 0``; for ``max(a, b)`` the sign of ``a - b``). So one evaluation follows
one activation pattern, and within it every pre-activation and the output are
affine in x.

The walk (:func:`decide_classify`) is depth-first with replay: a pattern's
prefix of decisions is replayed from the start, and at a new decision two exact
LPs (:mod:`grader.exact.lp`) tell whether the current region (a closed
polyhedron ``A x <= b``) has points with ``z > 0`` and points with ``z < 0``.
Only when both exist does the walk branch (into the closed halves); when one
side is empty the other side is the whole region and no constraint is added;
when z is identically 0 on the region both formulas agree and one is taken.
So only realised patterns are visited, every visited region is full-dimensional
(when the domain is), and the closed regions cover the domain. The activations
are continuous, so on a closed region the network equals the region's affine
formula everywhere, kinks included.

``positive_when`` is split into polyhedral cells the same way: linear
relations under ``and``/``or``/``not`` and products of affine factors compared
with 0 (``x1*x2 < 0`` is ``(x1 > 0 and x2 < 0) or (x1 < 0 and x2 > 0)``) become
a union of cells for the condition and one for its negation, each cell a
conjunction of ``a . x < b``, ``a . x <= b`` and ``a . x = b``. Anything else
raises :class:`NotPolyhedral` (the caller samples instead).

Strict inequalities need no epsilon: a system with strict rows ``a . x < b``
has a solution iff the LP "maximise t subject to a . x + t <= b for the strict
rows, the other rows as they are, 0 <= t <= 1" is feasible with t > 0. On each
region R with output m and each cell C of the condition it is decided whether
some x in R and C has m(x) <= 0 (the condition holds, the network is not
positive), and for each cell D of the negation whether some x in R and D has
m(x) > 0. A witness is made simple coordinate by coordinate (the simplest
rational in the exact range of each coordinate over the solution set).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from flint import fmpq

from grader.clock import past
from grader.exact.lp import Q, QRow, Unbounded, maximize_q
from grader.networks.affine import (
    ONE,
    ZERO,
    Aff,
    Point,
    QPoint,
    TooManyRegions,
    as_aff,
    to_fraction,
    to_q,
)
from grader.networks.cells import Atom, Cells
from grader.networks.intervals import Interval, simplest_in, simplicity_key
from grader.networks.systems import Bounds, ExactLP, Lin, System, add_atoms, dot, lin_row

# ---- the walk ----------------------------------------------------------------------------------

MAX_REGIONS = 20_000  # activation patterns visited before giving up (the caller samples then)
MAX_FAILURES = 16  # failing (region, cell) pairs collected before picking the simplest witness


@dataclass(frozen=True)
class Failure:
    """A point where (model > 0) differs from the condition."""

    point: Point
    model_value: Fraction
    holds: bool  # whether the condition holds there


@dataclass(frozen=True)
class WalkResult:
    holds: bool
    witness: Failure | None
    regions: int
    lps: int
    failures: tuple[tuple[System, Aff], ...] = ()  # without a witness asked for: the failing parts


Model = Callable[[list[Aff]], Any]
Condition = Callable[[list[Aff]], tuple[Cells, Cells]]


class _Walk:
    def __init__(self, dim: int, base: System, max_regions: int, deadline: float | None):
        self.dim = dim
        self.base = base
        self.max_regions = max_regions
        self.deadline = deadline
        self.lp = ExactLP()
        # the current run
        self.decisions: list[tuple[int, bool]] = []
        self.pos = 0
        self.asked = 0  # sides asked for (decide), replayed or new
        self.sys = base
        self.base_bounds = Bounds(dim, base.le)
        self.bounds = self.base_bounds.copy()  # of the current region's rows
        self.point: QPoint = ()
        self.pending: list[tuple[list[tuple[int, bool]], QPoint]] = []

    def start(self, decisions: list[tuple[int, bool]], point: QPoint) -> list[Aff]:
        self.decisions = list(decisions)
        self.pos = 0
        self.sys = self.base
        self.bounds = self.base_bounds.copy()
        self.point = point
        return [Aff.variable(i, self.dim, self) for i in range(self.dim)]

    def _constrain(self, z: Aff, side: int) -> None:
        # side * z >= 0  is  (-side z) <= 0
        a, b = lin_row(z.scale(fmpq(-side)))
        self.sys = System._of([*self.sys.le, (a, b)], self.sys.lt, self.sys.eq)
        self.bounds.add(a, b)

    def decide(self, z: Aff) -> int:
        self.asked += 1
        if self.pos < len(self.decisions):
            side, constrained = self.decisions[self.pos]
            self.pos += 1
            if constrained:
                self._constrain(z, side)
            return side
        self._check_budget()
        v = z.at(self.point)
        other: QPoint | None = self.point
        if v == 0:  # both sides are looked for; the points found are not kept
            up, down = self._exists(z, 1), self._exists(z, -1)
        else:  # the other side's point (the simplex's) starts that side's walk
            other = self._find(z, -1 if v > 0 else 1)
            up, down = (True, other is not None) if v > 0 else (other is not None, True)
        if up and down:
            assert other is not None
            side = -1 if v < 0 else 1
            self.pending.append(([*self.decisions, (-side, True)], other))
            self.decisions.append((side, True))
            self._constrain(z, side)
        else:
            side = -1 if down and not up else 1
            self.decisions.append((side, False))
        self.pos += 1
        return side

    def _exists(self, z: Aff, side: int) -> bool:
        """Whether the current region has a point with side * z > 0 (z = 0 at the current
        point): the screens, a step from the point along the plane's normal, or the simplex."""
        f = z.scale(fmpq(side))
        if self.bounds.excludes_atoms(((-f, "<"),)):
            return False
        return self._along_normal(f) or self._find(z, side) is not None

    def _along_normal(self, f: Aff) -> bool:
        """Whether p + t u meets every row of the region for some t > 0, with u = f's
        coefficients (then f > 0 there, as f(p) = 0 and f grows along u): exact, no program."""
        p, u = self.point, f.coef
        for a, b in self.sys.le:
            rate = dot(a, u)
            if rate > 0 and b - dot(a, p) <= 0:  # the row is tight at p and u leaves it
                return False
        return True

    def _find(self, z: Aff, side: int) -> QPoint | None:
        """A point of the current region with side * z > 0 (here side * z <= 0 at the
        current point). One phase-2 simplex: with x = point + d every right-hand side
        is >= 0, and capping side * z at 1 keeps the maximum finite."""
        f = z.scale(fmpq(side))
        if self.bounds.excludes_atoms(((-f, "<"),)):  # f > 0 nowhere
            return None
        p = self.point
        start = f.at(p)

        def shifted(a: tuple[Q, ...], b: Q) -> QRow:
            return ((*a, *(-v for v in a)), "<=", b - dot(a, p))

        rows = [shifted(a, b) for a, b in self.sys.le]
        rows.append(((*f.coef, *(-v for v in f.coef)), "<=", ONE - start))
        self.lp.count += 1
        found = maximize_q([*f.coef, *(-v for v in f.coef)], rows)
        assert found is not None  # d = 0 is feasible
        value, y = found
        if start + value <= 0:
            return None
        return tuple(x + y[i] - y[self.dim + i] for i, x in enumerate(p))

    def _check_budget(self) -> None:
        if past(self.deadline):
            raise TooManyRegions("its time budget ran out")

    def feasible(self, sys: System, atoms: Sequence[Atom] = ()) -> bool:
        """Whether ``sys`` (the current region with ``atoms`` added) has a point."""
        if self.bounds.excludes_atoms(atoms):
            return False
        if sys.contains(self.point):
            return True
        return self.lp.solve_q(self.dim, sys, origin=self.point) is not None


def _box(dim: int, box: tuple[Fraction, Fraction] | None) -> tuple[System, QPoint]:
    if box is None:
        return System([], [], []), tuple(ZERO for _ in range(dim))
    lo, hi = to_q(box[0]), to_q(box[1])
    le: list[Lin] = []
    for i in range(dim):
        e = tuple(ONE if j == i else ZERO for j in range(dim))
        le += [(e, hi), (tuple(-v for v in e), -lo)]
    mid = (lo + hi) / 2
    return System(le, [], []), tuple(mid for _ in range(dim))


def decide_classify(
    dim: int,
    model: Model,
    condition: Condition,
    *,
    box: tuple[Fraction, Fraction] | None = None,
    max_regions: int | None = None,
    deadline: float | None = None,
    witness: bool = True,
) -> WalkResult:
    """Whether ``model(x) > 0`` exactly where the condition holds, over R^dim (or the box
    ``[lo, hi]^dim``), deciding every activation region exactly. Without ``witness`` the
    failing parts found are returned as they are (:func:`simplest_failure` makes the
    witness from them when it is wanted).

    ``model(xs)`` evaluates the network at the :class:`Aff` inputs ``xs``;
    ``condition(xs)`` returns the cells where the condition holds and where it
    does not (:func:`condition_cells`; it may evaluate networks too). Raises
    :class:`NotAffine`, :class:`NotPolyhedral` or :class:`TooManyRegions`.
    """
    cap = MAX_REGIONS if max_regions is None else max_regions
    base, start = _box(dim, box)
    walk = _Walk(dim, base, cap, deadline)
    walk.pending = [([], start)]
    regions = 0
    failures: list[tuple[System, Aff]] = []
    cells = _CellsOnce(walk, condition)
    while walk.pending and len(failures) < MAX_FAILURES:
        decisions, point = walk.pending.pop()
        regions += 1
        if regions > cap:
            raise TooManyRegions(f"more than {cap} activation regions")
        xs = walk.start(decisions, point)
        m = as_aff(model(xs), dim)
        true_cells, false_cells = cells(xs)
        checks = [(*cell, (m, "<=")) for cell in true_cells]  # the condition holds: m must be > 0
        checks += [(*cell, (-m, "<")) for cell in false_cells]  # it does not: m must not be > 0
        for atoms in checks:
            sys = add_atoms(walk.sys, atoms)
            if walk.feasible(sys, atoms):
                failures.append((sys, m))
    if not failures or not witness:
        return WalkResult(not failures, None, regions, walk.lp.count, tuple(failures))
    best = simplest_failure(dim, failures, walk.lp)
    return WalkResult(False, best, regions, walk.lp.count)


def simplest_failure(dim: int, failures: Sequence[tuple[System, Aff]], lp: ExactLP | None = None) -> Failure:
    """The simplest witness of the failing parts (a system and the network's affine form on it)."""
    best: Failure | None = None
    for sys, m in failures:
        for order in (range(dim), reversed(range(dim))):
            p = simple_point(dim, sys, list(order), lp)
            value = to_fraction(m.at(p))
            candidate = Failure(p, value, not value > 0)
            if best is None or _point_key(p) < _point_key(best.point):
                best = candidate
    assert best is not None
    return best


class _CellsOnce:
    """The condition's cells in the current region; computed once when the condition asked
    the walk for no side (no activation of the input in it): then they are the same in
    every region, as the inputs are the same affine forms."""

    def __init__(self, walk: _Walk, condition: Condition) -> None:
        self.walk = walk
        self.condition = condition
        self.fixed: tuple[Cells, Cells] | None = None

    def __call__(self, xs: list[Aff]) -> tuple[Cells, Cells]:
        if self.fixed is not None:
            return self.fixed
        asked = self.walk.asked
        found = self.condition(xs)
        if self.walk.asked == asked:
            self.fixed = found
        return found


@dataclass(frozen=True)
class DifferingInputs:
    """A point of several inputs where the two functions differ, with both values there."""

    point: Point
    model_value: Fraction
    target_value: Fraction


@dataclass(frozen=True)
class EqualResult:
    equal: bool
    witness: DifferingInputs | None
    regions: int
    lps: int


def decide_equal(
    dim: int,
    model: Model,
    target: Model,
    *,
    box: tuple[Fraction, Fraction] | None = None,
    max_regions: int | None = None,
    deadline: float | None = None,
    tolerance: tuple[Fraction, Fraction] = (Fraction(0), Fraction(0)),
) -> EqualResult:
    """Whether two piecewise-linear functions (both walked together) are equal on R^dim
    (or the box). Every visited region is full-dimensional, so on a region the two
    affine formulas agree iff their coefficients do; otherwise a simple point of the
    region where they differ is the witness.

    With ``tolerance = (atol, rtol)`` they count as equal where
    |model - target| <= atol + rtol |target|; on a region both are affine, so the
    points past it are found exactly too, on each side of target = 0."""
    cap = MAX_REGIONS if max_regions is None else max_regions
    base, start = _box(dim, box)
    walk = _Walk(dim, base, cap, deadline)
    walk.pending = [([], start)]
    regions = 0
    best: DifferingInputs | None = None
    while walk.pending:
        decisions, point = walk.pending.pop()
        regions += 1
        if regions > cap:
            raise TooManyRegions(f"more than {cap} activation regions")
        xs = walk.start(decisions, point)
        m = as_aff(model(xs), dim)
        t = as_aff(target(xs), dim)
        d = m - t
        if d.is_constant() and d.const == 0:
            continue
        for atoms in _beyond(d, t, tolerance):
            sys = add_atoms(walk.sys, atoms)
            if walk.feasible(sys, atoms):
                p = simple_point(dim, sys, range(dim), walk.lp)
                found = DifferingInputs(p, to_fraction(m.at(p)), to_fraction(t.at(p)))
                if best is None or _point_key(p) < _point_key(best.point):
                    best = found
        if best is not None and regions >= MAX_FAILURES:
            break
    if best is None:
        return EqualResult(True, None, regions, walk.lp.count)
    return EqualResult(False, best, regions, walk.lp.count)


def _beyond(d: Aff, t: Aff, tolerance: tuple[Fraction, Fraction]) -> list[tuple[Atom, ...]]:
    """The atoms of the parts of a region where |d| > atol + rtol |t|: d < 0 or d > 0 without
    a tolerance; else, on each side s of t = 0, s' d - rtol s t - atol > 0 for s' = +-1."""
    atol, rtol = to_q(tolerance[0]), to_q(tolerance[1])
    if not (atol or rtol):
        return [((f, "<"),) for f in (d, -d)]
    out: list[tuple[Atom, ...]] = []
    for s in (ONE, -ONE):
        side = (t.scale(-s), "<=")  # s t >= 0
        for f in (d, -d):
            excess = f - t.scale(rtol * s) - atol
            out.append((side, (-excess, "<")))
    return out


def _point_key(p: Point) -> tuple[int, Fraction, Fraction, Point]:
    return (max(v.denominator for v in p), max(abs(v) for v in p), sum((abs(v) for v in p), Fraction(0)), p)


def simple_point(dim: int, sys: System, order: Sequence[int], lp: ExactLP | None = None) -> Point:
    """A simple point of the (non-empty) system: each coordinate in turn the simplest
    value it can take given the ones already fixed.

    0 is tried first (it is simpler than any other value: when it fits, it is the value,
    whatever the coordinate's bounds). Whether another value fits is told by a point of
    the system that takes it: on the segment from a known point of the system to a
    maximiser of the coordinate's bound (all but its far end is in the system, strict rows
    included), checked exactly; by a linear program only when no such point is at hand."""
    lp = lp or ExactLP()
    fixed: dict[int, Fraction] = {}
    known: Point | None = None
    for i in order:
        e = tuple(Fraction(int(j == i)) for j in range(dim))
        at_zero = _point_at_zero(lp, dim, sys, known, i)
        if at_zero is not None:  # 0 is the simplest value of all: no bound needed
            sys, known = at_zero
            fixed[i] = Fraction(0)
            continue
        low = _bound(lp, dim, sys, tuple(-v for v in e), known)
        high = _bound(lp, dim, sys, e, known)
        lo = None if low is None else -low[0]
        hi = None if high is None else high[0]
        candidates: list[Fraction] = []
        if lo is not None and hi is not None and lo == hi:
            candidates = [lo]
        else:
            candidates = [simplest_in(Interval.open(lo, hi))]
            candidates += [v for v in (lo, hi) if v is not None]
            candidates.sort(key=simplicity_key)
        ends = [found[1] for found in (low, high) if found is not None]
        for v in candidates:
            trial = sys.with_rows(eq=[(e, v)])
            point = _point_taking(trial, known, ends, i, v)
            if point is None:
                solved = lp.solve(dim, trial, origin=known)
                point = None if solved is None else solved[1]
            if point is not None:
                sys, known = trial, point
                fixed[i] = v
                break
        else:  # pragma: no cover - the open range always works
            raise AssertionError("no value of a coordinate fits")
    return tuple(fixed[i] for i in range(dim))


def _point_at_zero(
    lp: ExactLP, dim: int, sys: System, known: Point | None, i: int
) -> tuple[System, Point] | None:
    """The system with x_i = 0 and a point of it, when it has one."""
    e = tuple(Fraction(int(j == i)) for j in range(dim))
    trial = sys.with_rows(eq=[(e, Fraction(0))])
    if known is not None and known[i] == 0:
        return trial, known
    solved = lp.solve(dim, trial, origin=known)
    return None if solved is None else (trial, solved[1])


def _point_taking(
    trial: System, known: Point | None, ends: Sequence[Point], i: int, v: Fraction
) -> Point | None:
    """A point of ``trial`` (the system with x_i = v) on a segment from ``known`` (a point
    of the system) towards one of ``ends`` (points of its closure), or None."""
    if known is None:
        return None
    for end in ends:
        span = end[i] - known[i]
        t = Fraction(0) if v == known[i] else (v - known[i]) / span if span else None
        if t is not None and 0 <= t < 1:
            point = tuple(k + t * (b - k) for k, b in zip(known, end, strict=True))
            if trial.contains(point):
                return point
    return None


def _bound(
    lp: ExactLP, dim: int, sys: System, objective: tuple[Fraction, ...], origin: Point | None
) -> tuple[Fraction, Point] | None:
    """The maximum of ``objective`` over the closure of ``sys`` and a maximiser; None when
    unbounded. ``origin``: a point of the system, if one is known (it only speeds it up)."""
    try:
        found = lp.solve(dim, sys, objective, origin)
    except Unbounded:
        return None
    assert found is not None
    return found


__all__ = [
    "MAX_REGIONS",
    "DifferingInputs",
    "EqualResult",
    "Failure",
    "WalkResult",
    "decide_classify",
    "decide_equal",
    "simple_point",
    "simplest_failure",
]
