"""Helpers of the PDF tests and benchmarks: grader's template filled with answers, compiled."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import yaml
from click.testing import CliRunner

from grader.cli import main

ROOT = Path(__file__).parent.parent
NEEDS_PDFLATEX = shutil.which("pdflatex") is None


def seeds() -> list[tuple[str, str]]:
    """(problem set, seed folder) of every shipped seed submission."""
    return sorted(
        (folder.parent.name, folder.name)
        for folder in (ROOT / "submissions").glob("*/*")
        if (folder / "answers.yaml").is_file()
    )


def template_text(problem_set: str, out: Path) -> str:
    problem_file = ROOT / "problems" / f"{problem_set}.yaml"
    result = CliRunner().invoke(main, ["template", "-p", str(problem_file), "-f", "latex", "-o", str(out)])
    assert result.exit_code == 0, result.output
    return out.read_text(encoding="utf-8")


def _as_text(answer: Any) -> str:
    if isinstance(answer, str):
        return answer
    return yaml.safe_dump(answer, default_flow_style=True, width=10_000).strip()


def fill_template(text: str, answers: dict[str, Any]) -> str:
    """The template with each answer typed into its mark, as typed (a verbatim block)."""

    def fill(match: re.Match[str]) -> str:
        part_id = match.group(1)
        if part_id not in answers:
            return match.group(0)
        body = _as_text(answers[part_id])
        if "\\end{verbatim}" in body:
            return match.group(0)
        verbatim = f"\\begin{{verbatim}}\n{body}\n\\end{{verbatim}}"
        return f"\\begin{{answer}}{{{part_id}}}\n{verbatim}\n\\end{{answer}}"

    return re.sub(r"\\begin\{answer\}\{([^}]*)\}\s*\\end\{answer\}", fill, text)


def compile_latex(folder: Path, name: str = "main.tex") -> Path:
    """pdflatex, twice (destinations settle), no shell escape; the PDF made."""
    for _ in range(2):
        done = subprocess.run(
            ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "-no-shell-escape", name],
            cwd=folder,
            capture_output=True,
            text=True,
            timeout=180,
        )
        assert done.returncode == 0, done.stdout[-3000:]
    return folder / Path(name).with_suffix(".pdf")


def filled_seed(problem_set: str, seed: str, folder: Path) -> Path:
    """The seed's answers typed into the problem set's template, compiled: the main.tex's folder."""
    folder.mkdir(parents=True, exist_ok=True)
    answers = yaml.safe_load((ROOT / "submissions" / problem_set / seed / "answers.yaml").read_text())
    text = fill_template(template_text(problem_set, folder / "main.tex"), answers.get("answers", {}))
    (folder / "main.tex").write_text(text, encoding="utf-8")
    compile_latex(folder)
    return folder
