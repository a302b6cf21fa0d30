"""What the exports to other systems (GitHub, Gradescope, Canvas, Moodle, JUnit) share."""

from __future__ import annotations

from grader.core.report import PartResult, Report, shown_points
from grader.reporting.escape import plain_text


def points(value: float) -> str:
    """7.0 -> ``7``, 2.5 -> ``2.5``, 2/3 -> ``0.67``: a gradebook's cell, read by people."""
    return shown_points(value)


def hand_graded(part: PartResult) -> bool:
    """A part that waits for a TA: one graded by hand (a proof, an essay), answered or not,
    that no TA has graded yet."""
    from grader.types import ANSWER_TYPES  # here: a gradebook's commands start without the checkers

    answer_type = ANSWER_TYPES.get(part.type)
    return answer_type is not None and not answer_type.auto_graded and part.hand is None


def auto_graded_max(report: Report) -> float:
    """The points counted in a report's score: every part but those waiting for a TA."""
    return round(sum(p.max_score for p in report.parts if not hand_graded(p)), 6)


def fenced(text: str) -> str:
    """A Markdown code block that no backtick run inside ``text`` can close (control
    characters shown as symbols)."""
    fence = "```"
    while fence in text:
        fence += "`"
    return f"{fence}\n{plain_text(text, keep_newlines=True)}\n{fence}"
