"""Premises, constraints and equations to solve are conditions, not claims (issue 61):
the tables tests/cases/steps/premises.yaml and conditions.yaml, through the library and the
CLI (a witness always satisfies every condition read)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from grader.cli import main
from grader.core.yamlio import load_with_positions
from grader.steps import check_text

CASES: list[dict[str, Any]] = [
    case
    # conditions.yaml: conditions stated after a display, in words, on parity, on every entry
    for table in ("premises.yaml", "conditions.yaml")
    for case in load_with_positions((Path(__file__).parent / "cases" / "steps" / table).read_text())[0]
]


@pytest.mark.parametrize("case", CASES, ids=[c["description"][:60] for c in CASES])
def test_premise_table(case: dict[str, Any]) -> None:
    marks = [s for c in check_text(case["text"], "markdown") for s in c.steps]
    assert [[m.left, m.relation, m.right, m.status] for m in marks] == case["steps"]
    for mark in marks:
        assert (mark.status == "wrong") == (mark.witness is not None)
    if "witness" in case:
        first = next(m for m in marks if m.status == "wrong")
        assert first.witness is not None and first.witness.at == case["witness"]
    if "given" in case:
        first = next(m for m in marks if m.status == "shown")
        assert first.certificate is not None and first.certificate.endswith(f"given {case['given']}")


def test_issue_literal_in_the_terminal(tmp_path: Path) -> None:
    sheet = tmp_path / "p.md"
    sheet.write_text("Here $x^2+y^2=1$ holds. Then $x^2 = 1 - y^2$.\n")
    out = CliRunner().invoke(main, ["steps", str(sheet)])
    assert out.exit_code == 0, out.output
    assert "WRONG" not in out.output
    assert "1 shown, 0 wrong, 0 undecided" in out.output
    assert "given x^{2} + y^{2} = 1" in out.output
