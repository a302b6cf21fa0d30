"""Code answers in every format a student hands in: the template gives each code part a place
that keeps the code's lines (a ``|`` block, ``verbatim``, a fenced ``python`` block, a code
cell), and grader reads the code from there with its line breaks and grades it; advice for
code a write-up read as one line speaks the write-up's language."""

from __future__ import annotations

import json
import shutil
import subprocess
import textwrap
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from code_support import needs_sandbox

from grader.cli import main

PROBLEMS = """\
assignment: code-hw
questions:
  - id: q1
    type: code
    entry: label
    inputs: {x: {shape: [3]}}
    answer: |
      def label(x):
          return 2 * x
  - id: q2
    type: number
    answer: 12
"""
# Indentation, a blank line, a comment, and what LaTeX and Markdown would read otherwise.
CODE = """\
def label(x):
    # 50% of the "$cost" goes to x_1 & {friends} ~ \\ok

    scale = {"$": 2, "%": 0, "_": 1}
    return x * scale["$"]  # doubled
"""
FILES = {"yaml": "answers.yaml", "latex": "main.tex", "markdown": "answers.md", "ipynb": "answers.ipynb"}


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def problems(tmp_path: Path) -> Path:
    path = tmp_path / "code-hw.yaml"
    path.write_text(PROBLEMS)
    return path


def template(problems: Path, fmt: str, folder: Path) -> Path:
    folder.mkdir(exist_ok=True)
    path = folder / FILES[fmt]
    code, _, stderr = run("template", "-p", str(problems), "-f", fmt, "-o", str(path))
    assert code == 0, stderr
    return path


def fill(path: Path, fmt: str, code: str = CODE) -> None:
    """The student's code where the template leaves room for it, and 12 for q2."""
    text = path.read_text()
    if fmt == "yaml":
        text = text.replace("student: \n", "student: ann\n")
        text = text.replace("  q1:\n", "  q1: |\n" + textwrap.indent(code, "    ")).replace("q2:", "q2: 12")
    elif fmt == "latex":
        assert "\\begin{verbatim}\n\n\\end{verbatim}" in text
        text = text.replace(
            "\\begin{verbatim}\n\n\\end{verbatim}", f"\\begin{{verbatim}}\n{code}\\end{{verbatim}}"
        )
        text = text.replace("\\begin{answer}{q2}\n\n", "\\begin{answer}{q2}\n$12$\n")
    elif fmt == "markdown":
        assert "```python\n\n```" in text
        text = text.replace("```python\n\n```", f"```python\n{code}```").replace(
            "Answer q2:", "Answer q2: 12"
        )
    else:
        notebook = json.loads(text)
        for cell in notebook["cells"]:
            tags = cell["metadata"].get("tags", [])
            if tags == ["answer:q1"]:
                assert cell["cell_type"] == "code"  # Python typed in a Markdown cell would be one line
                cell["source"] = code
            elif tags == ["answer:q2"]:
                cell["source"] = "12"
        text = json.dumps(notebook)
    path.write_text(text)


def grade(folder: Path, problems: Path) -> dict[str, Any]:
    code, out, stderr = run("grade", str(folder), "-p", str(problems), "-f", "json")
    assert code in (0, 1), stderr
    report: dict[str, Any] = json.loads(out)
    return {part["id"]: part for part in report["parts"]}


@pytest.mark.parametrize("fmt", list(FILES))
def test_the_template_of_a_code_part_keeps_the_codes_lines(problems: Path, tmp_path: Path, fmt: str) -> None:
    path = template(problems, fmt, tmp_path / "ann")
    fill(path, fmt)
    code, out, stderr = run("check", str(path.parent), "-p", str(problems))
    assert code == 0, out + stderr
    shown = out.splitlines()
    start = shown.index("    read as typed:")
    assert shown[start + 1 : start + 6] == [f"      {line}".rstrip() for line in CODE.splitlines()]
    assert "cannot be read" not in out.replace("0 cannot be read", "")


