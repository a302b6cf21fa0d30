"""Exact linear systems over the input space, and the cheap screens before a linear program.

Strict inequalities need no epsilon: a system with strict rows ``a . x < b`` has a solution iff
the LP "maximise t subject to a . x + t <= b for the strict rows, the other rows as they are,
0 <= t <= 1" is feasible with t > 0 (:mod:`grader.exact.lp`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from grader.exact.lp import Q, QRow, maximize_q
from grader.networks.affine import ONE, ZERO, Aff, Point, QPoint, to_fraction, to_fractions, to_q, to_qs
from grader.networks.cells import Atom

# ---- exact LPs over free variables -------------------------------------------------------------

# A linear row (a, b): a . x <= b (or < b, or = b, by the list it is in); fmpq inside.
Lin = tuple[tuple[Any, ...], Any]


def _lin(row: Lin) -> Lin:
    a, b = row
    return (to_qs(a), to_q(b))


@dataclass
class System:
    """``le``: a . x <= b; ``lt``: a . x < b; ``eq``: a . x = b (numbers made fmpq)."""

    le: list[Lin]
    lt: list[Lin]
    eq: list[Lin]

    def __post_init__(self) -> None:
        self.le = [_lin(r) for r in self.le]
        self.lt = [_lin(r) for r in self.lt]
        self.eq = [_lin(r) for r in self.eq]

    @classmethod
    def _of(cls, le: list[Lin], lt: list[Lin], eq: list[Lin]) -> System:
        """A system of rows already in fmpq (no conversion)."""
        out = object.__new__(cls)
        out.le, out.lt, out.eq = le, lt, eq
        return out

    def with_rows(self, le: Sequence[Lin] = (), lt: Sequence[Lin] = (), eq: Sequence[Lin] = ()) -> System:
        return System._of([*self.le, *map(_lin, le)], [*self.lt, *map(_lin, lt)], [*self.eq, *map(_lin, eq)])

    def contains(self, p: Sequence[Any]) -> bool:
        q = to_qs(p)

        def dot(a: Sequence[Q]) -> Q:
            return sum((x * y for x, y in zip(a, q, strict=True)), ZERO)

        return (
            all(dot(a) <= b for a, b in self.le)
            and all(dot(a) < b for a, b in self.lt)
            and all(dot(a) == b for a, b in self.eq)
        )


def lin_row(f: Aff) -> Lin:
    """``f kind 0`` as a row: f.coef . x kind -f.const."""
    return (f.coef, -f.const)


def add_atoms(sys: System, atoms: Sequence[Atom]) -> System:
    le: list[Lin] = []
    lt: list[Lin] = []
    eq: list[Lin] = []
    for f, kind in atoms:
        {"<=": le, "<": lt, "=": eq}[kind].append(lin_row(f))
    return System._of([*sys.le, *le], [*sys.lt, *lt], [*sys.eq, *eq])


def dot(a: Sequence[Q], p: Sequence[Q]) -> Q:
    return sum((x * y for x, y in zip(a, p, strict=True)), ZERO)


class ExactLP:
    def __init__(self) -> None:
        self.count = 0

    def solve(
        self,
        dim: int,
        sys: System,
        objective: Sequence[Any] | None = None,
        origin: Sequence[Any] | None = None,
    ) -> tuple[Fraction, Point] | None:
        """With ``objective``: its maximum over the closure of ``sys`` and a maximiser
        (Unbounded when infinite). Without: a point of ``sys`` itself (strict rows
        strict) as (t, x) with t > 0, or None when there is none. ``origin`` (a point
        meeting most rows) only speeds it up: x = origin + d, fewer negative sides."""
        found = self.solve_q(dim, sys, None if objective is None else to_qs(objective), origin)
        return None if found is None else (to_fraction(found[0]), to_fractions(found[1]))

    def solve_q(
        self, dim: int, sys: System, objective: QPoint | None = None, origin: Sequence[Any] | None = None
    ) -> tuple[Q, QPoint] | None:
        """:meth:`solve` in fmpq."""
        self.count += 1
        strict = objective is None
        o = to_qs(origin) if origin is not None else tuple(ZERO for _ in range(dim))
        t_strict = (ONE,) if strict else ()
        t_closed = (ZERO,) if strict else ()

        def row(a: Sequence[Q], b: Q, sense: Any, t: tuple[Q, ...]) -> QRow:
            return ((*a, *(-v for v in a), *t), sense, b - dot(a, o))

        rows = [row(a, b, "<=", t_closed) for a, b in sys.le]
        rows += [row(a, b, "<=", t_strict) for a, b in sys.lt]
        rows += [row(a, b, "=", t_closed) for a, b in sys.eq]
        if strict:
            rows.append(((*(ZERO for _ in range(2 * dim)), ONE), "<=", ONE))
            cost: list[Q] = [ZERO] * (2 * dim) + [ONE]
        else:
            assert objective is not None
            cost = [*objective, *(-v for v in objective)]
        found = maximize_q(cost, rows)
        if found is None:
            return None
        value, y = found
        x = tuple(o[i] + y[i] - y[dim + i] for i in range(dim))
        if strict and sys.lt and value <= 0:
            return None
        if not strict:
            assert objective is not None
            value += dot(objective, o)
        return value, x


# ---- cheap exact screens before a linear program -----------------------------------------------

Direction = tuple[tuple[Any, Any], ...]
End = tuple[Q, bool] | None  # a bound on one coordinate and whether it is strict; None: none


def _direction(a: Sequence[Q]) -> tuple[Direction, Direction, Q] | None:
    """``a`` scaled so that its first non-zero entry is +-1, the same for ``-a``, and that
    scale (None for a = 0). As numerators and denominators: an fmpq's hash is slow."""
    for v in a:
        if v:
            s = abs(v)
            scaled = [x / s for x in a]
            return tuple((x.p, x.q) for x in scaled), tuple((-x.p, x.q) for x in scaled), s
    return None


