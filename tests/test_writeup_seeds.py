"""The seed homeworks as write-ups: every submission in submissions/ also exists in
tests/writeups/ as LaTeX, Markdown or a notebook (its answers.yaml marked up), and grading
the write-up gives the same report, part for part, as grading the answers file.

Both are graded by the CLI here, so a change to a checker cannot make them drift apart
unnoticed; tests/test_golden.py pins the answers files' reports themselves.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from grader.cli import main
from grader.writeups.latex import grader_sty

ROOT = Path(__file__).parent.parent
WRITEUPS = Path(__file__).parent / "writeups"
COMPARED = ("id", "status", "score", "max_score", "feedback")


def _seeds() -> list[tuple[str, str]]:
    return sorted(
        (folder.parent.name, folder.name)
        for folder in (ROOT / "submissions").glob("*/*")
        if folder.is_dir() and not folder.name.startswith(".")
    )


def _report(folder: Path, problem_set: str) -> dict[str, object]:
    problem_file = ROOT / "problems" / f"{problem_set}.yaml"
    result = CliRunner().invoke(main, ["grade", str(folder), "-p", str(problem_file), "-f", "json"])
    assert result.exit_code == 0, result.output
    report: dict[str, object] = json.loads(result.stdout)
    return report


def _parts(report: dict[str, object]) -> list[dict[str, object]]:
    parts = report["parts"]
    assert isinstance(parts, list)
    return [{key: part[key] for key in COMPARED} for part in parts]


def test_every_seed_has_a_writeup_and_the_formats_are_mixed() -> None:
    kinds = {}
    for problem_set, seed in _seeds():
        folder = WRITEUPS / problem_set / seed
        files = [p for p in folder.rglob("*") if p.suffix in (".tex", ".md", ".ipynb")]
        assert files, f"no write-up for submissions/{problem_set}/{seed} in {folder}"
        kinds[seed] = {p.suffix for p in files}
        assert not (folder / "answers.yaml").exists(), "an answers.yaml would be graded instead"
    assert set().union(*kinds.values()) == {".tex", ".md", ".ipynb"}


@pytest.mark.parametrize(("problem_set", "seed"), _seeds(), ids=lambda value: value)
def test_the_writeup_grades_as_the_answers_file(problem_set: str, seed: str) -> None:
    from_yaml = _report(ROOT / "submissions" / problem_set / seed, problem_set)
    writeup = WRITEUPS / problem_set / seed
    from_writeup = _report(writeup, problem_set)
    assert _parts(from_writeup) == _parts(from_yaml)
    assert (from_writeup["score"], from_writeup["max_score"]) == (from_yaml["score"], from_yaml["max_score"])
    assert "warnings" not in from_writeup, from_writeup.get("warnings")
    (note,) = from_writeup["notes"]
    assert note.startswith("graded the write-up: ") and str(writeup) in note


NEEDS_LATEX = pytest.mark.skipif(
    shutil.which("pdflatex") is None, reason="needs pdflatex (apt-get install texlive-latex-base)"
)


def _pdflatex(folder: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "-no-shell-escape", "main.tex"],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=120,
    )


@NEEDS_LATEX
@pytest.mark.parametrize("main_tex", sorted(WRITEUPS.rglob("main.tex")), ids=lambda p: p.parent.name)
def test_the_latex_writeups_compile(main_tex: Path, tmp_path: Path) -> None:
    copy = tmp_path / "writeup"
    shutil.copytree(main_tex.parent, copy)
    (copy / "grader.sty").write_text(grader_sty(), encoding="utf-8")
    result = _pdflatex(copy)
    assert result.returncode == 0, result.stdout[-2000:]


@NEEDS_LATEX
def test_the_latex_skeleton_compiles_on_its_own(tmp_path: Path) -> None:
    problem_file = ROOT / "problems" / "activations-softmax-conv.yaml"
    result = CliRunner().invoke(
        main, ["template", "-p", str(problem_file), "-f", "latex", "-o", str(tmp_path / "main.tex")]
    )
    assert result.exit_code == 0
    compiled = _pdflatex(tmp_path)
    assert compiled.returncode == 0, compiled.stdout[-2000:]
    assert (tmp_path / "main.pdf").stat().st_size > 0 and (tmp_path / "grader.sty").exists()
