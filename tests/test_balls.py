"""Ball arithmetic (grader.mathlang.balls): every ball holds the true value."""

from __future__ import annotations

import math

import pytest
from flint import arb

from grader.mathlang.balls import NotBallError, ball, ball_value, integer_power, precision
from grader.mathlang.parser import parse

FORMULAS = [
    ("sin(x)^2 + cos(x)^2", lambda x: 1.0),
    ("exp(-x^2) / (1 + x^2)", lambda x: math.exp(-(x**2)) / (1 + x**2)),
    ("sigmoid(x) - 1/(1 + e^{-x})", lambda x: 0.0),
    ("relu(x - 1) + |x| + max(x, 2)", lambda x: max(x - 1, 0) + abs(x) + max(x, 2)),
    ("\\log_{2}(1 + x^2)", lambda x: math.log2(1 + x**2)),
    ("\\sqrt[3]{x + 1}", lambda x: math.copysign(abs(x + 1) ** (1 / 3), x + 1)),
    ("tanh(x) + softplus(x)", lambda x: math.tanh(x) + math.log1p(math.exp(x))),
]


@pytest.mark.parametrize(("text", "expected"), FORMULAS, ids=[t for t, _ in FORMULAS])
@pytest.mark.parametrize("x", [-3.5, -1.0, 0.0, 0.25, 2.0, 7.5])
def test_a_ball_holds_the_value(text: str, expected, x: float) -> None:  # type: ignore[no-untyped-def]
    node = parse(text, symbols=("x",))
    with precision(64):
        value = ball_value(node, {"x": ball(x)})
    want = expected(x)
    assert value.is_finite()
    assert float(value.lower()) <= want + 1e-12 * (1 + abs(want))
    assert float(value.upper()) >= want - 1e-12 * (1 + abs(want))


def test_an_even_power_of_a_ball_around_zero_stays_nonnegative() -> None:
    around_zero = arb(0, 1)
    squared = integer_power(around_zero, 2)
    assert squared >= 0 and squared.upper() <= 1.01
    assert integer_power(arb(-2, 0.5), 3) < 0


def test_cancellation_is_exact_at_enough_precision() -> None:
    node = parse("(n + 1)^{64} - (1 + n)^{64} + 1/n", symbols=("n",))
    with precision(512):
        value = ball_value(node, {"n": ball(3.0)})
        assert abs(value - ball(1) / 3) < 1e-100


def test_undefined_on_the_ball_is_nan_not_a_value() -> None:
    node = parse("log(x)", symbols=("x",))
    with precision(64):
        assert not ball_value(node, {"x": arb(0, 0.5)}).is_finite()
        assert not ball_value(parse("1/x", symbols=("x",)), {"x": arb(0, 0.5)}).is_finite()


def test_what_balls_do_not_cover_is_said() -> None:
    with pytest.raises(NotBallError):
        ball_value(parse("softmax(x)", symbols=("x",)), {"x": ball(1.0)})
    with pytest.raises(NotBallError):  # past what an exponent can hold
        ball_value(parse("exp(exp(exp(100)))"), {})


def test_a_fractional_power_of_a_negative_number_has_no_value_its_odd_root_has() -> None:
    """One reading in every backend (docs/equivalence.md): x^{1/3} is undefined for x < 0 as
    in floats, 40 digits and exact arithmetic; the real cube root is written root(x, 3)."""
    with precision(64):
        at = {"x": ball(-8.0)}
        assert not ball_value(parse("x^{1/3}", symbols=("x",)), at).is_finite()
        assert not ball_value(parse("x^{2/3}", symbols=("x",)), at).is_finite()
        assert ball_value(parse("\\sqrt[3]{x}", symbols=("x",)), at).contains(-2)
        assert ball_value(parse("x^{1/3}", symbols=("x",)), {"x": ball(8.0)}).contains(2)


def test_a_number_s_norm_is_its_absolute_value_of_any_order_from_one() -> None:
    """As the builtins' norm of one entry: ||x||, ||x||_2, ||x||_1 of a number are |x| (the step
    checker's witnesses with ||k|| inside exp are confirmed this way); an order below 1 is no norm."""
    with precision(64):
        at = {"x": ball(-3.0)}
        assert ball_value(parse("||x||", symbols=("x",)), at).contains(3)
        assert ball_value(parse("||x||_1", symbols=("x",)), at).contains(3)
        assert ball_value(parse("exp(-||x||^2)", symbols=("x",)), at).contains(arb(-9).exp())
        with pytest.raises(NotBallError):
            ball_value(parse("||x||_{1/2}", symbols=("x",)), at)
