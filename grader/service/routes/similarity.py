"""The TA's similarity pages (docs/similarity.md): the assignments, and the ranked pairs of the
class's counted hand-ins with the two sheets side by side, as computed in the background
(:mod:`grader.service.similarity_results`, never in a request); a TA may ask for them again."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from markupsafe import Markup

from grader.course.files import LoadedAssignment
from grader.reporting.html import page
from grader.service.crud.audit import audit
from grader.service.crud.similarity import rows_of
from grader.service.deps import AssignmentDep, FormCsrf, ReadSession, ServiceDep, Staff
from grader.service.models import SimilarityResult, User, utcnow
from grader.service.templating import PAGE_CSS, csrf_field, html, nav, render

router = APIRouter(include_in_schema=False)
LINK = ("/ta/similarity", "Similar sheets: copied code, write-ups and wrong answers")


def _page(request: Request, user: User, page_title: str, template: str, **context: Any) -> Response:
    css = PAGE_CSS + render("similarity.css")  # the bar and buttons too
    body = render(template, **context)
    return html(page(page_title, str(nav(request, user)) + body, css=css), css=css)


def _when(moment: dt.datetime | None) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC") if moment else ""


def _state(row: SimilarityResult | None, loaded: LoadedAssignment) -> dict[str, Any]:
    due = {"due": _when(loaded.due), "after_due": loaded.due is not None and utcnow() >= loaded.due}
    if row is None:
        return {"computed": False, "handins": 0, "pending": False} | due
    state = {"computed": row.computed_at is not None, "computed_at": _when(row.computed_at)}
    state |= {"handins": row.handins, "graded": row.graded, "seconds": f"{row.seconds:.1f}"}
    return state | {"pending": row.pending, "requested_at": _when(row.requested_at)} | due


@router.get("/ta/similarity")
def similarity_index(request: Request, user: Staff, service: ServiceDep, db: ReadSession) -> Response:
    loaded = service.course.all()
    rows = rows_of(db, [a.id for a in loaded])
    assignments = [
        {"name": a.name, "title": a.spec.title or a.name, "state": _state(rows.get(a.id), a)} for a in loaded
    ]
    return _page(request, user, "grader: similar sheets", "ta_similarity_index.html", assignments=assignments)


@router.get("/ta/similarity/{assignment}")
def similarity_page(request: Request, user: Staff, loaded: AssignmentDep, db: ReadSession) -> Response:
    row = rows_of(db, [loaded.id]).get(loaded.id)
    shown = {"title": loaded.spec.title or loaded.name, "state": _state(row, loaded)}
    shown |= {"assignment": loaded.name, "csrf": csrf_field(request)}
    # the pairs as rendered in the background, with autoescape
    shown["pairs"] = Markup(row.body) if row is not None and row.computed_at is not None else ""
    return _page(request, user, f"grader: similar sheets, {loaded.name}", "ta_similarity.html", **shown)


@router.post("/ta/similarity/{assignment}/recompute")
def similarity_recompute(
    user: Staff, service: ServiceDep, loaded: AssignmentDep, _csrf: FormCsrf
) -> Response:
    """A TA asks for the page to be computed again: the background refresher does it."""
    with service.db.session() as db:
        row = rows_of(db, [loaded.id]).get(loaded.id)
        if row is None:
            row = SimilarityResult(assignment_id=loaded.id)
            db.add(row)
        row.requested_at = utcnow()
        audit(db, user, "similarity_requested", assignment=loaded.name)
    return RedirectResponse(f"/ta/similarity/{loaded.name}", status_code=303)
