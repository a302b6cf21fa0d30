"""A PDF made from grader's template grades exactly as its .tex (issue 62): every shipped problem
set's template, filled with its seed's answers and compiled by pdflatex, handed in as the PDF
alone, gives the same verdicts part for part as the .tex; every part is mapped to its pages."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from pdf_support import NEEDS_PDFLATEX, ROOT, filled_seed, seeds

from grader.cli import main
from grader.engine import grade
from grader.loading import load_problem_set, load_submission

# Slow: pdflatex twice per problem set (a minute on 2 loaded cores).
pytestmark = [
    pytest.mark.skipif(NEEDS_PDFLATEX, reason="needs pdflatex (apt-get install texlive-latex-base)"),
    pytest.mark.slow,
]
COMPARED = ("id", "status", "score", "max_score", "feedback", "received")


def _report(folder: Path, problem_set: str) -> dict[str, object]:
    key = ["--variant-key", "pdf-test"] if problem_set.startswith("variants") else []
    problem_file = ROOT / "problems" / f"{problem_set}.yaml"
    result = CliRunner().invoke(main, ["grade", str(folder), "-p", str(problem_file), "-f", "json", *key])
    assert result.exit_code == 0, result.output
    report: dict[str, object] = json.loads(result.stdout)
    return report


def _parts(report: dict[str, object]) -> list[dict[str, object]]:
    parts = report["parts"]
    assert isinstance(parts, list)
    return [{key: part.get(key) for key in COMPARED} for part in parts]


@pytest.mark.parametrize(("problem_set", "seed"), seeds(), ids=lambda value: value)
def test_the_template_pdf_grades_as_its_tex(problem_set: str, seed: str, tmp_path: Path) -> None:
    tex = filled_seed(problem_set, seed, tmp_path / "tex" / seed)  # same folder name: same student
    handed_in = tmp_path / "pdf" / seed
    handed_in.mkdir(parents=True)
    shutil.copy(tex / "main.pdf", handed_in / "homework.pdf")
    from_tex, from_pdf = _report(tex, problem_set), _report(handed_in, problem_set)
    assert _parts(from_pdf) == _parts(from_tex)
    assert (from_pdf["score"], from_pdf["max_score"]) == (from_tex["score"], from_tex["max_score"])
    assert "grader's template" in " ".join(from_pdf["notes"])  # type: ignore[arg-type]
    if problem_set.startswith("variants"):
        return
    spec = load_problem_set(ROOT / "problems" / f"{problem_set}.yaml")
    report = grade(spec, load_submission(handed_in))
    pages = report.pages
    assert set(pages) == {part_id for part_id, _, _ in spec.iter_parts()}  # every part mapped
    assert all(pages[p] and min(pages[p]) >= 1 for p in pages)


def test_a_template_pdf_without_pdflatex_marks_is_a_typeset_pdf(tmp_path: Path) -> None:
    """The embedded source is what makes a template PDF: printed again (no source), the PDF is
    read as any typeset PDF, its parts found by their headings and none guessed."""
    tex = filled_seed("rnn-optimisation-attention", "seed-003", tmp_path / "tex")
    folder = tmp_path / "printed"
    folder.mkdir()
    import pypdf

    writer = pypdf.PdfWriter()
    for page in pypdf.PdfReader(tex / "main.pdf").pages:
        writer.add_page(page)
    writer.write(folder / "homework.pdf")
    spec = load_problem_set(ROOT / "problems" / "rnn-optimisation-attention.yaml")
    report = grade(spec, load_submission(folder))
    assert "parts found by their headings" in " ".join(report.notes)
    assert len(report.pages) >= 0.9 * len(report.parts)
    for part in report.parts:
        assert part.status.value in ("manual", "correct", "incorrect", "invalid", "partial"), part