@needs_sandbox
@pytest.mark.parametrize("fmt", list(FILES))
def test_a_multi_line_function_filled_into_any_template_is_graded_correct(
    problems: Path, tmp_path: Path, fmt: str
) -> None:
    path = template(problems, fmt, tmp_path / "ann")
    fill(path, fmt)
    parts = grade(path.parent, problems)
    assert parts["q1"]["status"] == "correct", parts["q1"]
    assert parts["q1"]["received"].strip() == CODE.strip()
    assert parts["q2"]["status"] == "correct"


@pytest.mark.parametrize("fmt", ["latex", "markdown", "ipynb"])
def test_the_hint_of_a_code_part_speaks_the_writeups_language(problems: Path, fmt: str) -> None:
    code, text, _ = run("template", "-p", str(problems), "-f", fmt)
    assert code == 0
    assert "| block" not in text and "yourfile.py" not in text  # YAML's advice
    expected = {
        "latex": "begin\\{verbatim\\}",
        "markdown": "```python block",
        "ipynb": "code cell tagged answer:q1",
    }
    assert expected[fmt] in text


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="pdflatex is not installed")
def test_the_latex_template_with_code_filled_in_compiles(problems: Path, tmp_path: Path) -> None:
    path = template(problems, "latex", tmp_path / "ann")
    fill(path, "latex")
    done = subprocess.run(
        ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "-no-shell-escape", "main.tex"],
        cwd=path.parent,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-2000:]
    assert (path.parent / "main.pdf").stat().st_size > 0


def test_lstlisting_inside_an_answer_is_read_as_typed(problems: Path, tmp_path: Path) -> None:
    folder = tmp_path / "ann"
    folder.mkdir()
    (folder / "main.tex").write_text(
        "\\documentclass{article}\\usepackage{grader}\\usepackage{listings}\n\\begin{document}\n"
        f"\\begin{{answer}}{{q1}}\n\\begin{{lstlisting}}[language=Python]\n{CODE}\\end{{lstlisting}}\n"
        "\\end{answer}\n\\end{document}\n"
    )
    code, out, _ = run("check", str(folder), "-p", str(problems))
    assert code == 0 and '          scale = {"$": 2, "%": 0, "_": 1}' in out.splitlines()


@pytest.mark.parametrize(
    ("fmt", "writeup", "advice"),
    [
        (
            "latex",
            "\\begin{answer}{q1}\ndef label(x):\n    y = 2 * x\n    return y\n\\end{answer}\n",
            "In a LaTeX write-up, write code in \\begin{verbatim} ... \\end{verbatim}",
        ),
        (
            "markdown",
            "Answer q1:\ndef label(x):\n    y = 2 * x\n    return y\n",
            "In a Markdown write-up, write code in a fenced ```python block right under its Answer line",
        ),
        (
            "ipynb",
            "def label(x):\n    y = 2 * x\n    return y\n",
            "In a notebook write-up, write code in a code cell tagged answer:",
        ),
    ],
)
def test_code_a_writeup_read_as_one_line_gets_advice_in_its_language(
    problems: Path, tmp_path: Path, fmt: str, writeup: str, advice: str
) -> None:
    folder = tmp_path / "ann"
    folder.mkdir()
    if fmt == "ipynb":  # Python typed in a Markdown cell
        cell = {"cell_type": "markdown", "metadata": {"tags": ["answer:q1"]}, "source": writeup}
        writeup = json.dumps({"cells": [cell], "metadata": {}, "nbformat": 4, "nbformat_minor": 5})
    if fmt == "latex":
        preamble = "\\documentclass{article}\\usepackage{grader}\\begin{document}\n"
        writeup = f"{preamble}{writeup}\\end{{document}}\n"
    (folder / FILES[fmt]).write_text(writeup)
    feedback = grade(folder, problems)["q1"]
    assert feedback["status"] == "invalid"
    assert advice in feedback["feedback"] and "| block" not in feedback["feedback"]
