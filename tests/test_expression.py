"""The expression checker called directly (the tables in tests/cases/ go through the engine)."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

# The checker is called here without the engine, which imports sympy when a check first reaches
# a symbolic step (grader.core.deferred.needs): imported here, as the engine would.
import grader.mathlang.to_sympy  # noqa: F401
from grader.core.deferred import loaded
from grader.core.verdict import CheckUndecided, Status
from grader.mathlang.errors import EvalError, ParseError
from grader.types import ANSWER_TYPES
from grader.types.expression import ExpressionPart, symbolic
from grader.types.expression.checker import check
from grader.types.expression.prepare import clear_prepared, prepare

N26 = {"n": {"integer": True, "min": 2, "max": 6}}


def part(**fields: Any) -> ExpressionPart:
    return ExpressionPart(id="p", type="expression", **fields)


RELU = part(symbols={"x": "real"}, functions={"H": "heaviside(x, 1/2)"}, answer="x*H(x)")
JACOBIAN = part(
    symbols=N26, arrays={"x": ["n"]}, functions={"S": "softmax"}, answer="diag(S(x)) - S(x) S(x)^T"
)
BACKPROP = part(
    symbols={"n": {"integer": True, "min": 2, "max": 5}},
    arrays={"W": ["n", "n"], "x": ["n"]},
    let={"y": "W x", "u": "relu(y)", "v": "u + W u", "I": "eye(n)"},
    functions={"Theta": "heaviside(x, 0)"},
    answer="outer(v, u) + outer(diag(Theta(y)) (I + W^T) v, x)",
)
DECAY = part(
    symbols={"eta": "positive", "gamma": "positive", "lambda": "real"}, answer="lambda = 2*eta*gamma"
)
MOMENTUM = part(
    symbols={"beta": {"interval": [0, 1]}, "delta": "positive"},
    answer={"alpha": "beta", "epsilon": "delta*(1 - beta)"},
)


def test_registered() -> None:
    assert loaded(ANSWER_TYPES["expression"].check) is check  # named, imported when first used


@pytest.mark.parametrize("answer", ["x * H(x)", "x * (1 - H(-x))", r"\max\{0, x\}", "g(x) = x H(x)"])
def test_relu_forms(answer: str) -> None:
    verdict = check(RELU, answer)
    assert verdict.status is Status.CORRECT
    assert "numeric" in verdict.decision.method


def test_relu_wrong_side_has_a_witness() -> None:
    verdict = check(RELU, "x*H(-x)")
    assert verdict.status is Status.INCORRECT
    assert verdict.feedback.startswith("at x = ") and "the expected" in verdict.feedback


def test_an_isolated_hole_is_not_a_difference() -> None:
    """x^2/x has no value at 0 alone: the two formulas agree everywhere else (issue 11)."""
    assert check(part(symbols={"x": "real"}, answer="x"), "x^2/x").status is Status.CORRECT
    holes = part(symbols={"x": "real"}, answer="1")
    assert check(holes, "abs(x^2 - 4) / (abs(x - 2) abs(x + 2))").status is Status.CORRECT


def test_undefined_on_a_region_where_the_reference_is_defined() -> None:
    verdict = check(part(symbols={"x": "real"}, answer="x"), "sqrt(x)^2")
    assert verdict.status is Status.INCORRECT
    assert "your formula is undefined" in verdict.feedback and "x = -" in verdict.feedback


def test_defined_on_a_region_where_the_reference_is_not() -> None:
    verdict = check(part(symbols={"x": "real"}, answer="sqrt(x)^2"), "x")
    assert verdict.status is Status.INCORRECT
    assert "the expected formula has no real value" in verdict.feedback


def test_unreadable_answers_raise_answer_errors() -> None:
    with pytest.raises(ParseError):
        check(RELU, "x * (1 - H(-x)")
    with pytest.raises(EvalError, match="unknown symbol 'y'; this part knows x") as info:
        check(RELU, "y H(y)")
    assert info.value.text == "y H(y)" and info.value.position == 0


def test_float_noise_is_settled_at_high_precision() -> None:
    sig = part(symbols={"x": "real"}, answer="sigmoid(x)")
    verdict = check(sig, r"\frac{e^x}{1 + e^x}")  # overflows in float64 at x = 1000
    assert verdict.status is Status.CORRECT
    assert "re-checked at 40 digits" in verdict.decision.method


def test_never_correct_on_too_few_points() -> None:
    narrow = part(symbols={"x": "real"}, answer="log(-x^2 - 1)")  # defined nowhere
    with pytest.raises(CheckUndecided, match="has a value at only 0 of the probe points"):
        check(narrow, "log(-x^2 - 1)")


def test_constants_are_exact() -> None:
    tiny = part(answer="1/2^99", atol=0)
    assert check(tiny, "2^{-99}").status is Status.CORRECT
    assert check(tiny, "1/2^98").status is Status.INCORRECT
    # |a - r| <= atol + rtol |r|: with the default atol of 1e-9 the two are within tolerance
    assert check(part(answer="1/2^99"), "1/2^98").status is Status.CORRECT
    assert check(part(answer="1/3"), "0.333").status is Status.INCORRECT


# ---- equations -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "answer",
    [r"\lambda = 2\eta\gamma", r"2 \eta \gamma = \lambda", r"\lambda/2 = \eta\gamma", r"2\gamma\eta"],
)
def test_weight_decay_equivalent_forms(answer: str) -> None:
    assert check(DECAY, answer).status is Status.CORRECT


def test_weight_decay_sign_error_of_the_seed() -> None:
    verdict = check(DECAY, r"\lambda = -2\eta\gamma")
    assert verdict.status is Status.INCORRECT
    assert "your formula gives lambda = -" in verdict.feedback


def test_equation_solved_differently() -> None:
    verdict = check(DECAY, r"\frac{\lambda}{\eta} = 2 \gamma")
    assert verdict.status is Status.CORRECT
    assert check(DECAY, r"\lambda^2 = 4 \eta^2 \gamma^2").status is Status.INCORRECT


def test_equation_reference_without_isolated_symbol() -> None:
    circle = part(symbols={"x": "positive", "y": "positive"}, answer="x*y = 1")
    assert check(circle, "2 x y = 2").status is Status.CORRECT
    assert check(circle, "y = 1/x").status is Status.CORRECT
    assert check(circle, "y = 2/x").status is Status.INCORRECT


# ---- mappings ---------------------------------------------------------------------------


def test_momentum_mapping_full_and_partial() -> None:
    assert check(MOMENTUM, r"\alpha = \beta, \epsilon = \delta(1 - \beta)").status is Status.CORRECT
    verdict = check(MOMENTUM, {"alpha": "beta", "epsilon": "delta"})
    assert verdict.status is Status.PARTIAL and verdict.score == 0.5
    assert verdict.feedback.startswith("epsilon: at beta = ")
    missing = check(MOMENTUM, r"\alpha = \beta")
    assert missing.status is Status.PARTIAL and "epsilon: missing" in missing.feedback


# ---- matrices -------------------------------------------------------------------------------


def test_softmax_jacobian() -> None:
    seed = r"\text{diag}(S(\mathbf{x})) - S(\mathbf{x}) \cdot S(\mathbf{x})^\top"
    verdict = check(JACOBIAN, seed)
    assert verdict.status is Status.CORRECT
    assert "sizes" in verdict.decision.method
    inner = check(JACOBIAN, r"S(x)^T S(x)")
    assert inner.status is Status.INCORRECT
    assert "your formula is a scalar; the expected answer is an n×n matrix" in inner.feedback
    assert "outer product is S(x) S(x)^T" in inner.feedback


def test_shape_error_inside_the_formula_is_incorrect_with_a_caret() -> None:
    verdict = check(JACOBIAN, r"\text{diag}(S(x)) - S(x)^T S(x)")
    assert verdict.status is Status.INCORRECT
    assert "scalar" in verdict.feedback and "n×n matrix" in verdict.feedback
    assert "^" in verdict.feedback.splitlines()[2]


def test_backprop_seed_and_mistakes() -> None:
    seed = (
        r"\mathbf{v} \otimes \mathbf{u} + \text{diag}(\Theta(\mathbf{y}))"
        r"(\mathbf{I} + \mathbf{W}^T)\mathbf{v} \otimes \mathbf{x}"
    )
    assert check(BACKPROP, seed).status is Status.CORRECT
    assert check(BACKPROP, seed.replace(r"\mathbf{W}^T", r"\mathbf{W}")).status is Status.INCORRECT
    no_diag = r"v \otimes u + (I + W^T) v \otimes x"
    assert check(BACKPROP, no_diag).status is Status.INCORRECT


def test_right_only_at_one_size() -> None:
    total = part(symbols=N26, arrays={"x": ["n"]}, answer="sum(x)")
    verdict = check(total, "x_1 + x_2")
    assert verdict.status is Status.INCORRECT
    assert "n = " in verdict.feedback


def test_sizes_include_the_smallest() -> None:
    prepared = prepare(JACOBIAN)
    sizes = [s["n"] for s in prepared.size_plan]
    assert len(set(sizes)) >= 3 and 2 in sizes and max(sizes) <= 6


def test_attention() -> None:
    attention = part(
        symbols={"n": {"integer": True, "min": 1, "max": 5}, "d": {"integer": True, "min": 1, "max": 4}},
        arrays={"Q": ["n", "d"], "K": ["n", "d"], "V": ["n", "d"]},
        let={"A": "exp(Q K^T)", "1": "ones(n)", "D": "diag(A 1)"},
        answer="softmax_row(Q K^T) V",
    )
    assert check(attention, "D^{-1} A V").status is Status.CORRECT
    assert check(attention, "A V").status is Status.INCORRECT


def test_oversized_arrays_are_refused_in_the_problem_file() -> None:
    with pytest.raises(ValidationError, match="a dimension is from 1 to 64, not 100"):
        part(arrays={"W": [100, 100]}, answer="W")


# ---- determinism, caching, symbolic mode ------------------------------------------------------


def test_verdicts_are_reproducible() -> None:
    first = check(JACOBIAN, "- S(x) S(x)^T")
    clear_prepared()
    second = check(JACOBIAN, "- S(x) S(x)^T")
    assert first == second


def test_reference_is_parsed_once_per_part() -> None:
    clear_prepared()
    check(RELU, "x H(x)")
    prepared = prepare(RELU)
    check(RELU, "relu(x)")
    assert prepare(RELU) is prepared


def test_symbolic_confirmation_always(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(symbolic, "SYMBOLIC_MODE", "always")
    # an identity the exact polynomial reading (which proves (x + y)^2 itself) does not see
    decay = part(symbols={"x": "real", "y": "real"}, answer="cos(2 x) + y")
    verdict = check(decay, r"2 \cos(x)^2 - 1 + y")
    assert verdict.status is Status.CORRECT
    assert "symbolic: sympy simplifies the difference to 0" in verdict.decision.method
