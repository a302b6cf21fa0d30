"""Write-up tables (tests/cases/writeups/*.yaml): a submission folder written from the table,
read as a worker reads it (answers file, LaTeX, Markdown, notebook) and each part checked
through the engine, or refused with the reason the student is told."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_raw_cell
from pydantic import TypeAdapter

from grader.core.yamlio import load_with_positions
from grader.engine import check_part
from grader.reading import read_submission
from grader.spec import Part

CASES = Path(__file__).parent / "cases" / "writeups"
PART = TypeAdapter(Part)
_CELLS = {"markdown": new_markdown_cell, "code": new_code_cell, "raw": new_raw_cell}


def _load_cases() -> list[Any]:
    params = []
    for path in sorted(CASES.glob("*.yaml")):
        groups, _ = load_with_positions(path.read_text(encoding="utf-8"))
        for group in groups:
            for part_id in group["expect"]:
                test_id = f"{path.stem}: {group['description']}: {part_id}"
                params.append(pytest.param(group, part_id, id=test_id))
    return params


def _write_folder(folder: Path, group: dict[str, Any]) -> None:
    for name, text in (group.get("files") or {}).items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    if "notebook" in group:
        cells = []
        for number, cell in enumerate(group["notebook"], start=1):
            kind = next(k for k in _CELLS if k in cell)
            made = _CELLS[kind](cell[kind], metadata={"tags": cell.get("tags", [])})
            made["id"] = f"c{number}"
            cells.append(made)
        nbformat.write(new_notebook(cells=cells), str(folder / "hw.ipynb"))


@pytest.mark.parametrize(("group", "part_id"), _load_cases())
def test_writeup_case(tmp_path: Path, group: dict[str, Any], part_id: str) -> None:
    _write_folder(tmp_path, group)
    submission = read_submission(str(tmp_path), "s1")
    assert submission.load_error is None, submission.load_error
    expected = group["expect"][part_id]
    warnings = "\n".join(submission.warnings)
    if "refused" in expected:  # never graded: no answer taken, and the student told why
        assert part_id not in submission.answers, submission.answers
        assert f"part {part_id} is not graded" in warnings, warnings
        assert expected["refused"] in warnings, warnings
        return
    assert part_id in submission.answers, warnings
    part = PART.validate_python({"id": part_id, **group["parts"][part_id]})
    verdict = check_part(part, submission.answers[part_id])
    assert verdict.status.value == expected["status"], (submission.answers[part_id], verdict.feedback)
    if "feedback" in expected:
        assert expected["feedback"].lower() in verdict.feedback.lower(), verdict.feedback
    if "certificate" in expected:
        assert verdict.decision is not None, verdict.feedback
        assert verdict.decision.kind.value == expected["certificate"], verdict.decision.method
