"""A certified enclosure of max |target(x) - (a x + c)| over the pieces of a model.

Branch and bound with ball arithmetic (:mod:`grader.mathlang.enclosures`): every box
``[l, r]`` of a piece gets an upper bound of ``|g|`` (``g = target - piece``)
from the naive enclosure intersected with the mean-value form ``g(m) + g'(X)(X - m)``
(tight near a maximum, where ``g' = 0``), and a lower bound from ``|g|`` at its
midpoint. The box with the largest upper bound is split until the enclosure of
the maximum is narrow (or the box or time budget runs out). The result is a
proof either way: ``max <= upper`` everywhere, and ``lower`` is reached at a
stated point.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass
from fractions import Fraction

import flint
import sympy

from grader.clock import past
from grader.mathlang.enclosures import NoEnclosure, arb_of, enclose, precision

MAX_BOXES = 20_000
WORKING_BITS = 128
ABSOLUTE_TOLERANCE = Fraction(1, 10**12)
RELATIVE_TOLERANCE = Fraction(1, 10**9)


@dataclass(frozen=True)
class Piece:
    left: Fraction
    right: Fraction
    slope: Fraction
    offset: Fraction


@dataclass(frozen=True)
class Enclosure:
    """``lower <= max |target - model| <= upper``; ``lower`` is reached at ``x``."""

    lower: Fraction
    upper: Fraction | None  # None: unbounded as far as the boxes could tell
    x: Fraction
    target_value: Fraction  # the midpoint of the target's ball at x
    boxes: int
    settled: bool  # narrowed to the tolerance


class _Bounder:
    def __init__(self, target: sympy.Expr, x: sympy.Symbol):
        self.x = x
        self.target = target
        self.derivative: sympy.Expr | None = sympy.diff(target, x)

    def values(
        self, piece: Piece, left: Fraction, right: Fraction
    ) -> tuple[Fraction | None, Fraction, Fraction]:
        """(upper bound of |g| on [left, right] or None, |g| at the midpoint (a lower bound), midpoint)."""
        box = flint.arb.union(arb_of(left), arb_of(right))
        middle = (left + right) / 2
        at_middle = self.g(piece, arb_of(middle))
        naive = self.g(piece, box)
        ranged = naive
        if self.derivative is not None:
            try:
                slope = enclose(self.derivative, {self.x: box}) - arb_of(piece.slope)
                mean_value = at_middle + slope * (box - arb_of(middle))
                if mean_value.is_finite():
                    ranged = naive.intersection(mean_value) if naive.is_finite() else mean_value
            except NoEnclosure:
                self.derivative = None
            except ValueError:  # the two balls do not overlap: rounding; keep the naive one
                ranged = naive
        upper = _abs_upper(ranged)
        return upper, _abs_lower(at_middle), middle

    def g(self, piece: Piece, ball: flint.arb) -> flint.arb:
        return enclose(self.target, {self.x: ball}) - (arb_of(piece.slope) * ball + arb_of(piece.offset))


def _point(ball: flint.arb) -> Fraction:
    """The midpoint of a ball, exactly (it is a dyadic rational)."""
    mantissa, exponent = ball.mid().man_exp()
    return Fraction(int(mantissa)) * Fraction(2) ** int(exponent)


def _abs_upper(ball: flint.arb) -> Fraction | None:
    if not ball.is_finite():
        return None
    top = ball.abs_upper()
    return _point(top) + _point(top.rad())


def _abs_lower(ball: flint.arb) -> Fraction:
    if not ball.is_finite():
        return Fraction(0)
    bottom = ball.abs_lower()
    return max(_point(bottom) - _point(bottom.rad()), Fraction(0))


def bound_max_error(
    target: sympy.Expr,
    x: sympy.Symbol,
    pieces: list[Piece],
    deadline: float | None = None,
) -> Enclosure:
    """An enclosure of max over the pieces of |target - (slope x + offset)|; raises
    :class:`grader.mathlang.enclosures.NoEnclosure` when the target cannot be evaluated on balls."""
    bounder = _Bounder(target, x)
    with precision(WORKING_BITS):
        return _search(bounder, pieces, deadline)


def _search(bounder: _Bounder, pieces: list[Piece], deadline: float | None) -> Enclosure:
    heap: list[tuple[float, int, Fraction | None, Piece, Fraction, Fraction]] = []
    best, best_x, best_piece = Fraction(-1), Fraction(0), pieces[0]
    counter = 0

    def push(piece: Piece, left: Fraction, right: Fraction) -> None:
        nonlocal best, best_x, best_piece, counter
        upper, lower, middle = bounder.values(piece, left, right)
        for point, value in ((middle, lower), *_ends(bounder, piece, left, right, counter)):
            if value > best:
                best, best_x, best_piece = value, point, piece
        counter += 1
        key = -float(upper) if upper is not None else -float("inf")
        heapq.heappush(heap, (key, counter, upper, piece, left, right))

    for piece in pieces:
        push(piece, piece.left, piece.right)
    settled = False
    while heap:
        _, _, upper, piece, left, right = heap[0]
        if upper is not None and upper - best <= ABSOLUTE_TOLERANCE + RELATIVE_TOLERANCE * upper:
            settled = True
            break
        if counter >= MAX_BOXES or past(deadline):
            break
        heapq.heappop(heap)
        middle = (left + right) / 2
        push(piece, left, middle)
        push(piece, middle, right)
    top = heap[0][2] if heap else best
    target_ball = enclose(bounder.target, {bounder.x: arb_of(best_x)})
    return Enclosure(
        lower=max(best, Fraction(0)),
        upper=None if top is None else max(top, best),
        x=best_x,
        target_value=_point(target_ball),
        boxes=counter,
        settled=settled or not heap,
    )


def _ends(
    bounder: _Bounder, piece: Piece, left: Fraction, right: Fraction, counter: int
) -> list[tuple[Fraction, Fraction]]:
    """|g| at a piece's own ends (only for its first box), where maxima of convex errors sit."""
    if counter and (left, right) != (piece.left, piece.right):
        return []
    return [(end, _abs_lower(bounder.g(piece, arb_of(end)))) for end in (left, right)]
