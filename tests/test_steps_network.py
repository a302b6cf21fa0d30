"""Backpropagation through a network the write-up defines (issue 61, session 19): the table
tests/cases/steps/network.yaml, and the reading of grader.steps.network."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest

from grader.core.yamlio import load_with_positions
from grader.steps import check_text
from grader.steps.network import NotNetwork, definition_in, network_of

CASES: list[dict[str, Any]] = load_with_positions(
    (Path(__file__).parent / "cases" / "steps" / "network.yaml").read_text()
)[0]


@pytest.mark.parametrize("case", CASES, ids=[c["description"][:60] for c in CASES])
def test_network_table(case: dict[str, Any]) -> None:
    marks = [s for c in check_text(case["text"], "markdown") for s in c.steps]
    assert [[m.left, m.relation, m.right, m.status] for m in marks] == case["steps"]
    for mark in marks:
        assert (mark.status == "wrong") == (mark.witness is not None)
    if "certificate" in case:
        assert any(case["certificate"] in (m.certificate or "") for m in marks)


def test_a_witness_is_checked_by_hand() -> None:
    """The residual block's witness: recomputed here from its entries, in exact arithmetic."""
    (mark,) = [s for c in check_text(CASES[0]["text"], "markdown") for s in c.steps]
    assert mark.witness is not None
    at = mark.witness.at
    i, j = int(at["i"]) - 1, int(at["j"]) - 1
    w = [[Fraction(x) for x in row.split(",")] for row in at["W"].strip("[]").split("], [")]
    x = [Fraction(v) for v in at["x"].removesuffix("^T").strip("[]").split(",")]
    n = len(x)
    y = [sum(w[r][c] * x[c] for c in range(n)) for r in range(n)]
    u = [max(v, Fraction(0)) for v in y]
    v = [u[r] + sum(w[r][c] * u[c] for c in range(n)) for r in range(n)]
    step = Fraction(int(y[i] > 0))
    true = v[i] * step * x[j] + v[i] * u[j] + sum(v[m] * w[m][i] for m in range(n)) * step * x[j]
    written = v[i] * step * x[j] + u[i] * v[i] + sum(v[m] * w[m][i] for m in range(n)) * step * x[j]
    assert (str(true), str(written)) == (mark.witness.left, mark.witness.right)
    assert true != written
    assert "exact" in (mark.certificate or "")


def test_definitions_read() -> None:
    assert definition_in(r"\mathbf{y} = \mathbf{W}\mathbf{x} + \mathbf{b}", 3) == (
        "y",
        r"\mathbf{W}\mathbf{x} + \mathbf{b}",
        3,
    )
    assert (
        definition_in(r"\mathcal{L} = \frac{1}{2}\|\mathbf{v}\|_2^2 = \frac{1}{2}\sum_m v_m^2", 1) is not None
    )
    assert definition_in(r"y = 3x + 1", 1) is None  # no array
    assert definition_in(r"\mathbf{v} = \mathbf{v} + \mathbf{W}\mathbf{u}", 1) is None  # circular
    assert (
        definition_in(r"\mathbf{h} = \sigma(\mathbf{W}\mathbf{x})", 1) is None
    )  # sigma: not a known function
    assert definition_in(r"\mathbf{y} = \sum_j \mathbf{W}_{ij} x_j", 1) is None


def test_shapes_inferred_or_refused() -> None:
    net = network_of([("y", r"\mathbf{W}\mathbf{x}", 1), ("v", r"\mathbf{y} + \mathbf{W}\mathbf{y}", 2)], {})
    assert net.shapes["W"][0] == net.shapes["W"][1]  # W y after W x: W is square
    with pytest.raises(NotNetwork):  # x + Wx with W m by n and a vector of n: m = n, but y^T is a row
        network_of([("y", r"\mathbf{W}\mathbf{x} + \mathbf{x}^\top", 1)], {})
