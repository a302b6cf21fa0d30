"""Exact intervals and unions of intervals on the real line, and simple rationals.

Everything here is exact: endpoints are ``Fraction`` (or ``float`` when the
caller's numbers are floats; then comparisons are float comparisons). ``None``
stands for -inf as a lower end and +inf as an upper end.

``simplest_in`` picks the "simplest" rational of an interval (0 if inside, else
the integer of smallest magnitude, else the fraction with the smallest
denominator): it is how witnesses are chosen, so feedback says "at x = -1"
rather than "at x = -0.7316".
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

Num = Fraction | float


def as_num(value: object) -> Num:
    """``value`` as a Fraction (ints and rationals, sympy's included) or a float.

    Raises ``TypeError`` for anything else (arrays, PL functions, strings...).
    """
    if isinstance(value, Fraction):
        return value
    if isinstance(value, float):
        return value
    if isinstance(value, numbers.Rational):  # int, bool, numpy ints, sympy Rational
        return Fraction(int(value.numerator), int(value.denominator))
    if isinstance(value, numbers.Real):  # numpy floats, sympy Float
        return float(value)
    raise TypeError(f"not a real number: {type(value).__name__}")


def abs_num(value: Num) -> Num:
    """|value|, typed as a number."""
    return -value if value < 0 else value


def exact(value: Num) -> Fraction:
    """A float or Fraction as the exact Fraction of the same value."""
    return value if isinstance(value, Fraction) else Fraction(value)


def simplicity_key(value: Num) -> tuple[int, int, bool]:
    """Order for "simplest": small denominator, then small magnitude, positive first."""
    q = exact(value)
    return (q.denominator, abs(q.numerator), q < 0)


def fmt_num(value: object) -> str:
    """A number for feedback: ``3``, ``-1/2``, ``1e-09``, ``1000000``."""
    if isinstance(value, Fraction):
        return str(value.numerator) if value.denominator == 1 else str(value)
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return format(value, ".12g")
    return str(value)


def _simplest_open_positive(lo: Fraction, hi: Fraction | None) -> Fraction:
    """The simplest rational in the open interval (lo, hi), 0 <= lo < hi."""
    n = math.floor(lo) + 1
    if hi is None or n < hi:
        return Fraction(n)
    q = math.floor(lo)  # lo and hi share the integer part (hi <= q + 1)
    upper = None if lo == q else 1 / (lo - q)
    return q + 1 / _simplest_open_positive(1 / (hi - q), upper)


@dataclass(frozen=True)
class Interval:
    """An interval of the real line; ``None`` ends are infinite (and open).

    Build with the class methods (``closed``, ``open``, ``point``, ``all``) or
    the constructor; an empty interval is refused (``ValueError``).
    """

    lo: Num | None = None
    hi: Num | None = None
    lo_closed: bool = False
    hi_closed: bool = False

    def __post_init__(self) -> None:
        for name in ("lo", "hi"):
            end = getattr(self, name)
            if end is not None and not isinstance(end, (Fraction, float)):
                object.__setattr__(self, name, as_num(end))
        if self.lo is None and self.lo_closed:
            object.__setattr__(self, "lo_closed", False)
        if self.hi is None and self.hi_closed:
            object.__setattr__(self, "hi_closed", False)
        if _empty(self.lo, self.hi, self.lo_closed, self.hi_closed):
            raise ValueError(f"empty interval {self}")

    @classmethod
    def closed(cls, lo: Num | None, hi: Num | None) -> Interval:
        return cls(lo, hi, True, True)

    @classmethod
    def open(cls, lo: Num | None, hi: Num | None) -> Interval:
        return cls(lo, hi, False, False)

    @classmethod
    def point(cls, x: Num) -> Interval:
        return cls(x, x, True, True)

    @classmethod
    def all(cls) -> Interval:
        return cls(None, None)

    @classmethod
    def make(cls, lo: Num | None, hi: Num | None, lo_closed: bool, hi_closed: bool) -> Interval | None:
        """Like the constructor but returns None for an empty interval."""
        if _empty(lo, hi, lo_closed, hi_closed):
            return None
        return cls(lo, hi, lo_closed, hi_closed)

    def __contains__(self, x: object) -> bool:
        v = as_num(x)
        below = self.lo is not None and (v < self.lo or (v == self.lo and not self.lo_closed))
        above = self.hi is not None and (v > self.hi or (v == self.hi and not self.hi_closed))
        return not (below or above)

    def contains(self, x: object) -> bool:
        return x in self

    @property
    def bounded(self) -> bool:
        return self.lo is not None and self.hi is not None

    def intersect(self, other: Interval) -> Interval | None:
        lo, lo_c = _max_lo(self.lo, self.lo_closed, other.lo, other.lo_closed)
        hi, hi_c = _min_hi(self.hi, self.hi_closed, other.hi, other.hi_closed)
        return Interval.make(lo, hi, lo_c, hi_c)

    def simplest(self) -> Fraction:
        """The simplest rational in the interval (see :func:`simplest_in`)."""
        return simplest_in(self)

    def interior_point(self) -> Num:
        """A point strictly inside (the point itself for a degenerate interval)."""
        if self.lo is None and self.hi is None:
            return Fraction(0)
        if self.lo is None:
            assert self.hi is not None
            return self.hi - 1
        if self.hi is None:
            return self.lo + 1
        return (self.lo + self.hi) / 2

    def __str__(self) -> str:
        if self.lo is not None and self.lo == self.hi:
            return "{" + fmt_num(self.lo) + "}"
        left = "[" if self.lo_closed else "("
        right = "]" if self.hi_closed else ")"
        lo = "-inf" if self.lo is None else fmt_num(self.lo)
        hi = "inf" if self.hi is None else fmt_num(self.hi)
        return f"{left}{lo}, {hi}{right}"


def _empty(lo: Num | None, hi: Num | None, lo_closed: bool, hi_closed: bool) -> bool:
    if lo is None or hi is None:
        return False
    return lo > hi or (lo == hi and not (lo_closed and hi_closed))


def _max_lo(a: Num | None, ac: bool, b: Num | None, bc: bool) -> tuple[Num | None, bool]:
    if a is None:
        return b, bc
    if b is None or a > b:
        return a, ac
    if b > a:
        return b, bc
    return a, ac and bc


def _min_hi(a: Num | None, ac: bool, b: Num | None, bc: bool) -> tuple[Num | None, bool]:
    if a is None:
        return b, bc
    if b is None or a < b:
        return a, ac
    if b < a:
        return b, bc
    return a, ac and bc


def simplest_in(iv: Interval) -> Fraction:
    """The simplest rational in ``iv``: 0 if it is inside, else the integer of
    least magnitude, else the fraction with the least denominator (ties: the
    smaller magnitude, then positive). Exact; float ends are read exactly."""
    lo = None if iv.lo is None else exact(iv.lo)
    hi = None if iv.hi is None else exact(iv.hi)
    if Fraction(0) in iv:
        return Fraction(0)
    if hi is not None and hi <= 0:
        mirrored = Interval(-hi, None if lo is None else -lo, iv.hi_closed, iv.lo_closed)
        return -simplest_in(mirrored)
    assert lo is not None and lo >= 0
    if lo == hi:
        return lo
    candidates = [_simplest_open_positive(lo, hi)]
    if iv.lo_closed:
        candidates.append(lo)
    if iv.hi_closed and hi is not None:
        candidates.append(hi)
    return min(candidates, key=simplicity_key)


def _lo_key(iv: Interval) -> tuple[int, Num, int]:
    if iv.lo is None:
        return (0, 0, 0)
    return (1, iv.lo, 0 if iv.lo_closed else 1)


def _touches(left: Interval, right: Interval) -> bool:
    """True when ``right`` (starting no earlier) overlaps or abuts ``left``."""
    if left.hi is None or right.lo is None:
        return True
    if right.lo < left.hi:
        return True
    return right.lo == left.hi and (left.hi_closed or right.lo_closed)


def _hull_hi(a: Interval, b: Interval) -> tuple[Num | None, bool]:
    if a.hi is None or b.hi is None:
        return None, False
    if a.hi > b.hi:
        return a.hi, a.hi_closed
    if b.hi > a.hi:
        return b.hi, b.hi_closed
    return a.hi, a.hi_closed or b.hi_closed


class Region:
    """A finite union of disjoint intervals, kept sorted and merged (exact).

    The truth set of a condition on x: ``-2 <= x <= 0`` is ``Region([[-2, 0]])``;
    ``&``, ``|`` and ``~`` are intersection, union and complement.
    """

    __slots__ = ("intervals",)

    def __init__(self, intervals: Iterable[Interval] = ()):
        self.intervals: tuple[Interval, ...] = _normalise(intervals)

    @classmethod
    def all(cls) -> Region:
        return cls([Interval.all()])

    @classmethod
    def empty(cls) -> Region:
        return cls()

    @classmethod
    def of(cls, value: object) -> Region:
        """A Region from a Region, an Interval, a bool or an iterable of Intervals."""
        if isinstance(value, Region):
            return value
        if isinstance(value, Interval):
            return cls([value])
        if isinstance(value, (bool, np.bool_)):
            return cls.all() if bool(value) else cls.empty()
        if isinstance(value, Iterable):
            return cls(list(value))
        raise TypeError(f"not a condition on x: {type(value).__name__}")

    def __bool__(self) -> bool:
        return bool(self.intervals)

    def is_empty(self) -> bool:
        return not self.intervals

    def is_all(self) -> bool:
        return len(self.intervals) == 1 and self.intervals[0] == Interval.all()

    def __iter__(self) -> Iterator[Interval]:
        return iter(self.intervals)

    def __contains__(self, x: object) -> bool:
        return any(x in iv for iv in self.intervals)

    def __and__(self, other: object) -> Region:
        o = Region.of(other)
        parts = []
        for a in self.intervals:
            for b in o.intervals:
                c = a.intersect(b)
                if c is not None:
                    parts.append(c)
        return Region(parts)

    __rand__ = __and__

    def __or__(self, other: object) -> Region:
        return Region(self.intervals + Region.of(other).intervals)

    __ror__ = __or__

    def __invert__(self) -> Region:
        gaps: list[Interval] = []
        lo: Num | None = None  # start of the current gap (None: -inf)
        lo_closed = False
        for iv in self.intervals:
            if iv.lo is not None:
                gap = Interval.make(lo, iv.lo, lo_closed, not iv.lo_closed)
                if gap is not None:
                    gaps.append(gap)
            if iv.hi is None:
                return Region(gaps)
            lo, lo_closed = iv.hi, not iv.hi_closed
        gaps.append(Interval(lo, None, lo_closed, False))
        return Region(gaps)

    def __sub__(self, other: object) -> Region:
        return self & ~Region.of(other)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, (Region, Interval)):
            return NotImplemented
        return self.intervals == Region.of(other).intervals

    def __hash__(self) -> int:
        return hash(self.intervals)

    def endpoints(self) -> list[Num]:
        """The finite ends of all intervals, sorted, without repeats."""
        pts: set[Num] = set()
        for iv in self.intervals:
            pts.update(e for e in (iv.lo, iv.hi) if e is not None)
        return sorted(pts)

    def simplest(self) -> Fraction | None:
        """The simplest rational in the region, None when it is empty."""
        if not self.intervals:
            return None
        return min((simplest_in(iv) for iv in self.intervals), key=simplicity_key)

    def __repr__(self) -> str:
        if not self.intervals:
            return "Region(empty)"
        return "Region(" + " u ".join(str(iv) for iv in self.intervals) + ")"


def _normalise(intervals: Iterable[Interval]) -> tuple[Interval, ...]:
    items = sorted(intervals, key=_lo_key)
    out: list[Interval] = []
    for iv in items:
        if out and _touches(out[-1], iv):
            last = out[-1]
            hi, hi_c = _hull_hi(last, iv)
            out[-1] = Interval(last.lo, hi, last.lo_closed, hi_c)
        else:
            out.append(iv)
    return tuple(out)


def as_interval(domain: object) -> Interval:
    """A domain given as None/"all" (all reals), an Interval, or a pair (a, b) = [a, b]."""
    if domain is None or domain == "all":
        return Interval.all()
    if isinstance(domain, Interval):
        return domain
    if isinstance(domain, (tuple, list)) and len(domain) == 2:
        lo = None if domain[0] is None else as_num(domain[0])
        hi = None if domain[1] is None else as_num(domain[1])
        return Interval(lo, hi, lo is not None, hi is not None)
    raise TypeError(f"not a domain: {domain!r}")
