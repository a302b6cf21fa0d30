"""The constraint checker: reading assignments, exact predicates, feedback.

tests/cases/constraint.yaml holds the seed's conv-layer table end to end; these
tests pin the reading and the judging underneath.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis_budget import examples

from grader.core.verdict import AnswerError, Status
from grader.engine import check_part
from grader.types import constraint
from grader.types.constraint import ConstraintPart

F = Fraction
FIELDS = ("k", "s", "p", "d")
CONV = "floor(({i} + 2*p - (k + (d - 1)*(k - 1)))/s) + 1 = {o}"


def conv_part(i: int, o: int, given: dict[str, Any], *extra: str, **fields: Any) -> ConstraintPart:
    return ConstraintPart(
        id="p",
        type="constraint",
        fields=FIELDS,
        given=given,
        require=(CONV.format(i=i, o=o), "s >= 1", "p >= 0", "k >= 1", "d >= 1", *extra),
        answer=fields.pop("answer", {"k": 1, "s": 1, "p": 0, "d": 1}),
        **fields,
    )


def output_size(i: int, k: int, s: int, p: int, d: int) -> int:
    return (i + 2 * p - (k + (d - 1) * (k - 1))) // s + 1


# -- reading ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "answer",
    [
        {"k": 8, "s": 2, "p": 3, "d": 1},
        "k = 8, s = 2, p = 3, d = 1",
        "k=8; s=2; p=3; d=1",
        "(k, s, p, d) = (8, 2, 3, 1)",
        "k = 8\ns = 2\np = 3\nd = 1",
        "k = 8 and s = 2 and p = 3 and d = 1",
        "k: 8, s: 2, p: 3, d: 1",
        "$k = 8$, $s = 2$, $p = 3$, $d = 1$",
        "k = 2^3, s = 4/2, p = 3, d = 1.",
        {"k": "2^3", "s": 2.0, "p": "3", "d": 1},
    ],
)
def test_forms_of_the_same_assignment(answer: Any) -> None:
    read = constraint.read_assignment(answer, FIELDS)
    assert read.values == {"k": 8, "s": 2, "p": 3, "d": 1}
    assert all(isinstance(v, Fraction) for v in read.values.values())


def test_decimals_are_read_as_written() -> None:
    assert constraint.read_value(0.1) == F(1, 10)
    assert constraint.read_value("0.1") == F(1, 10)


def test_unknown_names_are_kept_apart() -> None:
    read = constraint.read_assignment("k = 8, o = 32", FIELDS)
    assert read.values == {"k": 8}
    assert read.unknown == ["o"]


@pytest.mark.parametrize(
    ("answer", "message", "position"),
    [
        ("k = 8 s = 2", "separated by commas", 4),
        ("k = 8, s = p", "must be a number", 11),
        ("k = 8, k = 9", "given twice", 7),
        ("(k, s) = (8, 2, 3)", "2 names but 3 values", 9),
        ("k = sqrt(2)", "not a rational number", 4),
    ],
)
def test_unreadable_answers_point_at_the_problem(answer: str, message: str, position: int) -> None:
    with pytest.raises(AnswerError, match=message) as caught:
        constraint.read_assignment(answer, FIELDS)
    assert caught.value.position == position


# -- judging ---------------------------------------------------------------------


def test_seed_1a() -> None:
    part = conv_part(64, 32, {"k": 8, "d": 1})
    assert constraint.check(part, "k = 8, s = 2, p = 3, d = 1").status is Status.CORRECT
    verdict = constraint.check(part, "k = 8, s = 2, p = 4, d = 1")
    assert verdict.feedback == "k = 8, s = 2, p = 4, d = 1 does not meet condition 1 of the question's 5"
    assert "floor" not in verdict.feedback and "32" not in verdict.feedback  # never the TA's condition


def test_seed_1b_k_equals_1_needs_a_require_to_be_refused() -> None:
    plain = conv_part(64, 32, {"d": 7, "s": 2})
    assert constraint.check(plain, "k = 1, s = 2, p = 0, d = 7").status is Status.CORRECT
    strict = conv_part(64, 32, {"d": 7, "s": 2}, "k >= 2")
    verdict = constraint.check(strict, "k = 1, s = 2, p = 0, d = 7")
    assert verdict.feedback == "k = 1, s = 2, p = 0, d = 7 does not meet condition 6 of the question's 6"


def test_seed_3b_and_3c_answers_are_wrong() -> None:
    assert output_size(8, k=1, s=1, p=2, d=2) == 12
    assert output_size(8, k=3, s=1, p=1, d=1) == 8
    verdict = constraint.check(conv_part(8, 4, {"d": 2, "p": 2}), "k = 1, s = 1, p = 2, d = 2")
    assert verdict.feedback.startswith("k = 1, s = 1, p = 2, d = 2 does not meet condition 1 of")
    assert "12" not in verdict.feedback and "4" not in verdict.feedback.split("of")[0]


def test_given_values_must_be_kept_and_may_be_left_out() -> None:
    part = conv_part(64, 32, {"d": 7, "s": 2})
    assert constraint.check(part, "k = 2, p = 3").status is Status.CORRECT
    verdict = constraint.check(part, "k = 2, s = 2, p = 3, d = 1")
    assert verdict.feedback == "d must stay 7 (the question fixes it); you have 1"


def test_missing_and_fractional_fields() -> None:
    part = conv_part(64, 32, {})
    assert constraint.check(part, "k = 8, s = 2").feedback == "no value for p, d"
    assert "k must be a whole number, not 17/2" in constraint.check(part, "k=8.5, s=2, p=3, d=1").feedback


def test_division_by_zero_is_a_failure_not_a_crash() -> None:
    part = ConstraintPart(id="p", type="constraint", fields=("s",), require=("4/s = 2",), answer={"s": 2})
    verdict = constraint.check(part, "s = 0")
    assert verdict.status is Status.INCORRECT
    assert (
        verdict.feedback
        == "with s = 0, the question's condition cannot be evaluated (your values leave it undefined)"
    )
    assert "4/s" not in verdict.feedback


def test_a_failing_condition_is_named_by_its_number_never_its_text() -> None:
    part = ConstraintPart(
        id="p", type="constraint", fields=("k", "s"), require=("1 <= s <= k",), answer={"k": 2, "s": 1}
    )
    assert (
        constraint.check(part, "k = 2, s = 3").feedback
        == "k = 2, s = 3 does not meet the question's condition"
    )
    two = ConstraintPart(
        id="p",
        type="constraint",
        fields=("k", "s"),
        require=("s >= 1", "s <= k", "k < 9"),
        answer={"k": 2, "s": 1},
    )
    assert constraint.check(two, "k = 12, s = 20").feedback == (
        "k = 12, s = 20 does not meet condition 2 of the question's 3 (and 1 more condition)"
    )


def test_listed_mistakes_are_matched_by_value() -> None:
    part = conv_part(
        64,
        32,
        {"d": 7, "s": 2},
        "k >= 2",
        answer={"k": 2, "s": 2, "p": 3, "d": 7},
        mistakes=[{"answer": {"k": 1, "s": 2, "p": 0, "d": 7}, "score": 0.5, "feedback": "degenerate"}],
    )
    verdict = check_part(part, "k = 1, p = 0")
    assert (verdict.status, verdict.score, verdict.feedback) == (Status.PARTIAL, 0.5, "degenerate")
    assert check_part(part, "k = 1, p = 1").status is Status.INCORRECT


@pytest.mark.parametrize(
    ("given", "require", "message"),
    [
        ({"x": 1}, ("k >= 1",), "not one of the fields"),
        ({}, ("k >= q",), "not fields"),
        ({}, ("k + 1",), "not a condition"),
        ({}, ("k >= (1",), "cannot be read"),
    ],
)
def test_spec_problems_are_value_errors(
    given: dict[str, Any], require: tuple[str, ...], message: str
) -> None:
    part = ConstraintPart(
        id="p", type="constraint", fields=("k",), given=given, require=require, answer={"k": 1}
    )
    with pytest.raises(ValueError, match=message):
        constraint.check(part, "k = 1")


@settings(max_examples=examples(60), deadline=None)
@given(st.integers(1, 9), st.integers(1, 4), st.integers(0, 4), st.integers(1, 4), st.integers(8, 64))
def test_agrees_with_integer_arithmetic(k: int, s: int, p: int, d: int, i: int) -> None:
    o = output_size(i, k, s, p, d)
    part = conv_part(i, 4, {})
    verdict = constraint.check(part, {"k": k, "s": s, "p": p, "d": d})
    assert (verdict.status is Status.CORRECT) == (o == 4), verdict.feedback
