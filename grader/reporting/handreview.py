"""After a run with hand grades: pin each new grade to the answer it was given for, and
list what a TA should look at again (``hand-review.csv`` in ``--out``)."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from grader.core.files import write_atomic
from grader.core.report import Report
from grader.hand import HandBook, ToReview, pin_text, pins_needed, to_review
from grader.reporting.escape import csv_cell

HAND_REVIEW = "hand-review.csv"


@dataclass
class HandOutcome:
    pinned: int = 0  # entries given their pins in the file now
    pin_skipped: str | None = None  # why the file could not be pinned
    review: list[ToReview] = field(default_factory=list)
    unmatched: list[str] = field(default_factory=list)  # folders named in the file but not graded


def finish_hand_grades(
    book: HandBook, reports: Sequence[Report], *, whole_class: bool, out: Path | None = None
) -> HandOutcome:
    outcome = HandOutcome(review=to_review(reports))
    pins = pins_needed(book.grades, reports)
    if pins:
        path = Path(book.path)
        try:
            unchanged = path.read_text(encoding="utf-8-sig") == book.text
            if unchanged:
                write_atomic(path, pin_text(book, pins))
                outcome.pinned = len(pins)
            else:
                outcome.pin_skipped = f"{path} changed during the run; the next run pins its grades"
        except (OSError, UnicodeDecodeError) as exc:
            outcome.pin_skipped = f"cannot write {path}: {exc}"
    if whole_class:
        graded = {r.folder for r in reports}
        outcome.unmatched = sorted({g.student for g in book.grades if g.student not in graded})
    if out is not None:
        review_file = out / HAND_REVIEW
        if outcome.review:
            write_atomic(review_file, render_review(outcome.review))
        else:
            review_file.unlink(missing_ok=True)
    return outcome


def render_review(items: Sequence[ToReview]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["student", "folder", "part", "why"])
    for item in items:
        writer.writerow([csv_cell(item.student), csv_cell(item.folder), item.part, csv_cell(item.why)])
    return buffer.getvalue()
