"""A PDF hand-in as pages show it: its section of the submission page (kind, each part's
pages, the tagging page's and the graded PDF's links) and the pages of a part in the TA's
grading view. Read here, beside the routes that use them (routes/pages.py, routes/hand.py)."""

from __future__ import annotations

from typing import Any

from markupsafe import Markup

from grader.service.course_files import LoadedAssignment
from grader.service.crud.hand_grades import read_answers
from grader.service.crud.verdicts import newest_verdict
from grader.service.deps import WebService
from grader.service.models import Submission, User, is_staff, utcnow
from grader.service.pdf_shown import PdfHandIn, is_pdf, pdf_hand_in, questions_of
from grader.service.templating import fragment

# ---- on the submission's page -------------------------------------------------------------


def pdf_section(service: WebService, loaded: LoadedAssignment, submission_id: int, user: User) -> Markup:
    """The PDF hand-in's section of its submission page: its kind and pages, each part's pages,
    the tagging page's link and the graded PDF's (empty for a hand-in that is not a PDF)."""
    with service.db.session(read_only=True) as db:
        row = db.get(Submission, submission_id)
        if row is None or not is_pdf(row.filename):
            return Markup()
        author = db.get(User, row.user_id)
        content, version = bytes(row.content), row.version
        graded = newest_verdict(db, submission_id) is not None
    shown: PdfHandIn | None = pdf_hand_in(loaded, row.filename, content, author.name if author else "")
    if shown is None:
        return Markup()
    now = utcnow()
    context: dict[str, Any] = {
        "id": submission_id,
        "version": version,
        "shown": shown,
        "parts": [(address, shown.where(address)) for q in questions_of(loaded) for address in q.parts],
        "graded": graded,
        "download": graded and (is_staff(user) or loaded.released(now)),
        "release": loaded.release or loaded.due,
        "zone": loaded.zone,
        "staff": is_staff(user),
    }
    return fragment("pdf_section.html", **context)


# ---- in the grading view ------------------------------------------------------------------


def part_pages_html(
    loaded: LoadedAssignment, part_id: str, students: list[str], counted: list[tuple[User, Submission, Any]]
) -> Markup:
    """The pages answering ``part_id`` in the first of ``students``' counted hand-ins that is a
    PDF (the group's answer shown), and the text read from them; empty for no PDF hand-in."""
    versions = {user.name: submission for user, submission, _ in counted}
    for student in students[:1]:
        submission = versions.get(student)
        if submission is None or not is_pdf(submission.filename):
            continue
        read = read_answers(submission, student)  # the grading view's own cache of reads
        shown = pdf_hand_in(loaded, submission.filename, bytes(submission.content), student, read)
        if shown is None:
            continue
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
    return Markup()
