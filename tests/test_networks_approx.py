"""max_error: the largest |model - target| on a bounded interval (approx mode)."""

from __future__ import annotations

import math
from fractions import Fraction as F
from typing import Any

import sympy

from grader.networks import PL, max_error, one_hidden_layer

X = sympy.Symbol("x")
x = PL.identity()


def interpolant(n: int) -> PL:
    """The ReLU net that interpolates x^2 at k/n, k = 0..n: slope (2k+1)/n on [k/n, (k+1)/n]."""
    return one_hidden_layer([1] * n, [F(-k, n) for k in range(n)], [F(1, n)] + [F(2, n)] * (n - 1))


def test_interpolant_error_is_one_over_four_n_squared() -> None:
    for n in (1, 2, 3, 4, 5, 10):
        result = max_error(interpolant(n), X**2, (0, 1))
        assert result.exact
        assert result.error == sympy.Rational(1, 4 * n * n)
        assert result.x == F(1, 2 * n) or sympy.Rational(result.x) * 2 * n % 2 == 1  # a midpoint


def test_shifted_interpolant_halves_the_error_and_meets_epsilon() -> None:
    eps = F(1, 100)
    shifted = interpolant(4) - F(1, 128)
    result = max_error(shifted, X**2, (0, 1))
    assert result.error == sympy.Rational(1, 128)
    assert result.below(eps)
    assert not max_error(interpolant(4), X**2, (0, 1)).below(eps)  # 1/64 > 1/100


def test_misses_epsilon_by_a_little() -> None:
    five = max_error(interpolant(5), X**2, (0, 1))
    assert five.error == sympy.Rational(1, 100)
    assert not five.below(F(1, 100))  # strictly below is required
    assert five.below(F(1, 100) + F(1, 10**12))
    shifted = max_error(interpolant(4) - F(1, 128), X**2, (0, 1))
    assert not shifted.below(F(1, 128) - F(1, 10**9))


def test_describe_mentions_where() -> None:
    text = max_error(interpolant(2), X**2, (0, 1)).describe()
    assert text.startswith("max |network - target| = 1/16 at x = 1/4")


def test_pl_target_is_exact_and_sees_jumps() -> None:
    step = x.heaviside(1)
    result = max_error(step, PL.constant(F(1, 2)), (-1, 1))
    assert result.error == F(1, 2) and result.exact
    jump = PL.from_cases([(x, x.region("<")), (x + 1, True)])
    r = max_error(jump, x, (-1, 1))
    assert r.error == 1


def test_sup_at_a_jump_of_the_model_is_a_limit() -> None:
    model = PL([F(1, 2)], [0, 0], [0, 1], [F(1, 2)])  # 0 before 1/2, 1 after, 1/2 at 1/2
    for target in (X, PL.identity()):
        r = max_error(model, target, (0, 1))
        assert r.error == F(1, 2) and r.x == F(1, 2) and r.side in ("-", "+")
        assert "from the" in r.describe()


def test_transcendental_target_solved_exactly() -> None:
    model = one_hidden_layer([1], [0], [math.sin(1)])  # chord of sin on [0, 1] (float weight)
    r = max_error(model, sympy.sin(X), (0, 1))
    exact_value = math.sin(math.acos(math.sin(1))) - math.sin(1) * math.acos(math.sin(1))
    assert abs(float(r.error) - exact_value) < 1e-9


def test_time_budget_zero_falls_back_to_sampling() -> None:
    r = max_error(interpolant(4), X**2, (0, 1), time_budget=0)
    assert not r.exact and "golden-section" in r.method
    assert abs(float(r.error) - 1 / 64) < 1e-9


def test_non_smooth_target_is_sampled() -> None:
    r = max_error(PL.constant(0), sympy.sqrt(sympy.Abs(X)), (-1, 1))
    assert not r.exact
    assert abs(float(r.error) - 1) < 1e-9


def test_callable_target_is_sampled() -> None:
    r = max_error(interpolant(4), lambda v: v * v, (0, 1))
    assert not r.exact and abs(r.error - 1 / 64) < 1e-9


def test_discontinuous_target_has_infinite_error() -> None:
    r = max_error(PL.constant(0), 1 / (X - sympy.Rational(1, 2)), (0, 1))
    assert r.error == sympy.oo


def _chord_interpolant(f: Any, knots: list[F]) -> PL:
    """The piecewise-linear interpolant of f at the knots, as a PL (rational values close to f's)."""
    values = [F(str(sympy.N(f(sympy.Rational(k.numerator, k.denominator)), 20))) for k in knots]
    slopes = [(values[i + 1] - values[i]) / (knots[i + 1] - knots[i]) for i in range(len(knots) - 1)]
    model = PL.constant(values[0]) + slopes[0] * (x - knots[0])
    for i in range(1, len(slopes)):
        model = model + (slopes[i] - slopes[i - 1]) * (x - knots[i]).relu()
    return model


def test_exp_target_is_bounded_by_interval_arithmetic() -> None:
    knots = [F(k, 4) for k in range(5)]
    model = _chord_interpolant(sympy.exp, knots)
    r = max_error(model, sympy.exp(X), (0, 1))
    assert r.bound is not None and r.certified and not r.exact
    lower, upper = r.bound
    assert upper is not None and upper - lower < F(1, 10**8)
    grid = [i / 20000 for i in range(20001)]
    sampled = max(abs(math.exp(v) - float(model(F(v)))) for v in grid)
    assert float(lower) - 1e-7 <= sampled <= float(upper)  # a grid never beats the proved bound
    assert "interval bound" in r.method
    assert r.below(F(3, 100)) and not r.below(F(1, 100))


def test_a_bound_that_straddles_epsilon_is_undecided() -> None:
    from grader.networks.approx import ApproxResult, ApproxUndecided

    r = ApproxResult(0.5, 0, 0, 0, False, "interval bound", bound=(F(49, 100), F(51, 100)))
    assert r.below(F(52, 100)) and not r.below(F(49, 100))
    try:
        r.below(F(1, 2))
    except ApproxUndecided as exc:
        assert "between 0.49 and 0.51" in str(exc)
    else:
        raise AssertionError("a straddling bound decided")


def test_sin_target_bound_holds_the_exact_maximum() -> None:
    model = one_hidden_layer([1], [0], [math.sin(1)])
    r = max_error(model, sympy.sin(X), (0, 1))
    exact_value = math.sin(math.acos(math.sin(1))) - math.sin(1) * math.acos(math.sin(1))
    assert r.bound is not None
    assert float(r.bound[0]) - 1e-15 <= exact_value <= float(r.bound[1]) + 1e-15
