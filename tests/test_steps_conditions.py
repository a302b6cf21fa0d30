"""Conditions stated after a display, in words, on parity and on all entries: the table
tests/cases/steps/conditions.yaml (a witness always satisfies every condition read)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from grader.core.yamlio import load_with_positions
from grader.steps import check_text
from grader.steps.stated import about_steps, entry_bounds

CASES: list[dict[str, Any]] = load_with_positions(
    (Path(__file__).parent / "cases" / "steps" / "conditions.yaml").read_text()
)[0]


@pytest.mark.parametrize("case", CASES, ids=[c["description"][:60] for c in CASES])
def test_condition_table(case: dict[str, Any]) -> None:
    marks = [s for c in check_text(case["text"], "markdown") for s in c.steps]
    assert [[m.left, m.relation, m.right, m.status] for m in marks] == case["steps"]
    for mark in marks:
        assert (mark.status == "wrong") == (mark.witness is not None)
    if "witness" in case:
        first = next(m for m in marks if m.status == "wrong")
        assert first.witness is not None and first.witness.at == case["witness"]


def test_a_condition_not_read_refuses_only_where_the_steps_write_its_name() -> None:
    unread = ["$k$ greater than one", "even $n$", "such that"]
    assert about_steps(unread, r"(-1)^n = 1") == ("even $n$", "such that")
    assert about_steps(unread, r"\sqrt{x^2} = x") == ("such that",)


def test_a_bound_on_a_generic_entry_covers_each_entry_written() -> None:
    from fractions import Fraction

    found = entry_bounds([(("x_i", ">", Fraction(0)), "x_i > 0")], r"x_1 + x_{k} = x_i")
    # x_k may be the entry the bound's i was not meant for: only entries written with a number
    assert sorted(r.left.name for r, _ in found) == ["x_1"]  # type: ignore[attr-defined]
    assert entry_bounds([(("x_1", ">", Fraction(0)), "x_1 > 0")], "x_2") == []
    vector = entry_bounds([(("x", ">=", Fraction(0)), r"\mathbf{x} \ge 0")], "x_2")
    assert [written for _, written in vector] == [r"\mathbf{x} \ge 0 (so x_2)"]
