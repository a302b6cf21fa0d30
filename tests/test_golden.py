"""Golden end-to-end runs: every shipped submission graded by the CLI, compared with
its reviewed JSON report in tests/golden/<problem set>/<student>.json.

After a deliberate change, regenerate with ``GRADER_UPDATE_GOLDEN=1 python -m pytest
tests/test_golden.py`` and review every changed verdict in the diff.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner
from code_support import skip_unless_problem_set_runs

from grader.cli import main

ROOT = Path(__file__).parent.parent
GOLDEN = Path(__file__).parent / "golden"


def _cases() -> list[tuple[Path, Path]]:
    cases = []
    for problem_file in sorted((ROOT / "problems").glob("*.yaml")):
        folder = ROOT / "submissions" / problem_file.stem
        if folder.is_dir():
            cases += [(problem_file, student) for student in sorted(folder.iterdir()) if student.is_dir()]
    return cases


@pytest.mark.parametrize(("problem_file", "student"), _cases(), ids=lambda p: p.stem if p.suffix else p.name)
def test_golden_report(problem_file: Path, student: Path) -> None:
    skip_unless_problem_set_runs(problem_file)
    hand = student.parent / "hand.yaml"  # the TAs' grades of the text parts, pinned already
    extra = ["--hand", str(hand)] if hand.exists() else []
    result = CliRunner().invoke(main, ["grade", str(student), "-p", str(problem_file), "-f", "json", *extra])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    golden = GOLDEN / problem_file.stem / f"{student.name}.json"
    if os.environ.get("GRADER_UPDATE_GOLDEN"):
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    assert golden.exists(), f"no golden report {golden}; create it with GRADER_UPDATE_GOLDEN=1"
    expected = json.loads(golden.read_text(encoding="utf-8"))
    assert report == expected


def test_every_problem_set_has_submissions() -> None:
    stems = {p.stem for p in (ROOT / "problems").glob("*.yaml")}
    folders = {p.name for p in (ROOT / "submissions").iterdir() if p.is_dir()}
    assert stems <= folders, f"problem sets without example submissions: {sorted(stems - folders)}"
