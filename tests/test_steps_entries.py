"""Vector functions the write-up defines entry by entry (issue 61): the table
tests/cases/steps/entries.yaml, and the text work of grader.steps.entries."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from grader.core.yamlio import load_with_positions
from grader.steps import check_text
from grader.steps.entries import definition_in, kronecker_valued, put_in

CASES: list[dict[str, Any]] = load_with_positions(
    (Path(__file__).parent / "cases" / "steps" / "entries.yaml").read_text()
)[0]


@pytest.mark.parametrize("case", CASES, ids=[c["description"][:60] for c in CASES])
def test_entries_table(case: dict[str, Any]) -> None:
    marks = [s for c in check_text(case["text"], "markdown") for s in c.steps]
    assert [[m.left, m.relation, m.right, m.status] for m in marks] == case["steps"]
    for mark in marks:
        assert (mark.status == "wrong") == (mark.witness is not None)
    if "under" in case:
        first = next(m for m in marks if m.status == "shown")
        assert case["under"] in (first.certificate or "")


SOFTMAX = ("S", r"\mathbf{x}", "i", r"\frac{e^{\mathbf{x}_i}}{\sum_j e^{\mathbf{x}_j}}", 1)


def test_definitions_read() -> None:
    assert definition_in(r"S(\mathbf{x})_i = \frac{e^{\mathbf{x}_i}}{\sum_j e^{\mathbf{x}_j}}", 1) == SOFTMAX
    sigmoid = definition_in(r"\sigma(\mathbf{x}) = 1/(1 + e^{-\mathbf{x}})", 3)
    assert sigmoid == ("sigma", r"\mathbf{x}", "", r"1/(1 + e^{-\mathbf{x}})", 3)
    assert definition_in(r"\sigma(\mathbf{x}) = \mathbf{x}^\top \mathbf{x}", 1) is None  # not element-wise
    assert definition_in(r"S(\mathbf{x})_i = \frac{1}{n}", 1) is None  # no entry of the vector
    assert definition_in(r"S(\mathbf{x})_i = \mathbf{x}_i + \mathbf{x}", 1) is None  # the whole vector too


def test_put_in_renames_a_bound_index_the_step_uses() -> None:
    text, used = put_in(r"S(\mathbf{x})_j", [SOFTMAX]) or ("", [])
    assert used == [SOFTMAX]
    assert text == r"(\frac{e^{(x_{j})}}{\sum_k e^{(x_{k})}})"
    assert put_in(r"S(\mathbf{x} + \mathbf{y})_1", [SOFTMAX]) is None  # two vectors: not read
    assert put_in(r"x + 1", [SOFTMAX]) == ("x + 1", [])
    assert put_in(r"S(W\mathbf{x})_1", [SOFTMAX]) is None  # a matrix times the vector: no entry-wise reading
    assert put_in(r"S(\mathbf{x} + b)_1", [SOFTMAX], frozenset({"b"})) is None  # b a declared vector
    assert put_in(r"S(\mathbf{x} + b)_1", [SOFTMAX]) is not None  # b a scalar


def test_kronecker_values() -> None:
    assert kronecker_valued(r"\delta_{12} + \delta_{33}") == "(0) + (1)"
