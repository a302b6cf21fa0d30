"""What the service's pages show of a PDF hand-in (issue 62, docs/pdf.md): its pages, the
questions they are tagged to, each part's pages (as the grading maps them) and the text read from
them, its section of the submission page and of the grading view, and its graded copy."""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from markupsafe import Markup

from grader.core.report import Report
from grader.core.submission import Submission
from grader.course.files import LoadedAssignment
from grader.course.variant_key import student_spec
from grader.course.visibility import student_report
from grader.pdf.document import cache_folder
from grader.pdf.headings import Outline, find_regions
from grader.pdf.limits import PdfRefused
from grader.pdf.mapping import map_submission, pages_text
from grader.pdf.stamp import graded_pdf
from grader.pdf.tags import parse_tags, tags_in, with_tags
from grader.reporting.withhold import shown_report
from grader.service.crud.hand_grades import read_answers
from grader.service.errors import ApiError
from grader.service.intake import read_handed_in
from grader.service.models import Submission as StoredSubmission
from grader.service.models import User, is_staff, utcnow
from grader.service.templating import fragment

TEXT_SHOWN = 4000  # characters of a part's text shown beside its pages


def is_pdf(filename: str) -> bool:
    return filename.lower().endswith(".pdf")


@dataclass(frozen=True)
class Question:
    """A question (or a part) pages are tagged to, as the tagging page lists it."""

    id: str
    title: str
    parts: tuple[str, ...] = ()


@dataclass
class PdfHandIn:
    pages: int
    scan: bool
    template: bool
    tags: dict[str, list[int]]  # as the student (or a TA) tagged them
    part_pages: dict[str, list[int]] = field(default_factory=dict)  # as the grading maps them
    texts: dict[str, str] = field(default_factory=dict)  # each part's text, read from its pages

    @property
    def kind(self) -> str:
        if self.template:
            return "made from grader's template"
        return "a scan" if self.scan else "a typeset PDF"

    def where(self, address: str) -> str:
        return pages_text(self.part_pages.get(address, []))


def questions_of(loaded: LoadedAssignment) -> list[Question]:
    """The assignment's questions, each with its parts' addresses."""
    outline = Outline.of(loaded.spec)
    return [
        Question(qid, title or "", tuple(address for address, _, _ in parts))
        for qid, title, parts in outline.questions
    ]


def pdf_hand_in(
    loaded: LoadedAssignment, filename: str, content: bytes, student: str, read: Submission | None = None
) -> PdfHandIn | None:
    """The PDF hand-in as read (``read``: already) and mapped for ``student``'s own variant; None
    for a hand-in that is not a PDF, or a PDF that could not be read."""
    if not is_pdf(filename):
        return None
    read = read or read_handed_in(filename, content, student)
    if read.load_error or read.pdf is None:
        return None
    pdf = read.pdf
    spec = student_spec(loaded.spec, student)
    mapped = map_submission(spec, read)
    texts: dict[str, str] = {}
    if not pdf.get("scan") and not pdf.get("template"):
        regions = find_regions(Outline.of(spec), pdf.get("lines", []))
        for address, region in regions.items():
            text = "\n".join(str(line[2]) for line in region.lines).strip()
            texts[address] = text[:TEXT_SHOWN]
    return PdfHandIn(
        pages=int(pdf.get("pages", 0)),
        scan=bool(pdf.get("scan")),
        template=bool(pdf.get("template")),
        tags={k: list(v) for k, v in pdf.get("tags", {}).items()},
        part_pages=dict(mapped.pages),
        texts=texts,
    )


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


def stored_tags(content: bytes) -> dict[str, list[int]]:
    return tags_in(content[-8192:])


def cached_source(root: Path, content: bytes) -> Path:
    """The PDF (without its tags: a new tagging keeps the rendered pages) on disk under
    ``root``, in the folder its rendered pages are kept in; files 0600."""
    import uuid

    pdf = with_tags(content, {})
    folder = cache_folder(root, pdf)
    source = folder / "source.pdf"
    if not source.exists():
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        partial = folder / f"source.{uuid.uuid4().hex}.part"  # two first views at once: each its own
        partial.write_bytes(pdf)
        partial.chmod(0o600)
        partial.replace(source)
    return source


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
