"""PDF hand-ins over the API (docs/pdf.md): a PDF (or a scan) handed in with its page tags
(``pages``: ``q1=1-2,q3=4``, kept after the PDF's end, as the batch reads pages.txt), and a page
rendered for the grading view: once, by the limited child process, cached by the PDF's digest
under the data folder; its author and staff only."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, JSONResponse
from starlette.concurrency import run_in_threadpool

from grader.pdf.document import render_pages
from grader.pdf.limits import PdfLimits, PdfRefused
from grader.pdf.tags import parse_tags, with_tags
from grader.service.crud.submissions import submission_content, submission_for
from grader.service.deps import AnyUser, AssignmentDep, ServiceDep, WebService
from grader.service.errors import ApiError
from grader.service.pdf_shown import cached_source
from grader.service.routes.api import accepted, form_file, store_submission

__all__ = ["router"]

router = APIRouter(prefix="/api/v1")
PDF_NAME = "homework.pdf"  # the name a PDF hand-in is kept and graded under
WIDTHS = (400, 700, 1000, 1400)  # the sizes pages are rendered at (a few, so the cache stays small)


def pages_root(service: WebService) -> Path:
    return Path(service.settings.data_dir) / "pdf-pages"


@router.post("/assignments/{assignment}/pdf", status_code=202)
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


@router.get("/submissions/{submission_id}/pages/{page}.png")
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
    if not submission.filename.lower().endswith(".pdf"):
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
