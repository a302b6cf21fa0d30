"""A small exact linear-programming solver over the rationals (two-phase simplex, Bland's rule).

Used by :mod:`grader.types.complexity.dominance` to decide whether one term lies in the
down-closure of the convex hull of others. Those programs are tiny (a few
dozen variables, a dozen rows) and their answers sit exactly on boundaries
(``n d`` is on the segment between ``n^2`` and ``d^2``), so exact arithmetic is
used instead of a floating-point solver with tolerances.

All variables are non-negative. Bland's rule guarantees termination.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Literal

from flint import fmpq

Sense = Literal["<=", ">=", "="]
ZERO = Fraction(0)


@dataclass(frozen=True)
class Row:
    """One constraint ``coefficients . x  (sense)  rhs``."""

    coefficients: tuple[Fraction, ...]
    sense: Sense
    rhs: Fraction


class Unbounded(Exception):
    """The objective can grow without limit."""


def maximize(objective: Sequence[Fraction], rows: Sequence[Row]) -> Fraction | None:
    """The maximum of ``objective . x`` over ``x >= 0`` meeting ``rows``; None when infeasible.

    Raises :class:`Unbounded` when the maximum is infinite.
    """
    found = maximize_with_point(objective, rows)
    return None if found is None else found[0]


def maximize_with_point(
    objective: Sequence[Fraction], rows: Sequence[Row]
) -> tuple[Fraction, list[Fraction]] | None:
    """The maximum of ``objective . x`` over ``x >= 0`` meeting ``rows`` and a point where it
    is reached; None when infeasible. Raises :class:`Unbounded` when the maximum is infinite."""
    found = maximize_q(
        [_q(c) for c in objective],
        [([_q(c) for c in row.coefficients], row.sense, _q(row.rhs)) for row in rows],
    )
    if found is None:
        return None
    value, point = found
    return _fraction(value), [_fraction(v) for v in point]


def maximize_q(objective: Sequence[Q], rows: Sequence[QRow]) -> tuple[Q, list[Q]] | None:
    """:func:`maximize_with_point` in FLINT's rationals (``fmpq``), for callers that compute in
    them already: each row is (coefficients, sense, rhs)."""
    width = len(objective)
    if not rows:
        if any(c > 0 for c in objective):
            raise Unbounded
        return Q_ZERO, [Q_ZERO] * width
    tableau, basis, artificial = _standard_form(width, rows)
    columns = len(tableau[0]) - 1
    if artificial:
        phase1 = [-Q_ONE if j in artificial else Q_ZERO for j in range(columns)]
        if _simplex(tableau, basis, phase1, allowed=set(range(columns))) < 0:
            return None
        _drive_out(tableau, basis, artificial)
        if not tableau:  # every row read 0 = 0: the program of no rows
            return maximize_q(objective, [])
    cost = [*objective, *[Q_ZERO] * (columns - width)]
    value = _simplex(tableau, basis, cost, allowed=set(range(columns)) - artificial)
    point = [Q_ZERO] * width
    for i, b in enumerate(basis):
        if b < width:
            point[b] = tableau[i][-1]
    return value, point


# The simplex computes in FLINT's rationals (exact, as Fraction, and about eight times faster);
# what goes in and comes out is Fraction.
Q = Any  # flint.fmpq, which has no type hints
Q_ZERO = fmpq(0)
Q_ONE = fmpq(1)
QRow = tuple[Sequence[Q], Sense, Q]


def _q(value: Fraction) -> Q:
    return fmpq(value.numerator, value.denominator)


def _fraction(value: Q) -> Fraction:
    return Fraction(int(value.p), int(value.q))


def _standard_form(width: int, rows: Sequence[QRow]) -> tuple[list[list[Q]], list[int], set[int]]:
    """Equalities with slack, surplus and artificial columns; rhs made non-negative."""
    normalized: list[tuple[list[Q], Sense, Q]] = []
    for row_coefficients, sense, rhs in rows:
        coefficients = list(row_coefficients)
        if rhs < 0:
            coefficients = [-c for c in coefficients]
            rhs = -rhs
            sense = {"<=": ">=", ">=": "<=", "=": "="}[sense]  # type: ignore[assignment]
        normalized.append((coefficients, sense, rhs))
    extra = sum(2 if sense == ">=" else 1 for _, sense, _ in normalized)
    tableau: list[list[Q]] = []
    basis: list[int] = []
    artificial: set[int] = set()
    next_column = width
    for coefficients, sense, rhs in normalized:
        line = coefficients + [Q_ZERO] * extra + [rhs]
        if sense == "<=":
            line[next_column] = Q_ONE
            basis.append(next_column)
            next_column += 1
        else:
            if sense == ">=":
                line[next_column] = -Q_ONE
                next_column += 1
            line[next_column] = Q_ONE
            basis.append(next_column)
            artificial.add(next_column)
            next_column += 1
        tableau.append(line)
    return tableau, basis, artificial


def _simplex(tableau: list[list[Q]], basis: list[int], cost: list[Q], allowed: set[int]) -> Q:
    """Maximize ``cost . x`` from the current basic feasible solution, in place.

    The reduced costs are kept up to date by each pivot (as the tableau's rows are) rather
    than computed afresh for each choice: the same values, so the same pivots."""
    columns = len(tableau[0]) - 1
    reduced = list(cost[:columns])
    for i, b in enumerate(basis):
        if cost[b] != 0:
            weight, line = cost[b], tableau[i]
            reduced = [r - weight * v if v else r for r, v in zip(reduced, line[:columns], strict=True)]
    order = sorted(allowed)
    while True:
        in_basis = set(basis)
        # Bland: the lowest index with a positive reduced cost
        entering = next((j for j in order if reduced[j] > 0 and j not in in_basis), None)
        if entering is None:
            return sum((cost[b] * tableau[i][-1] for i, b in enumerate(basis)), Q_ZERO)
        leaving = _leaving_row(tableau, basis, entering)
        if leaving is None:
            raise Unbounded
        _pivot(tableau, basis, leaving, entering)
        weight, line = reduced[entering], tableau[leaving]
        reduced = [r - weight * v if v else r for r, v in zip(reduced, line[:columns], strict=True)]


def _leaving_row(tableau: list[list[Q]], basis: list[int], column: int) -> int | None:
    best: tuple[Q, int, int] | None = None
    for i, line in enumerate(tableau):
        if line[column] > 0:
            key = (line[-1] / line[column], basis[i], i)
            if best is None or key < best:
                best = key
    return None if best is None else best[2]


def _pivot(tableau: list[list[Q]], basis: list[int], row: int, column: int) -> None:
    pivot_line = tableau[row]
    factor = pivot_line[column]
    tableau[row] = pivot_line = [value / factor for value in pivot_line]
    for i, line in enumerate(tableau):
        if i != row and line[column] != 0:
            scale = line[column]
            tableau[i] = [a - scale * b if b else a for a, b in zip(line, pivot_line, strict=True)]
    basis[row] = column


def _drive_out(tableau: list[list[Q]], basis: list[int], artificial: set[int]) -> None:
    """After phase 1, pivot zero-valued artificials out of the basis (or drop redundant rows)."""
    i = 0
    while i < len(tableau):
        if basis[i] not in artificial:
            i += 1
            continue
        column = next((j for j, v in enumerate(tableau[i][:-1]) if v != 0 and j not in artificial), None)
        if column is None:
            del tableau[i]
            del basis[i]
            continue
        _pivot(tableau, basis, i, column)
        i += 1
