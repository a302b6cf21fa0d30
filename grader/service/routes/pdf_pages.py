"""PDF hand-ins (docs/pdf.md). Over the API: a PDF handed in with its page tags (``pages``:
``q1=1-2,q3=4``, kept after the PDF's end, as the batch reads pages.txt), and a page rendered
for the grading view (once, by the limited child process, cached by the PDF's digest; its author
and staff only). In pages: the hand-in form's PDF or photos of the pages (a refused one is a page
saying what to fix), the tagging page (a student until the assignment closes, staff always; a new
tagging is written into the stored hand-in with its audit row and a regrade, in one transaction)
and the graded PDF, a student's own once the grades are released (staff: always, and the class's
zip)."""

from __future__ import annotations

import contextlib
import hashlib
import io
import zipfile
from pathlib import Path
from typing import Any, NamedTuple

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from grader.course.files import LoadedAssignment
from grader.course.handed_in import cached_source, is_pdf, pdf_hand_in, questions_of, stored_tags
from grader.pdf.document import IMAGE_SUFFIXES, photos_to_pdf, render_pages
from grader.pdf.limits import PdfLimits, PdfRefused
from grader.pdf.tags import format_tags, parse_tags, with_tags
from grader.service.crud import queue
from grader.service.crud.audit import audit
from grader.service.crud.submissions import counted_rows, stored_report, submission_content, submission_for
from grader.service.crud.verdicts import newest_verdict
from grader.service.deps import AnyUser, AssignmentDep, ServiceDep, Staff, WebService, checked_form
from grader.service.errors import ApiError
from grader.service.models import Submission, User, is_staff, utcnow
from grader.service.pdf_shown import graded_copy, tags_from_form
from grader.service.routes.api import accepted, form_file, refuse_after_close, store_submission
from grader.service.templating import PAGE_CSS, asset, attachment, csrf_field, templated

__all__ = ["api_router", "router"]

router = APIRouter(include_in_schema=False)
api_router = APIRouter(prefix="/api/v1")
PDF_NAME = "homework.pdf"  # the name a PDF hand-in is kept and graded under
WIDTHS = (400, 700, 1000, 1400)  # the sizes pages are rendered at (a few, so the cache stays small)
THUMBNAIL = 400  # the tagging page's pages, in pixels (a width the page route renders)
MAX_FILES = 60  # photos of pages in one hand-in (the PDF limit's pages)
TAGS_SCRIPT = asset("pdf_tags.js")
TAGS_CSS = PAGE_CSS + asset("pdf_tags.css")


def pages_root(service: WebService) -> Path:
    return Path(service.settings.data_dir) / "pdf-pages"


@api_router.post("/assignments/{assignment}/pdf", status_code=202)
async def submit_pdf(
    request: Request, user: AnyUser, service: ServiceDep, loaded: AssignmentDep
) -> JSONResponse:
    form, _, content = await form_file(
        request, PdfLimits().max_bytes, "the PDF", 4, ": scan at a lower resolution"
    )
    if not content.lstrip()[:5] == b"%PDF-":
        raise ApiError(422, "this file is not a PDF (it does not start with %PDF-)")
    try:
        tags = parse_tags(str(form.get("pages") or request.query_params.get("pages") or ""))
    except ValueError as exc:
        raise ApiError(422, f"pages: {exc}") from None
    submission = await run_in_threadpool(
        store_submission, service, user, loaded, PDF_NAME, with_tags(content, tags)
    )
    return accepted(submission, pages=tags)


@api_router.get("/submissions/{submission_id}/pages/{page}.png")
def page_image(
    submission_id: int, page: int, user: AnyUser, service: ServiceDep, width: int = 1000
) -> FileResponse:
    if width not in WIDTHS:
        raise ApiError(422, f"width is one of {', '.join(map(str, WIDTHS))}")
    with service.db.session(read_only=True) as db:
        submission = submission_for(db, submission_id, user)  # 403 for another student's, 404 for none
        content = submission_content(db, submission_id)
    if content is None:
        raise ApiError(404, f"no submission {submission_id}")
    if not is_pdf(submission.filename):
        raise ApiError(404, f"submission {submission_id} is not a PDF")
    source = cached_source(pages_root(service), content)  # by the PDF's digest, its tags aside
    try:
        rendered = render_pages(source, [page], width, source.parent)
    except PdfRefused as exc:
        raise ApiError(422, str(exc)) from None
    if page not in rendered:
        raise ApiError(404, f"the PDF has no page {page}")
    rendered[page].chmod(0o600)
    return FileResponse(
        rendered[page], media_type="image/png", headers={"Cache-Control": "private, max-age=3600"}
    )