def _axis(a: Sequence[Q]) -> int | None:
    """The coordinate of a row with exactly one non-zero coefficient."""
    found = None
    for j, v in enumerate(a):
        if v:
            if found is not None:
                return None
            found = j
    return found


def _tighter(old: End, new: End, upper: bool) -> End:
    if old is None:
        return new
    assert new is not None
    if new[0] == old[0]:
        return (new[0], new[1] or old[1])
    return new if (new[0] < old[0]) == upper else old


class Bounds:
    """What the current region's rows ``a . x <= b`` show cheaply, to rule out a system
    before a linear program; every "no point" it gives is a Farkas certificate of two or
    a few rows, so it is exact.

    * Two rows: the tightest bound on each direction; ``c . x < d`` is impossible when a
      row bounds ``-c . x`` so that ``c . x >= d`` (their sum reads 0 < 0).
    * A box: the bounds of the rows on one coordinate (``x3 >= 0``, the kinks of units fed
      by one input); a row is impossible when its least value over the box is past it.
    """

    __slots__ = ("hi", "lo", "upper")

    def __init__(self, dim: int, rows: Sequence[Lin] = ()) -> None:
        self.upper: dict[Direction, Q] = {}
        self.lo: list[End] = [None] * dim
        self.hi: list[End] = [None] * dim
        for a, b in rows:
            self.add(a, b)

    def copy(self) -> Bounds:
        out = Bounds(0)
        out.upper, out.lo, out.hi = dict(self.upper), list(self.lo), list(self.hi)
        return out

    def add(self, a: Sequence[Q], b: Q) -> None:
        """The region's row ``a . x <= b``."""
        found = _direction(a)
        if found is None:
            return
        key, _, scale = found
        bound = b / scale
        old = self.upper.get(key)
        if old is None or bound < old:
            self.upper[key] = bound
        _narrow(self.lo, self.hi, a, b, "<=")

    def excludes_atoms(self, atoms: Sequence[Atom]) -> bool:
        """Whether no point of the region meets every atom ``f kind 0``."""
        rows = [(f.coef, -f.const, kind) for f, kind in atoms]
        if any(self._opposed(a, b, kind) for a, b, kind in rows):
            return True
        lo, hi = list(self.lo), list(self.hi)
        for a, b, kind in rows:
            _narrow(lo, hi, a, b, kind)
        if any(_empty(low, high) for low, high in zip(lo, hi, strict=True)):
            return True
        return any(_past(lo, hi, a, b, kind) for a, b, kind in rows)

    def _opposed(self, a: Sequence[Q], b: Q, kind: str) -> bool:
        """Whether a single row of the region rules out ``a . x  kind  b``."""
        if kind == "=":
            return self._opposed(a, b, "<=") or self._opposed(tuple(-v for v in a), -b, "<=")
        found = _direction(a)
        if found is None:
            return b < 0 or (b == 0 and kind == "<")
        _, opposite, scale = found
        other = self.upper.get(opposite)
        if other is None:
            return False
        least = -other  # (a / scale) . x >= least on the region
        bound = b / scale
        return bound < least or (bound == least and kind == "<")


def _narrow(lo: list[End], hi: list[End], a: Sequence[Q], b: Q, kind: str) -> None:
    """Tighten the box by ``a . x  kind  b`` when it bears on one coordinate."""
    j = _axis(a)
    if j is None:
        return
    bound: End = (b / a[j], kind == "<")
    if kind == "=" or a[j] > 0:
        hi[j] = _tighter(hi[j], bound, upper=True)
    if kind == "=" or a[j] < 0:
        lo[j] = _tighter(lo[j], bound, upper=False)


def _empty(low: End, high: End) -> bool:
    if low is None or high is None:
        return False
    return low[0] > high[0] or (low[0] == high[0] and (low[1] or high[1]))


def _least(lo: list[End], hi: list[End], a: Sequence[Q]) -> End:
    """The infimum of ``a . x`` over the box and whether it is not reached (None: -inf)."""
    total, strict = ZERO, False
    for c, low, high in zip(a, lo, hi, strict=True):
        if not c:
            continue
        end = low if c > 0 else high
        if end is None:
            return None
        total += c * end[0]
        strict = strict or end[1]
    return total, strict


def _past(lo: list[End], hi: list[End], a: Sequence[Q], b: Q, kind: str) -> bool:
    """Whether no point of the box meets ``a . x  kind  b``."""
    if kind == "=":
        return _past(lo, hi, a, b, "<=") or _past(lo, hi, tuple(-v for v in a), -b, "<=")
    least = _least(lo, hi, a)
    if least is None:
        return False
    value, strict = least
    return value > b or (value == b and (strict or kind == "<"))
