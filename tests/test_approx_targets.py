"""Approximation parts whose target is not piecewise linear: validated and graded with a proof."""

from __future__ import annotations

from grader.engine import check_part
from grader.loading import parse_problem_set
from grader.selftest import validate_problem_set

EXP_SET = """
assignment: exp-approx
questions:
  - id: q1
    parts:
      - id: e
        type: network
        params: {w0: [4], b0: [4], w1: [4], c: []}
        model: w1 . relu(w0*x + b0) + c
        target: exp(x)
        domain: [0, 1]
        mode: approx
        epsilon: 0.03
        answer: {w0: [1, 1, 1, 1], b0: [0, -1/4, -1/2, -3/4], w1: [1.1361, 0.3227, 0.4143, 0.5320], c: 1}
      - id: s
        type: network
        params: {w0: [2], b0: [2], w1: [2]}
        model: w1 . relu(w0*x + b0)
        target: sin(x) + x^2/4
        domain: [0, 2]
        mode: approx
        epsilon: 0.1
        answer: {w0: [1, 1], b0: [0, -1], w1: [1.0915, -0.2737]}
"""


def test_validate_accepts_a_reference_for_a_transcendental_target() -> None:
    assert validate_problem_set(parse_problem_set(EXP_SET)) == []


def test_a_transcendental_target_is_decided_by_an_interval_bound() -> None:
    part = parse_problem_set(EXP_SET).questions[0].parts[0]
    right = check_part(part, dict(part.answer))
    assert right.status.value == "correct" and right.decision is not None
    assert right.decision.exact and right.decision.method.startswith("interval bound")
    assert "largest error 0.0187" in right.feedback
    wrong = check_part(part, {**part.answer, "c": 1.02})
    assert wrong.status.value == "incorrect" and wrong.decision is not None and wrong.decision.exact
    assert "it must be below epsilon = 0.03" in wrong.feedback and "x = 0.877" in wrong.feedback