@router.post("/assignments/{assignment}/pdf")
async def hand_in_pdf(
    request: Request, service: ServiceDep, user: AnyUser, loaded: AssignmentDep
) -> Response:
    """A new version, then its tagging page (a scan, or a part not found) or its own page."""
    form = await checked_form(request, max_files=MAX_FILES, max_fields=8)
    uploads = [item for item in form.getlist("file") if isinstance(item, UploadFile) and item.filename]
    try:
        tags = parse_tags(str(form.get("pages") or ""))
        content = with_tags(await _pdf_of(uploads), tags)
        stored = await run_in_threadpool(store_submission, service, user, loaded, PDF_NAME, content)
    except (ApiError, PdfRefused, ValueError) as exc:
        status = exc.status if isinstance(exc, ApiError) else 422
        if status not in (403, 413, 422):
            raise
        message = exc.message if isinstance(exc, ApiError) else str(exc)
        refused: dict[str, Any] = {"name": loaded.name, "closed": status == 403}
        refused["message"] = message.removeprefix("the file cannot be read: ")
        refused["tags_refused"] = isinstance(exc, ValueError) and not isinstance(exc, PdfRefused)
        title = f"grader: {loaded.name}: not handed in"
        return templated(request, user, "pdf_refused.html", title, status=status, **refused)
    shown = await run_in_threadpool(pdf_hand_in, loaded, PDF_NAME, content, user.name)
    parts = [address for question in questions_of(loaded) for address in question.parts]
    unmapped = shown is not None and any(address not in shown.part_pages for address in parts)
    tagging = shown is not None and (shown.scan or unmapped) and not tags
    return RedirectResponse(f"/submissions/{stored.id}{'/tags' if tagging else ''}", status_code=303)


async def _pdf_of(uploads: list[UploadFile]) -> bytes:
    """One PDF of the files sent: the PDF, or the photos (JPEG, PNG) as pages in their order."""
    limits = PdfLimits()
    if not uploads:
        raise ApiError(422, "choose a PDF, or photos of your pages (JPEG or PNG)")
    names = [str(upload.filename) for upload in uploads]
    contents = []
    for upload in uploads:
        contents.append(await upload.read(limits.max_bytes + 1))
        if len(contents[-1]) > limits.max_bytes:
            raise ApiError(
                413, f"{upload.filename} is over {limits.max_bytes >> 20} MiB: scan at a lower resolution"
            )
    if len(uploads) == 1 and names[0].lower().endswith(".pdf"):
        if not contents[0].lstrip()[:5] == b"%PDF-":
            raise ApiError(422, f"{names[0]} is not a PDF (it does not start with %PDF-): export it as a PDF")
        return contents[0]
    if not all(name.lower().endswith(IMAGE_SUFFIXES) for name in names):
        raise ApiError(
            422, "send one PDF, or photos of your pages (.jpg, .jpeg, .png): " + ", ".join(names[:5])
        )
    if sum(map(len, contents)) > limits.max_bytes:
        raise ApiError(413, f"the photos are over {limits.max_bytes >> 20} MiB together: take them smaller")
    return await run_in_threadpool(photos_to_pdf, names, contents, limits)


class PdfSubmission(NamedTuple):
    submission: Submission
    content: bytes
    author: str
    loaded: LoadedAssignment


def _pdf_submission(service: WebService, submission_id: int, user: User) -> PdfSubmission:
    """The submission, its content, its author and its assignment; 404 unless a PDF hand-in."""
    with service.db.session(read_only=True) as db:
        submission = submission_for(db, submission_id, user)
        content = submission_content(db, submission_id)
        author = db.get(User, submission.user_id)
    if not is_pdf(submission.filename) or content is None or author is None:
        raise ApiError(404, f"submission {submission_id} is not a PDF hand-in")
    loaded = service.course.by_id(submission.assignment_id)
    if loaded is None:
        raise ApiError(404, "this hand-in's assignment is no longer in the course")
    return PdfSubmission(submission, bytes(content), author.name, loaded)


@router.get("/submissions/{submission_id}/tags")
def tags_page(submission_id: int, request: Request, service: ServiceDep, user: AnyUser) -> Response:
    return _tags_response(request, service, user, _pdf_submission(service, submission_id, user))


def _tags_response(
    request: Request,
    service: WebService,
    user: User,
    found: PdfSubmission,
    message: str = "",
    status: int = 200,
) -> Response:
    submission, content, author, loaded = found
    shown = pdf_hand_in(loaded, submission.filename, content, author)
    if shown is None:
        raise ApiError(422, "this hand-in's PDF cannot be read: hand it in again")
    source = cached_source(pages_root(service), content)
    with contextlib.suppress(PdfRefused):  # each thumbnail in one child, before the page asks
        render_pages(source, list(range(1, shown.pages + 1)), THUMBNAIL, source.parent)
    questions, close, staff = questions_of(loaded), loaded.close_for(author), is_staff(user)
    page: dict[str, Any] = {"submission": submission, "name": loaded.name, "author": author, "staff": staff}
    page |= {"shown": shown, "questions": questions, "titles": {q.id: q.title for q in questions}}
    page |= {
        "tagged": stored_tags(content),
        "width": THUMBNAIL,
        "message": message,
        "csrf": csrf_field(request),
    }
    page["closed"] = close is not None and utcnow() > close and not staff
    title = f"grader: pages of {loaded.name}"
    return templated(
        request, user, "pdf_tags.html", title, status=status, css=TAGS_CSS, script=TAGS_SCRIPT, **page
    )


