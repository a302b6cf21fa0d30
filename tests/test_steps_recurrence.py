"""Recurrences a chain states and unrolls (issue 61): the table
tests/cases/steps/recurrences.yaml, and the text work of grader.steps.recurrence."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from grader.core.yamlio import load_with_positions
from grader.steps import check_text
from grader.steps.recurrence import canonical, recurrence_of, shifted, unrolled

CASES: list[dict[str, Any]] = load_with_positions(
    (Path(__file__).parent / "cases" / "steps" / "recurrences.yaml").read_text()
)[0]


@pytest.mark.parametrize("case", CASES, ids=[c["description"][:60] for c in CASES])
def test_recurrence_table(case: dict[str, Any]) -> None:
    marks = [s for c in check_text(case["text"], "markdown") for s in c.steps]
    assert [[m.left, m.relation, m.right, m.status] for m in marks] == case["steps"]
    for mark in marks:
        assert (mark.status == "wrong") == (mark.witness is not None)
    if "witness" in case:
        first = next(m for m in marks if m.status == "wrong")
        assert first.witness is not None and first.witness.at == case["witness"]
    if "at" in case:
        first = next(m for m in marks if m.status == "shown")
        assert first.certificate is not None and f"put in at {case['at']})" in first.certificate


def test_the_rule_read() -> None:
    assert recurrence_of("v_t", r"\beta v_{t - 1} + g_t") == ("v", "t", r"\beta v_{t-1} + g_{t}")
    assert recurrence_of("v_t", r"\beta v_t + g_t") is None  # the name at t itself: not a recurrence
    assert recurrence_of("v_t", r"\beta v_{t+1}") is None
    assert recurrence_of("v_t", r"\beta w_{t-1}") is None  # another name: a definition only
    assert recurrence_of("y", r"2 y_{t-1}") is None


def test_shifts() -> None:
    assert shifted(r"\beta^{t} v_{t-1} + g_{t}", "t", 2) == r"\beta^{(t-2)} v_{t-3} + g_{t-2}"
    assert canonical(r"x_{t - 1} + x_t + \theta_{t}", "t") == r"x_{t-1} + x_{t} + \theta_{t}"
    assert canonical(r"x_{2t}", "t") is None and canonical(r"x_{t+1}", "t") is None


def test_unrolled_text() -> None:
    rule = recurrence_of("v_t", r"\beta v_{t-1} + g_t")
    assert rule is not None
    found = unrolled(r"\beta v_{t-1} + g_t", r"\beta^2 v_{t-2} + \beta g_{t-1} + g_t", rule)
    assert found == (
        r"\beta \left(\beta v_{t-2} + g_{t-1}\right) + g_{t}",
        r"\beta^2 v_{t-2} + \beta g_{t-1} + g_{t}",
        [1],
        "v_{t-2}",
    )
    assert unrolled(r"\beta v_{t-1}", r"2 v_{t-1}", rule) == (r"\beta v_{t-1}", r"2 v_{t-1}", [], "v_{t-1}")
    assert unrolled(r"\beta v_0", r"2 v_{t-1}", rule) is None  # an initial value: not a shift
