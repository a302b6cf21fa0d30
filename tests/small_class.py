"""A small class on disk for batch tests: a problem file and one folder a sheet, the sheets'
answers taken in turn from a list (some right, some wrong, some unreadable, some empty)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml


def small_class(
    tmp_path: Path, problems: str, given: list[dict[str, Any]], sheets: int, name: str
) -> tuple[Path, Path]:
    """(the problem file ``<name>.yaml``, the class folder of ``sheets`` folders s000, s001, ...)."""
    problem_file = tmp_path / f"{name}.yaml"
    problem_file.write_text(problems, encoding="utf-8")
    root = tmp_path / "class"
    for number in range(sheets):
        folder = root / f"s{number:03d}"
        folder.mkdir(parents=True)
        (folder / "answers.yaml").write_text(yaml.safe_dump(given[number % len(given)]), encoding="utf-8")
    return problem_file, root


def three_part_problems(assignment: str, title: str, more: str = "") -> str:
    """A problem file of three parts, q1 and q3 expressions in x, q2 a text part graded by hand,
    then the questions of ``more`` (YAML list items, indented as these)."""
    return f"""\
assignment: {assignment}
title: {title}
questions:
  - id: q1
    type: expression
    symbols: {{x: real}}
    answer: "2*x"
    points: 2
  - id: q2
    type: text
    points: 4
  - id: q3
    type: expression
    symbols: {{x: real}}
    answer: "x**2"
    points: 3
{more}"""