@router.post("/submissions/{submission_id}/tags")
async def save_tags(submission_id: int, request: Request, service: ServiceDep, user: AnyUser) -> Response:
    form = await checked_form(request, max_fields=4000)
    chosen = [str(value) for value in form.getlist("tag")]
    return await run_in_threadpool(_save_tags, submission_id, request, service, user, chosen)


def _save_tags(
    submission_id: int, request: Request, service: WebService, user: User, chosen: list[str]
) -> Response:
    found = _pdf_submission(service, submission_id, user)
    submission, content, author, loaded = found
    if not is_staff(user):
        refuse_after_close(loaded, author, utcnow())  # a TA may still tag the pages
    shown = pdf_hand_in(loaded, submission.filename, content, author)
    if shown is None:
        raise ApiError(422, "this hand-in's PDF cannot be read: hand it in again")
    known = {q.id for q in questions_of(loaded)} | {a for q in questions_of(loaded) for a in q.parts}
    try:
        tags = tags_from_form(chosen, known, shown.pages)
    except ApiError as exc:
        return _tags_response(request, service, user, found, exc.message, exc.status)
    before = stored_tags(content)
    if tags == before:
        return RedirectResponse(f"/submissions/{submission_id}", status_code=303)
    tagged = with_tags(content, tags)
    with service.db.session() as db:
        row = db.get(Submission, submission_id, with_for_update=True)
        if row is None or bytes(row.content) != content:  # changed meanwhile: show it as it is now
            raise ApiError(409, "these pages were tagged meanwhile: reload the page and tag them again")
        row.content, row.content_hash = tagged, hashlib.sha256(tagged).hexdigest()
        queue.enqueue(db, submission_id, kind="regrade")
        changed = {"before": format_tags(before), "after": format_tags(tags)}
        audit(db, user, "pages_tagged", submission=submission_id, student=author, **changed)
    service.jobs_queued()
    return RedirectResponse(f"/submissions/{submission_id}", status_code=303)


def _safe(filename: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in filename)[:150]


@router.get("/submissions/{submission_id}/graded.pdf")
def graded_pdf_download(submission_id: int, service: ServiceDep, user: AnyUser) -> Response:
    submission, content, author, loaded = _pdf_submission(service, submission_id, user)
    with service.db.session(read_only=True) as db:
        verdict = newest_verdict(db, submission_id)
        report = stored_report(verdict) if verdict is not None else None
    if report is None:
        raise ApiError(409, "this hand-in is not graded yet: its graded PDF follows its grading")
    report.student = author
    pdf = graded_copy(loaded, report, content, pages_root(service), staff=is_staff(user), now=utcnow())
    return attachment(
        pdf, _safe(f"{loaded.name}-{author}-v{submission.version}.graded.pdf"), "application/pdf"
    )


@router.get("/ta/assignments/{assignment}/graded-pdfs.zip")
def class_graded_pdfs(service: ServiceDep, user: Staff, loaded: AssignmentDep) -> Response:
    """Every counted PDF hand-in's graded PDF (the student's copy), ``<student>.graded.pdf``, in
    one zip; a hand-in whose copy cannot be made has ``<student>.txt`` saying why. Made here, one
    limited child process a student: a large class is better served by the batch's ``--out``."""
    rows = [
        (submission, report)
        for submission, report in counted_rows(service.db, loaded)
        if is_pdf(submission.filename)
    ]
    if not rows:
        raise ApiError(404, f"no PDF hand-in of {loaded.name} is graded yet")
    now, root = utcnow(), pages_root(service)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:  # PDFs are compressed already
        for submission, report in rows:
            with service.db.session(read_only=True) as db:
                content = submission_content(db, submission.id)
            name = _safe(report.student)
            try:
                copy = graded_copy(loaded, report, bytes(content or b""), root, staff=True, now=now)
            except ApiError as exc:
                archive.writestr(f"{name}.txt", f"no graded PDF: {exc.message}\n")
                continue
            archive.writestr(f"{name}.graded.pdf", copy)
    return attachment(buffer.getvalue(), f"{_safe(loaded.name)}-graded-pdfs.zip", "application/zip")
