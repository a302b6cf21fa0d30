"""The steps of answers to `text` parts, as grading marks them (issue 61): the part's
declared symbols and functions apply, and math typed among words without delimiters is read
(the table tests/cases/steps/answers.yaml)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from grader.cli import main
from grader.core.yamlio import load_with_positions
from grader.steps.grading import check, stored_marks
from grader.types.text import TextPart

ROWS: list[dict[str, Any]] = load_with_positions(
    (Path(__file__).parent / "cases" / "steps" / "answers.yaml").read_text(encoding="utf-8")
)[0]


@pytest.mark.parametrize("row", ROWS, ids=[r["description"][:60] for r in ROWS])
def test_answer_table(row: dict[str, Any]) -> None:
    part = TextPart.model_validate({"type": "text", "id": "a", **row["part"]})
    verdict = check(part, row["answer"])
    assert verdict.status == "manual"  # the marks never grade the part
    marks = [s for c in stored_marks(verdict.steps) for s in c.steps]
    assert [[m.left, m.relation, m.right, m.status] for m in marks] == row["steps"]
    for mark in marks:
        assert (mark.status == "wrong") == (mark.witness is not None)
    if "witness" in row:
        first = next(m for m in marks if m.status == "wrong")
        assert first.witness is not None and first.witness.at == row["witness"]


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("$$a + b = c \\bmod n$$", "modular arithmetic"),
        ("We have $a + b = c$ mod $n$.", "not read (mod)"),
        ("$$dL/dp = -1/p$$", "a derivative"),
        ("$$int_0^1 x = 1/2$$", "an integral"),
        ("$$lim_{x \\to 0} x + 1 = 1$$", "a limit"),
    ],
)
def test_notation_that_is_no_identity_is_never_wrong_in_latex(text: str, why: str) -> None:
    verdict = check(TextPart.model_validate({"type": "text", "id": "a"}), text)
    marks = [s for c in stored_marks(verdict.steps) for s in c.steps]
    assert marks and all(m.status == "undecided" for m in marks)
    assert why in (marks[0].certificate or "")


PROBLEMS = """\
assignment: a1
questions:
  - id: q1
    prompt: For the softplus sigma_s(z) = log(1 + e^z), show that sigma_s' is the logistic function.
    type: text
    symbols: {z: real}
    functions: {sigma_s: "log(1 + exp(x))"}
"""


def test_text_part_declarations_reach_grading_and_the_steps_command(tmp_path: Path) -> None:
    problems = tmp_path / "p.yaml"
    problems.write_text(PROBLEMS)
    student = tmp_path / "alice"
    student.mkdir()
    answer = "sigma_s'(z) = e^z/(1+e^z) = 1/(1+e^{-z}), and sigma_s'(z) = 1/(1+e^z) is wrong"
    (student / "answers.yaml").write_text(f"answers:\n  q1: {json.dumps(answer)}\n")
    graded = CliRunner().invoke(
        main, ["grade", str(student), "-p", str(problems), "-f", "json", "--show-expected"]
    )
    assert graded.exit_code == 0, graded.output
    (part,) = json.loads(graded.stdout)["parts"]
    assert part["status"] == "manual"
    marks = [s for c in part["steps"] for s in c["steps"]]
    assert [s["status"] for s in marks] == ["shown", "shown", "undecided"]
    assert "typed without delimiters" in marks[2]["certificate"]  # typed: a failing point is no witness

    write_up = tmp_path / "w.md"
    write_up.write_text("$$\\sigma_s'(z) = \\frac{1}{1+e^{z}}$$\n")
    marked = CliRunner().invoke(
        main, ["steps", str(write_up), "-p", str(problems), "--part", "q1", "--format", "json"]
    )
    assert marked.exit_code == 0, marked.output
    (step,) = json.loads(marked.output)["chains"][0]["steps"]
    assert step["status"] == "wrong" and step["witness"]["at"] == {"z": "1"}


def test_a_text_part_function_that_does_not_read_is_refused(tmp_path: Path) -> None:
    problems = tmp_path / "p.yaml"
    problems.write_text(PROBLEMS.replace('"log(1 + exp(x))"', '"log(1 + "'))
    result = CliRunner().invoke(main, ["validate", str(problems)])
    assert result.exit_code != 0
    assert "functions" in result.output and "never closed" in result.output


def test_grading_with_a_function_that_does_not_read_stays_manual_without_marks() -> None:
    part = TextPart.model_validate({"type": "text", "id": "a", "functions": {"g": "log(1 + "}})
    verdict = check(part, "$$g(2) = 1 = 2$$")
    assert verdict.status == "manual" and not verdict.steps
