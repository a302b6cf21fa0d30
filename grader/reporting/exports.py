"""What the exports to other systems (GitHub, Gradescope, Canvas, Moodle, JUnit) share."""

from __future__ import annotations

from grader.core.report import PartResult, Report, points_value
from grader.types import ANSWER_TYPES


def points(value: float) -> str:
    """7.0 -> ``7``, 2.5 -> ``2.5``."""
    return str(points_value(value))


def hand_graded(part: PartResult) -> bool:
    """A part a TA grades by hand (a proof, an essay), answered or not."""
    answer_type = ANSWER_TYPES.get(part.type)
    return answer_type is not None and not answer_type.auto_graded


def auto_graded_max(report: Report) -> float:
    """The points grader itself awards: the same for every student of a problem set."""
    return round(sum(p.max_score for p in report.parts if not hand_graded(p)), 6)


def fenced(text: str) -> str:
    """A Markdown code block that no backtick run inside ``text`` can close."""
    fence = "```"
    while fence in text:
        fence += "`"
    return f"{fence}\n{text}\n{fence}"
