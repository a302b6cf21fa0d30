"""Issue 58 through the readers a student uses: an answers.yaml and a LaTeX write-up.

Exact numbers at tolerance 0 (Machin-like sums, cosines at rational multiples of pi,
tanh^-1(1/2), (e^{-10})^{100}), the number vocabulary (bare e, sigma(0), artanh), the size
guard on the value (ln(e^{1000})), in number and expression parts; and code written in
double quotes with \\n escapes. The checker tables hold the same literals part by part
(tests/cases/number.yaml, validated.yaml, code.yaml)."""

from __future__ import annotations

from pathlib import Path

import pytest

from grader.core.yamlio import load_with_positions
from grader.engine import grade
from grader.loading import load_submission, parse_problem_set

PROBLEMS = r"""
assignment: issue-58
questions:
  - {id: machin, type: number, answer: '\frac{\pi}{4}', rtol: 0, atol: 0}
  - {id: machin_f, type: expression, answer: '\frac{\pi}{4}', rtol: 0, atol: 0}
  - {id: heptagon, type: number, answer: '-\frac{1}{2}', rtol: 0, atol: 0}
  - {id: artanh, type: number, answer: '\frac{1}{2}\ln 3', rtol: 0, atol: 0}
  - {id: artanh_f, type: expression, answer: '\frac{1}{2}\ln 3', rtol: 0, atol: 0}
  - {id: power, type: number, answer: 'e^{-1000}', rtol: 0, atol: 0}
  - {id: euler, type: number, answer: 2.718282, rtol: 1.0e-6}
  - {id: sigma, type: number, answer: 0.5, rtol: 0, atol: 0}
  - {id: guard, type: number, answer: 1000, rtol: 0, atol: 0}
  - {id: guard_f, type: expression, answer: 'x', symbols: {x: real}}
  - {id: pair, type: array, answer: [0.5, 1000], rtol: 0, atol: 0}
"""

# (part, answer as written, status); every correct one is certified
ANSWERS = [
    ("machin", r"4\arctan(1/5) - \arctan(1/239)", "correct"),
    ("machin_f", r"\arctan(\frac{1}{2}) + \arctan(\frac{1}{3})", "correct"),
    ("heptagon", r"\cos(\frac{2\pi}{7}) + \cos(\frac{4\pi}{7}) + \cos(\frac{6\pi}{7})", "correct"),
    ("artanh", r"\tanh^{-1}(0.5)", "correct"),
    ("artanh_f", r"\operatorname{artanh}(1/2)", "correct"),
    ("power", r"(e^{-10})^{100}", "correct"),
    ("euler", r"e", "correct"),
    ("sigma", r"\sigma(0)", "correct"),
    ("guard", r"\ln(e^{1000})", "correct"),
    ("guard_f", r"\ln(e^{1000}) x / 1000", "correct"),
    ("pair", r"[\sigma(0), \ln(e^{1000})]", "correct"),
]
WRONG = [
    ("machin", r"4\arctan(1/5) - \arctan(1/240)", "incorrect"),
    ("heptagon", r"\cos(\frac{2\pi}{7}) + \cos(\frac{4\pi}{7})", "incorrect"),
    ("artanh", r"\tanh^{-1}(1/3)", "incorrect"),
    ("power", r"(e^{-10})^{101}", "incorrect"),
    ("guard", r"\ln(e^{1001})", "incorrect"),
]


def _graded(folder: Path, rows: list[tuple[str, str, str]]) -> None:
    spec = parse_problem_set(PROBLEMS)
    report = grade(spec, load_submission(folder))
    results = {result.id: result for result in report.parts}
    for part_id, answer, status in rows:
        result = results[part_id]
        assert result.status.value == status, (part_id, answer, result.feedback)
        if status in ("correct", "incorrect"):
            assert result.decision is not None and result.decision.kind.certified, (part_id, result.decision)


def _single_quoted(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


@pytest.mark.parametrize("rows", [ANSWERS, WRONG], ids=["right", "wrong"])
def test_answers_yaml(tmp_path: Path, rows: list[tuple[str, str, str]]) -> None:
    lines = ["answers:"] + [f"  {part_id}: {_single_quoted(answer)}" for part_id, answer, _ in rows]
    (tmp_path / "answers.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    _graded(tmp_path, rows)


@pytest.mark.parametrize("rows", [ANSWERS, WRONG], ids=["right", "wrong"])
def test_latex_writeup(tmp_path: Path, rows: list[tuple[str, str, str]]) -> None:
    marks = "\n".join(f"\\answer{{{part_id}}}{{${answer}$}}" for part_id, answer, _ in rows)
    text = f"\\documentclass{{article}}\n\\begin{{document}}\n{marks}\n\\end{{document}}\n"
    (tmp_path / "main.tex").write_text(text, encoding="utf-8")
    _graded(tmp_path, rows)


@pytest.mark.parametrize(
    ("written", "read"),
    [
        (r'"def f(x):\n    return x\n"', "def f(x):\n    return x\n"),
        (r'"y = 2 * x\nreturn y"', "y = 2 * x\nreturn y"),
        (r'"def f(x):\n\treturn x"', "def f(x):\n\treturn x"),
        (r'"def f(x):\n    return \"a\\nb\""', 'def f(x):\n    return "a\\nb"'),
        # LaTeX stays as typed, even where YAML would read a line break
        (r'"\nabla_W L = x^T \delta"', r"\nabla_W L = x^T \delta"),
        (r'"\nu"', r"\nu"),
        (r'"x\nu"', r"x\nu"),
        (r'"a \neq b\nc"', r"a \neq b\nc"),
        (r'"\frac{1}{2}\theta"', r"\frac{1}{2}\theta"),
    ],
)
def test_double_quoted_code_is_read_as_yaml_reads_it(written: str, read: str) -> None:
    data, _ = load_with_positions(f"answers:\n  q1: {written}\n")
    assert data["answers"]["q1"] == read
