"""Words that deny, quote, ask or restrict a relation (grader/steps/hedged.py): its steps get no
witness, in Markdown and LaTeX alike and through ``grader steps``. The rows are the "hedged" and
"not hedged" ones of tests/cases/steps/conditions.yaml (checked as Markdown by
test_steps_premises.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from grader.cli import main
from grader.core.yamlio import load_with_positions
from grader.steps import check_text

TABLE = Path(__file__).parent / "cases" / "steps" / "conditions.yaml"
ROWS: list[dict[str, Any]] = [
    row for row in load_with_positions(TABLE.read_text())[0] if "hedged" in row["description"]
]


def test_the_table_has_hedged_and_plain_rows() -> None:
    statuses = {m[3] for row in ROWS for m in row["steps"]}
    assert len(ROWS) >= 15 and statuses == {"undecided", "wrong"}


@pytest.mark.parametrize("row", ROWS, ids=[r["description"][:60] for r in ROWS])
def test_latex_reads_the_words_as_markdown_does(row: dict[str, Any]) -> None:
    document = "\\documentclass{article}\n\\begin{document}\n" + row["text"] + "\n\\end{document}\n"
    marks = [[m.left, m.relation, m.right, m.status] for c in check_text(document, "latex") for m in c.steps]
    assert marks == row["steps"]


def test_grader_steps_json_marks_no_denied_claim_wrong(tmp_path: Path) -> None:
    sheet = tmp_path / "proof.tex"
    sheet.write_text(
        "It is not true that $(a+b)^2 = a^2 + b^2$.\n\n"
        "A common mistake is to write ``$(c+d)^2 = c^2 + d^2$''.\n\n"
        "We have $x^2 = x$ for $x$ in \\{0, 1\\}.\n\n"
        "But $(e+f)^2 = e^2 + f^2$ is what this student claims.\n"
    )
    out = CliRunner().invoke(main, ["steps", str(sheet), "--format", "json"])
    assert out.exit_code == 0, out.output
    steps = [s for chain in json.loads(out.output)["chains"] for s in chain["steps"]]
    assert [s["status"] for s in steps] == ["undecided", "undecided", "undecided", "wrong"]
    assert all(s["witness"] is None for s in steps[:3])
    assert steps[3]["witness"] is not None
