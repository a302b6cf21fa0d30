"""What the service's pages show of a PDF hand-in (issue 62, docs/pdf.md): its section of the
submission page and of the grading view, the tagging form read, and its graded copy (the PDF as
read and mapped to the parts: :mod:`grader.course.handed_in`)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path
from typing import Any

from markupsafe import Markup

from grader.core.report import Report
from grader.course.files import LoadedAssignment
from grader.course.handed_in import cached_source, is_pdf, pdf_hand_in, questions_of
from grader.course.visibility import student_report
from grader.pdf.limits import PdfRefused
from grader.pdf.stamp import graded_pdf
from grader.pdf.tags import parse_tags
from grader.reporting.withhold import shown_report
from grader.service.crud.hand_grades import read_answers
from grader.service.errors import ApiError
from grader.service.models import Submission as StoredSubmission
from grader.service.models import User, is_staff, utcnow
from grader.service.templating import fragment


def tags_from_form(chosen: list[str], known: set[str], pages: int) -> dict[str, list[int]]:
    """The tagging form's checked boxes (``q1@3``: page 3 holds q1) as tags; 422 for a box
    naming no question of the assignment or no page of the PDF."""
    tags: dict[str, list[int]] = {}
    for value in chosen:
        target, _, page = value.rpartition("@")
        if target not in known or not page.isdigit() or not 1 <= int(page) <= pages:
            raise ApiError(422, f"{value[:60]!r} is no question and page of this hand-in")
        tags.setdefault(target, []).append(int(page))
    ordered = {target: sorted(set(pages_of)) for target, pages_of in tags.items()}
    parse_tags(",".join(f"{k}={';'.join(map(str, v))}" for k, v in ordered.items()))  # as the API reads them
    return ordered


def graded_copy(
    loaded: LoadedAssignment,
    report: Report,
    content: bytes,
    root: Path,
    *,
    staff: bool,
    now: dt.datetime,
) -> bytes:
    """The hand-in's pages stamped with the student's own feedback (as the batch's ``--out``
    writes it), never an expected answer: to the student once released; to staff always."""
    if staff:
        shown = report
    elif not loaded.released(now):
        moment = loaded.release or loaded.due
        when = f" (from {moment:%Y-%m-%d %H:%M} UTC)" if moment is not None else ""
        raise ApiError(403, f"the graded PDF is given back once the grades are released{when}")
    else:
        shown, _ = student_report(report, loaded, now)
    student = report.student
    mapped = pdf_hand_in(loaded, "homework.pdf", content, student)
    if mapped is None:
        raise ApiError(422, "this hand-in's PDF cannot be read: it has no graded copy")
    copy = dataclasses.replace(shown_report(shown, False), pages=mapped.part_pages)
    source = cached_source(root, content)
    try:
        return graded_pdf(copy, source)
    except PdfRefused as exc:
        raise ApiError(422, f"the graded PDF could not be made: {exc}") from None


def pdf_section(
    loaded: LoadedAssignment,
    submission: StoredSubmission,
    author: str,
    content: bytes | None,
    graded: bool,
    user: User,
) -> Markup:
    """The PDF hand-in's section of its submission page (empty for a hand-in that is not a PDF)."""
    shown = pdf_hand_in(loaded, submission.filename, bytes(content), author) if content is not None else None
    if shown is None:
        return Markup()
    context: dict[str, Any] = {
        "id": submission.id,
        "version": submission.version,
        "shown": shown,
        "parts": [(address, shown.where(address)) for q in questions_of(loaded) for address in q.parts],
        "graded": graded,
        "download": graded and (is_staff(user) or loaded.released(utcnow())),
        "release": loaded.release or loaded.due,
        "zone": loaded.zone,
        "staff": is_staff(user),
    }
    return fragment("pdf_section.html", **context)


def part_pages_html(
    loaded: LoadedAssignment,
    part_id: str,
    students: list[str],
    counted: list[tuple[User, StoredSubmission, Any]],
) -> Markup:
    """The grading view's pages answering ``part_id`` in the first of ``students``' counted
    hand-ins, when a PDF (the group's answer), and the text read from them."""
    versions = {user.name: submission for user, submission, _ in counted}
    submission = versions.get(students[0]) if students else None
    if submission is None or not is_pdf(submission.filename):
        return Markup()
    read = read_answers(submission, students[0])  # the grading view's own cache of reads
    shown = pdf_hand_in(loaded, submission.filename, bytes(submission.content), students[0], read)
    if shown is None:
        return Markup()
    pages = shown.part_pages.get(part_id, [])
    return fragment(
        "hand/pdf_part_pages.html",
        id=submission.id,
        pages=pages,
        all_pages=list(range(1, shown.pages + 1)),
        where=shown.where(part_id).capitalize() if pages else "Every page",
        kind=shown.kind,
        text=shown.texts.get(part_id, ""),
    )
