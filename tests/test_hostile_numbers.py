"""Numbers too large to grade: refused as ``invalid`` with their size, before they are built,
in every part type that reads a number, never an internal error or a frozen check."""

from __future__ import annotations

import time
from fractions import Fraction
from typing import Any

import pytest

from grader.core.verdict import Status
from grader.engine import check_part
from grader.loading import parse_problem_set
from grader.mathlang import limits
from grader.mathlang.constant import constant_value
from grader.mathlang.errors import LimitError
from grader.mathlang.parser import parse

PARTS = {
    "number": "type: number\n    answer: 3",
    "array": "type: array\n    answer: [1, 2]",
    "shape": "type: shape\n    answer: [2, 3]",
    "network": (
        "type: network\n    params: {w0: [1], b0: [1], w1: [1]}\n    model: w1 . relu(w0*x + b0)\n"
        "    target: relu(x)\n    answer: {w0: [1], b0: [0], w1: [1]}"
    ),
}


def _part(kind: str) -> Any:
    return parse_problem_set(f"assignment: a\nquestions:\n  - id: q\n    {PARTS[kind]}\n").iter_parts()[0][2]


# (part type, answer, what the feedback must say)
TOO_LARGE = [
    ("number", "abs(2^{999})^{20}", "too large to grade: about 10^6015"),
    ("number", "1e999999", "too large to grade: about 10^999999"),
    ("number", "1e-999999", "too close to zero to grade exactly: about 10^-999999"),
    ("number", "exp(exp(exp(exp(100))))", "too large to grade: about 10^(1.2×10^43)"),
    ("number", "exp(10^{4})", "too large to grade: about 10^4343"),
    ("number", "2^{999}*2^{999}*2^{999}*2^{999}", "too large to grade: about 10^1203"),
    ("number", r"\frac{1}{2^{999} 2^{999} 2^{999} 2^{999}}", "to grade exactly: about 10^-1203"),
    ("number", r"(\frac{1}{2})^{3999}", "too close to zero to grade exactly: about 10^-1204"),
    ("array", "[abs(2^{999})^{20}, 1]", "too large to grade: about 10^6015"),
    ("array", ["abs(2^{999})^{20}", 1], "too large to grade: about 10^6015"),
    ("shape", "abs(2^{999})^{20} x 3", "too large to grade: about 10^6015"),
    ("network", {"w0": ["abs(2^{999})^{20}"], "b0": [0], "w1": [1]}, "too large to grade: about 10^6015"),
    ("network", {"w0": ["exp(exp(exp(exp(100))))"], "b0": [0], "w1": [1]}, "too large to grade"),
]


@pytest.mark.parametrize(("kind", "answer", "says"), TOO_LARGE, ids=[f"{c[0]}-{c[1]}" for c in TOO_LARGE])
def test_a_number_too_large_to_grade_is_invalid(kind: str, answer: Any, says: str) -> None:
    started = time.process_time()
    verdict = check_part(_part(kind), answer, time_limit=10)
    assert verdict.status is Status.INVALID, verdict.feedback
    assert says in verdict.feedback
    assert time.process_time() - started < 5  # refused, not worked through to its time limit


@pytest.mark.parametrize(
    ("kind", "answer"),
    [("number", "10^{300}"), ("number", "2^{999}"), ("number", "exp(700)"), ("array", "[10^{900}, 1]")],
)
def test_large_numbers_within_the_bound_are_graded(kind: str, answer: str) -> None:
    assert check_part(_part(kind), answer).status is Status.INCORRECT


# Issue 58: the guard is on the value; an intermediate that exact arithmetic cannot hold
# (e^{1000}, a rational of 12,000 digits) is carried by balls when the value is modest.
@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (r"\ln(e^{1000})", "1000"),
        (r"\ln(e^{100000})", "100000"),
        ("(1 + 1/1000)^{4000}", "(1001/1000)^{4000}"),
        (r"\frac{2^{5000}}{2^{4999}}", "2"),
        ("e^{1000}", "e^{1000}"),
    ],
)
def test_a_modest_value_with_a_large_intermediate_is_graded(answer: str, expected: str) -> None:
    text = f"assignment: a\nquestions:\n  - {{id: q, type: number, answer: '{expected}'}}\n"
    part = parse_problem_set(text)
    verdict = check_part(part.iter_parts()[0][2], answer, time_limit=10)
    assert verdict.status is Status.CORRECT, verdict.feedback
    assert verdict.decision is not None and verdict.decision.kind.certified, verdict.decision


@pytest.mark.parametrize(
    ("text", "refusal"),
    [
        ("10^{999}", None),
        ("10^{999} * 10^{2}", "too large to grade: about 10^1001"),
        ("exp(700)", None),  # not exact: graded as a float
        ("exp(710)", "too large to grade: about 10^308"),  # past what a float holds
    ],
)
def test_the_bound_is_a_thousand_digits_or_the_float_range(text: str, refusal: str | None) -> None:
    if refusal is None:
        constant_value(parse(text))
    else:
        with pytest.raises(LimitError, match=refusal.replace("^", "\\^")):
            constant_value(parse(text))


def test_the_size_is_checked_before_the_power_is_formed() -> None:
    started = time.process_time()
    with pytest.raises(LimitError):
        limits.check_exact_power(Fraction(3) ** 2000, 4096)  # a 4-million-digit result
    assert time.process_time() - started < 0.5  # forming it would take seconds of CPU time


def test_exact_numbers_within_the_bound_pass() -> None:
    limits.check_exact_number(Fraction(10**999, 7))
    limits.check_exact_number(1.0e308)  # floats overflow to inf instead
    with pytest.raises(LimitError, match="too large"):
        limits.check_exact_number(10**1001)
