"""Exact equality over R, symbolic weights and non-PL targets, on the seed answers.

Seed 000: the linear function m x + b, the identity ("impossible" is wrong), x^2 on
all reals (impossible), the piecewise target 3x+6 / -3x+6 with three hidden units.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from fractions import Fraction as F
from typing import Any

import numpy as np
import sympy

from grader.networks import (
    PL,
    DifferingPoint,
    compare,
    compare_expr,
    decide_for_all,
    relu,
    symbol_draws,
    where,
)

x = PL.identity()
X = sympy.Symbol("x")


def arr(values: Sequence[Any]) -> np.ndarray:
    return np.array([v if isinstance(v, (float, PL)) else F(v) for v in values], dtype=object)


def net(w0: Sequence[object], b0: Sequence[object] | None, w1: Sequence[object], b1: object = 0) -> PL:
    """w1 . relu(w0 * x + b0) + b1, evaluated the way the evaluator will (numpy objects)."""
    bias = arr(b0) if b0 is not None else arr([0] * len(w0))
    out = arr(w1) @ relu(arr(w0) * x + bias) + b1
    assert isinstance(out, PL)
    return out


TARGET = PL.from_cases(
    [
        (3 * x + 6, where("<=", -2, x) & where("<=", x, 0)),
        (-3 * x + 6, where("<", 0, x) & where("<", x, 2)),
        (0, True),
    ]
)


# ---- the piecewise question -------------------------------------------------


def test_piecewise_reference_answer() -> None:
    assert compare(net([1, 1, 1], [2, 0, -2], [3, -6, 3]), TARGET) is None


def test_piecewise_mirrored_permuted_scaled_answers() -> None:
    assert compare(net([-1, -1, -1], [2, 0, -2], [3, -6, 3]), TARGET) is None
    assert compare(net([-1, -1, -1], [-2, 0, 2], [3, -6, 3]), TARGET) is None
    assert compare(net([1, 1, 1], [0, 2, -2], [-6, 3, 3]), TARGET) is None
    assert compare(net([2, 2, 2], [4, 0, -4], [F(3, 2), -3, F(3, 2)]), TARGET) is None
    assert compare(net([1, -1, 1], [2, 0, -2], [3, -6, 3]), TARGET) is not None


def test_piecewise_missing_last_unit() -> None:
    diff = compare(net([1, 1, 1], [2, 0, -2], [3, -6, 0]), TARGET)
    assert diff == DifferingPoint(F(3), F(-3), F(0))
    assert diff is not None and diff.describe() == "at x = 3 the network gives -3, the target 0"


def test_trap_neuron_far_away_is_caught() -> None:
    tiny = net([1, 1, 1, 1], [2, 0, -2, -(10**6)], [3, -6, 3, F(1, 10**9)])
    diff = compare(tiny, TARGET)
    assert diff is not None
    assert diff.x == 10**6 + 1
    assert diff.model_value == F(1, 10**9) and diff.target_value == 0


def test_trap_neuron_with_float_weight() -> None:
    tiny = net([1, 1, 1, 1], [2, 0, -2, -(10**6)], [3, -6, 3, 1e-9])
    diff = compare(tiny, TARGET)
    assert diff is not None and diff.x == 10**6 + 1
    assert abs(float(diff.model_value) - 1e-9) < 1e-12  # type: ignore[arg-type]


def test_trap_on_the_left_and_a_removable_point() -> None:
    left = net([1, 1, 1, -1], [2, 0, -2, -(10**6)], [3, -6, 3, F(1, 10**9)])
    diff = compare(left, TARGET)
    assert diff is not None and diff.x == -(10**6) - 1
    spike = net([1, 1, 1], [2, 0, -2], [3, -6, 3]) + (x.heaviside(1) - x.heaviside(0))
    diff = compare(spike, TARGET)
    assert diff is not None and diff.x == 0 and diff.model_value == 7


def test_compare_on_an_interval() -> None:
    model = net([1, 1], [2, 0], [3, -6])  # equals TARGET on (-inf, 2]
    assert compare(model, TARGET, (-5, 2)) is None
    diff = compare(model, TARGET)
    assert diff is not None and diff.x == 3
    assert compare(model, TARGET, (F(5, 2), F(14, 5))) == DifferingPoint(F(5, 2), F(-3, 2), F(0))
    assert compare(model, TARGET, (F(5, 2), 3)) == DifferingPoint(F(3), F(-3), F(0))


def test_tolerance_for_float_weights() -> None:
    model = net([1, 1, 1], [2, 0, -2], [3 + 1e-13, -6, 3])
    assert compare(model, TARGET) is not None
    assert compare(model, TARGET, (-10, 10), atol=1e-9) is None
    assert compare(model, TARGET, atol=1e-9) is not None  # the slope error grows without bound
    far = net([1, 1, 1], [2, 0, -2], [3 + 1e-13, -6, 3 - 1e-13])
    assert compare(far, TARGET, atol=1e-9) is None
    slope = 1e-12 * x + 5 * x.relu()
    assert compare(slope, 5 * x.relu(), atol=1e-9) is not None  # differs for x < 0 far out
    assert compare(slope, 5 * x.relu(), atol=1e-9, rtol=1e-9) is not None  # target 0 there
    assert compare(5 * x + 1e-12 * x, 5 * x, atol=1e-9, rtol=1e-9) is None  # relative error


# ---- the linear question (symbolic weights m, b) ----------------------------


def linear(w0: Any, b0: Any, w1: Any) -> Callable[[dict[str, F]], tuple[PL, PL]]:
    def build(s: dict[str, F]) -> tuple[PL, PL]:
        m, b = s["m"], s["b"]
        env = {"m": m, "b": b, "-m": -m, "-b": -b}
        pick = lambda vs: [env.get(v, v) if isinstance(v, str) else v for v in vs]  # noqa: E731
        return net(pick(w0), pick(b0), pick(w1)), m * x + b

    return build


def test_linear_correct_answer_holds_for_all_draws() -> None:
    result = decide_for_all(linear(["m", "-m"], ["b", "-b"], [1, -1]), ["m", "b"])
    assert result.holds and result.witness is None
    assert result.draws >= 30
    assert "exact piecewise-linear comparison" in result.method and "(m, b)" in result.method


def test_linear_student_answer_relu_only_fails_left_of_root() -> None:
    result = decide_for_all(linear(["m", 0], ["b", 0], [1, 0]), ["m", "b"])
    assert not result.holds and result.witness is not None
    w = result.witness
    m, b = w.assignment["m"], w.assignment["b"]
    assert m * w.x + b < 0  # type: ignore[operator]  # fails exactly where m x + b < 0
    assert w.model_value == 0
    assert result.describe().startswith("at x = -1 (m = 1, b = 0) the network gives 0, the target -1")


def test_linear_student_answer_m_in_output_fails() -> None:
    result = decide_for_all(linear([1, 1], [0, 0], ["m", 0]), ["m", "b"])
    assert not result.holds and result.witness is not None
    assert result.witness.assignment == {"m": 0, "b": 1}


def test_symbol_draws_cover_special_values() -> None:
    draws = symbol_draws(["m", "b"], seed=3)
    assert len(draws) >= 40
    values = {d["m"] for d in draws}
    assert {F(0), F(1), F(-1), F(10**6), F(-(10**6)), F(1, 10**6)} <= values
    assert draws == symbol_draws(["m", "b"], seed=3)
    assert len(symbol_draws(["a"])) >= 30 and len(symbol_draws(["a", "b", "c"])) >= 30


def test_decide_for_all_skips_inadmissible_draws() -> None:
    result = decide_for_all(lambda s: (x / s["m"], x * (1 / s["m"])), ["m"])
    assert result.holds and result.skipped == 1


# ---- identity with two units and no bias: possible --------------------------


def test_identity_is_possible_so_impossible_is_wrong() -> None:
    assert compare(net([1, -1], None, [1, -1]), x) is None
    diff = compare(net([1, 0], None, [1, 0]), x)
    assert diff is not None and diff.x == -1


# ---- x^2 on all reals: no PL equals it ---------------------------------------


def test_x_squared_on_reals_is_refuted_with_a_witness() -> None:
    for model in (net([1, -1], None, [1, -1]), net([1, 1, 1], [0, -1, -2], [1, 2, 2]), PL.constant(0)):
        decision = compare_expr(model, X**2, X)
        assert not decision.equal and decision.exact and decision.witness is not None
        w = decision.witness
        assert sympy.Rational(w.target_value) != sympy.Rational(w.model_value)
    interpolant = net([1, 1, 1], [0, -1, -2], [1, 2, 2])  # x^2 at 0, 1, 2, 3
    w1 = compare_expr(interpolant, X**2, X).witness
    assert w1 is not None and (w1.x, w1.model_value, w1.target_value) == (-1, 0, 1)
    w2 = compare_expr(interpolant, X**2, X, (0, 3)).witness
    assert w2 is not None and (w2.x, w2.model_value, w2.target_value) == (F(1, 2), F(1, 2), F(1, 4))


def test_compare_expr_with_pl_targets() -> None:
    model = net([1, 1, 1], [2, 0, -2], [3, -6, 3])
    target = sympy.Piecewise((3 * X + 6, (X >= -2) & (X <= 0)), (-3 * X + 6, (X > 0) & (X < 2)), (0, True))
    assert compare_expr(model, target, X).equal
    assert compare_expr(net([1, -1], None, [1, -1]), sympy.Abs(X), X).witness is not None
    assert compare_expr(x.relu(), sympy.Max(X, 0), X).equal
    assert compare_expr(x.relu(), (X + sympy.Abs(X)) / 2, X).equal


def test_compare_expr_nonlinear_equal_on_pieces_is_symbolic() -> None:
    target = sympy.sqrt(X**2)  # = |x| for real x; not converted to a PL by sympy
    decision = compare_expr(abs(x), target, X)
    assert decision.equal
