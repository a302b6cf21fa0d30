"""What a student reads about a TA's grade: the comment, marked as the TA's, the rubric
items applied, and for an override the automatic verdict it replaced and why."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from grader.core.report import HandMark, Report, shown_points
from grader.core.summary import HandNote, SheetRow
from grader.reporting.escape import html_text as escape

HAND_REVIEW_FLAG = "hand grade to review"


@dataclass(frozen=True)
class HandLines:
    comment: str | None  # "Comment from the TA (ta-kim)", with the comment
    rubric: list[str]  # "+2 states the lemma"
    override: str | None  # the automatic verdict replaced, and why
    review: str | None  # the grade is being looked at again


def hand_lines(mark: HandMark) -> HandLines:
    rubric = [f"{_signed(item.points)} {item.text or item.id}" for item in mark.rubric]
    override = None
    if mark.overrides:
        override = (
            f"A TA ({mark.by}) changed the automatic verdict ({mark.auto_status}, "
            f"{shown_points(mark.auto_score or 0)} points) to {shown_points(mark.points)} points"
            + (f": {mark.reason}" if mark.reason else "")
        )
    review = None
    if mark.stale:
        review = "Your answer changed after it was graded by hand: a TA will look at it again."
    return HandLines(mark.comment or None, rubric, override, review)


def comment_label(mark: HandMark) -> str:
    return f"Comment from the TA ({mark.by})"


def hand_markdown(mark: HandMark, quote: Callable[[str], str]) -> list[str]:
    """Markdown lines; ``quote`` escapes student- and TA-written text for a Markdown line."""
    lines = hand_lines(mark)
    out = []
    if lines.override:
        out += [f"*{quote(lines.override)}*", ""]
    if lines.comment:
        out += [f"**{quote(comment_label(mark))}:** {quote(lines.comment)}", ""]
    elif not mark.overrides:
        out += [f"*Graded by a TA ({quote(mark.by)}).*", ""]
    out += [f"- {quote(item)}" for item in lines.rubric]
    if lines.rubric:
        out.append("")
    if lines.review:
        out += [f"> {lines.review}", ""]
    return out


def hand_html(mark: HandMark) -> str:
    lines = hand_lines(mark)
    out = ["<div class='ta-grade'>"]
    if lines.override:
        out.append(f"<p class='override'>{escape(lines.override)}</p>")
    if lines.comment:
        text = escape(lines.comment).replace("\n", "<br>")
        out.append(
            f"<p class='ta-comment'><span class='label'>{escape(comment_label(mark))}:</span> {text}</p>"
        )
    elif not mark.overrides:
        out.append(f"<p class='ta-comment'><span class='label'>Graded by a TA ({escape(mark.by)})</span></p>")
    if lines.rubric:
        items = "".join(f"<li>{escape(item)}</li>" for item in lines.rubric)
        out.append(f"<ul class='rubric'>{items}</ul>")
    if lines.review:
        out.append(f"<p class='review'>{escape(lines.review)}</p>")
    out.append("</div>")
    return "\n".join(out)


def _signed(value: float) -> str:
    shown = shown_points(value)
    return f"+{shown}" if value >= 0 else str(shown)


def hand_flags(report: Report | SheetRow) -> str:
    """The gradebook's flag for hand grades to review: ``hand grade to review: q3 (answer changed)``."""
    if isinstance(report, SheetRow):
        graded: Iterable[tuple[str, HandMark | HandNote]] = report.hand_notes()
    else:
        graded = ((part.id, part.hand) for part in report.parts if part.hand is not None)
    items = []
    for part_id, hand in graded:
        if hand.stale:
            items.append(f"{part_id} (answer changed)")
        if hand.auto_changed:
            items.append(f"{part_id} (automatic verdict changed)")
    return f"{HAND_REVIEW_FLAG}: {', '.join(items)}" if items else ""
