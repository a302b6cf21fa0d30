"""The exact simplex (grader.exact.lp) that the region walk and the complexity checker prove
with: its optimum, its point and its "infeasible" agree with a floating-point solver's on
random programs, and its point meets every row exactly."""

from __future__ import annotations

import random
from fractions import Fraction
from typing import Any

import pytest
from scipy.optimize import linprog

from grader.exact.lp import Row, Unbounded, maximize_with_point


def _program(rng: random.Random) -> tuple[list[Fraction], list[Row]]:
    width = rng.randint(1, 6)
    rows = []
    for _ in range(rng.randint(1, 8)):
        coefficients = tuple(Fraction(rng.randint(-4, 4), rng.randint(1, 3)) for _ in range(width))
        rows.append(Row(coefficients, rng.choice(["<=", "<=", ">=", "="]), Fraction(rng.randint(-6, 9))))
    objective = [Fraction(rng.randint(-3, 3)) for _ in range(width)]
    return objective, rows


def _highs(objective: list[Fraction], rows: list[Row], cap: float | None = None) -> Any:
    """HiGHS's answer to maximising ``objective`` (zero: is it feasible?), x >= 0, x <= cap."""
    upper = [[float(c) for c in r.coefficients] for r in rows if r.sense == "<="]
    upper += [[-float(c) for c in r.coefficients] for r in rows if r.sense == ">="]
    upper_rhs = [float(r.rhs) for r in rows if r.sense == "<="]
    upper_rhs += [-float(r.rhs) for r in rows if r.sense == ">="]
    equal = [[float(c) for c in r.coefficients] for r in rows if r.sense == "="]
    equal_rhs = [float(r.rhs) for r in rows if r.sense == "="]
    return linprog(
        [-float(c) for c in objective],
        A_ub=upper or None,
        b_ub=upper_rhs or None,
        A_eq=equal or None,
        b_eq=equal_rhs or None,
        bounds=[(0, cap)] * len(objective),
        method="highs",
    )


@pytest.mark.parametrize("seed", range(300))
def test_the_exact_simplex_agrees_with_a_floating_point_solver(seed: int) -> None:
    objective, rows = _program(random.Random(seed))
    feasible = _highs([Fraction(0)] * len(objective), rows).status == 0
    try:
        found = maximize_with_point(objective, rows)
    except Unbounded:  # feasible, and the optimum grows with a box around the origin
        assert feasible
        assert -_highs(objective, rows, cap=1e6).fun > 1e3
        return
    if found is None:
        assert not feasible
        return
    value, point = found
    assert abs(float(value) + _highs(objective, rows).fun) < 1e-6
    assert all(x >= 0 for x in point)
    assert sum(c * x for c, x in zip(objective, point, strict=True)) == value
    for row in rows:
        lhs = sum(c * x for c, x in zip(row.coefficients, point, strict=True))
        assert {"<=": lhs <= row.rhs, ">=": lhs >= row.rhs, "=": lhs == row.rhs}[row.sense]


@pytest.mark.parametrize("width", [1, 2])
def test_rows_that_read_0_eq_0_are_the_program_of_no_rows(width: int) -> None:
    nothing = Row((Fraction(0),) * width, "=", Fraction(0))
    assert maximize_with_point([Fraction(-1)] * width, [nothing]) == (0, [0] * width)
    assert maximize_with_point([Fraction(-1)] * width, [nothing, nothing]) == (0, [0] * width)
    with pytest.raises(Unbounded):
        maximize_with_point([Fraction(1)] * width, [nothing])
    cap = Row((Fraction(1),) * width, "<=", Fraction(3))  # beside a real row, the rest as before
    assert maximize_with_point([Fraction(1)] + [Fraction(0)] * (width - 1), [nothing, cap]) == (
        3,
        [3] + [0] * (width - 1),
    )
