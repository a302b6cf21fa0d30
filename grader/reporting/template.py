"""A blank ``answers.yaml`` for students, each part's prompt as a comment."""

from __future__ import annotations

import re
import textwrap

from grader.core.parts import PartBase
from grader.reporting.schema import ANSWERS_SCHEMA_BESIDE_TEMPLATE, SCHEMA_COMMENT
from grader.spec import ProblemSet
from grader.types import ANSWER_TYPES

_PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")


def render_template(spec: ProblemSet) -> str:
    lines = [
        SCHEMA_COMMENT + ANSWERS_SCHEMA_BESIDE_TEMPLATE,
        f"# {spec.assignment}" + (f": {spec.title}" if spec.title else ""),
    ]
    lines += [
        "# Write each answer after its colon; a part left empty counts as missing.",
        "# Put LaTeX in single quotes: q1: '\\frac{1}{2}' (double quotes treat \\f as an escape).",
        "# Several lines: write | after the colon, then the lines below it, indented.",
        "# Before handing in, `grader check -p <problem set>` shows how grader reads each answer.",
        "student: ",
        "answers:",
    ]
    for question in spec.questions:
        heading = f"  # --- {question.id}" + (f": {question.title}" if question.title else "")
        lines.append(heading)
        if question.prompt and not question.single:
            lines += _comment(question.prompt, "  # ")
        for part in question.parts:
            address = question.id if question.single else f"{question.id}.{part.id}"
            points = f"{part.points:g} point" + ("" if part.points == 1 else "s")
            lines.append(f"  # {address} ({part.type}, {points})")
            if part.prompt:
                lines += _comment(part.prompt, "  #   ")
            hint = _hint(part)
            if hint:
                lines.append(f"  #   answer with {hint}")
            lines.append(f"  {_key(address)}:")
    return "\n".join(lines) + "\n"


def _hint(part: PartBase) -> str:
    answer_type = ANSWER_TYPES.get(part.type)
    return answer_type.hint(part) if answer_type else ""


def _comment(text: str, prefix: str) -> list[str]:
    out = []
    for paragraph in text.strip().splitlines():
        wrapped = textwrap.wrap(paragraph, width=88 - len(prefix)) or [""]
        out += [prefix + line for line in wrapped]
    return out


def _key(address: str) -> str:
    """Quote ids YAML would read as numbers (``1.10``) or booleans."""
    if _PLAIN_KEY.match(address) and address.lower() not in (
        "true",
        "false",
        "null",
        "yes",
        "no",
        "on",
        "off",
    ):
        return address
    return "'" + address.replace("'", "''") + "'"
