"""Golden end-to-end runs of ``grader steps`` on the five seed sheets (issue 61): every chain
found and every step's mark, compared with the reviewed JSON in tests/golden/steps/.

The sheets are copies of the seed homework (tests/fixtures/seed-sheets/, one an OCR'd
scan). After a deliberate change, regenerate with ``GRADER_UPDATE_GOLDEN=1 python -m pytest
tests/test_golden_steps.py`` and review every changed mark in the diff: a step newly marked
wrong must be wrong on the sheet.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from grader.cli import main

SHEETS = sorted((Path(__file__).parent / "fixtures" / "seed-sheets").glob("*.md"))
GOLDEN = Path(__file__).parent / "golden" / "steps"


@pytest.mark.parametrize("sheet", SHEETS, ids=lambda p: p.stem[:3])
def test_seed_sheet_steps(sheet: Path) -> None:
    result = CliRunner().invoke(main, ["steps", str(sheet), "--format", "json"])
    assert result.exit_code == 0, result.output
    marks = json.loads(result.stdout)
    golden = GOLDEN / f"{sheet.stem}.json"
    if os.environ.get("GRADER_UPDATE_GOLDEN"):
        golden.write_text(json.dumps(marks, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    assert golden.exists(), f"no golden {golden}; create it with GRADER_UPDATE_GOLDEN=1"
    assert marks == json.loads(golden.read_text(encoding="utf-8"))
    assert marks["chains"], "the sheet's chains are found"


def test_five_seed_sheets() -> None:
    assert len(SHEETS) == 5
