"""The grading view's rubric forms: an item edited (its points or text) is shown first with every
score it moves, then applied when the TA confirms; a new item is added at once (no grade has it
yet). Forms and links only; every state change carries the CSRF token."""

from __future__ import annotations

from html import escape
from typing import Annotated
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from grader.core.report import shown_points
from grader.mathlang.wording import counted
from grader.service.auth import allow
from grader.service.course import LoadedAssignment
from grader.service.db import Role, User
from grader.service.errors import ApiError
from grader.service.hand.anonymous import names_hidden, pseudonym
from grader.service.hand.logic import in_force
from grader.service.hand.routes import assignment_of, service_of
from grader.service.hand.rubric import ItemEdit, Move, apply_edit, check_seen, moves, read_edit

router = APIRouter()
Staff = Annotated[User, Depends(allow(Role.TA))]
KEPT = ("group", "show", "names")  # where the TA was in the grading view, kept on the way back
FIELDS = ("id", "points", "text", "was_points", "was_text")


@router.post("/ta/assignments/{assignment}/parts/{part}/rubric", include_in_schema=False)
async def ta_rubric_item(assignment: str, part: str, request: Request, user: Staff) -> Response:
    """``confirm`` absent: the scores the edit moves, with a button to apply it; present (or a
    new item): apply it."""
    from grader.service.pages import check_csrf

    raw = await request.form(max_fields=50)
    check_csrf(request, str(raw.get("csrf") or ""))
    form = {key: str(raw.get(key) or "") for key in FIELDS} | {
        key: request.query_params.get(key, "") for key in KEPT
    }
    loaded = assignment_of(request, assignment)
    try:
        edit = read_edit(form)
        if edit.was_points is not None and not raw.get("confirm"):
            found = await run_in_threadpool(_preview, request, loaded, part, edit)
            return _page(request, user, loaded, part, form, _preview_body(request, loaded, part, form, found))
        found = await run_in_threadpool(_apply, request, loaded, part, edit, user)
    except ApiError as exc:
        if exc.status not in (409, 422):
            raise
        body = f"<p class='warning' role='alert'>{escape(exc.message)}</p>"
        return _page(request, user, loaded, part, form, body, exc.status)
    if edit.was_points is None:
        return RedirectResponse(_view_url(loaded, part, form), status_code=303)
    return _page(request, user, loaded, part, form, _applied_body(loaded, part, form, edit, found))


def _preview(request: Request, loaded: LoadedAssignment, part: str, edit: ItemEdit) -> list[Move]:
    with service_of(request).db.session(read_only=True) as db:
        now = in_force(db, loaded)
        check_seen(now, part, edit)
        return moves(db, now, part, edit.item)


def _apply(request: Request, loaded: LoadedAssignment, part: str, edit: ItemEdit, user: User) -> list[Move]:
    service = service_of(request)
    with service.db.session() as db:
        found = apply_edit(db, loaded, part, edit, user)
    service.course.refresh()  # this server grades with the edited rubric from now on
    return found


def _view_url(loaded: LoadedAssignment, part: str, form: dict[str, str], then: str = "") -> str:
    """The grading view where the TA was (``then``: a page under it, the same place kept)."""
    query = {key: form[key] for key in KEPT if form.get(key) and (key, form[key]) != ("show", "all")}
    base = f"/ta/assignments/{quote(loaded.name)}/parts/{quote(part)}{then}"
    return base + (f"?{urlencode(query)}" if query else "")


def _page(
    request: Request,
    user: User,
    loaded: LoadedAssignment,
    part: str,
    form: dict[str, str],
    body: str,
    status: int = 200,
) -> Response:
    from grader.reporting.html import page
    from grader.reporting.typeset import SERVICE_ASSETS
    from grader.service.pages import PAGE_CSS, html, nav

    title = f"{loaded.name} {part}: rubric item {form.get('id', '')}"
    back = f"<p><a id='back' href='{escape(_view_url(loaded, part, form))}'>Back to the grading view</a></p>"
    heading = f"<h1>{escape(loaded.name)} · {escape(part)}: rubric item {escape(form.get('id', ''))}</h1>"
    return html(
        page(title, nav(request, user) + heading + body + back, css=PAGE_CSS, assets=SERVICE_ASSETS),
        css=PAGE_CSS,
        status=status,
    )


def _item(points: str, text: str) -> str:
    value = float(points)
    return f"{'+' if value >= 0 else ''}{shown_points(value)} {escape(text)}"


def _table(loaded: LoadedAssignment, form: dict[str, str], found: list[Move]) -> str:
    hidden = names_hidden(loaded, form.get("names", ""))
    rows = "".join(
        f"<tr><td>{escape(pseudonym(loaded, m.student) if hidden else m.student)}</td>"
        f"<td>{shown_points(m.old)}</td><td>{shown_points(m.new)}</td></tr>"
        for m in found
        if m.moved
    )
    if not rows:
        return "<p id='no-move'>No score moves.</p>"
    return (
        "<table class='summary' id='moves'><thead><tr><th>Student</th><th>Points now</th>"
        f"<th>Points after</th></tr></thead><tbody>{rows}</tbody></table>"
    )


def _kept_by_hand(found: list[Move]) -> str:
    kept = sum(1 for m in found if m.by_hand)
    if not kept:
        return ""
    return (
        f"<p id='by-hand' class='muted'>{counted(kept, 'grade')} with this item keep their points "
        "(a TA wrote them): only the item shown changes.</p>"
    )


def _preview_body(
    request: Request, loaded: LoadedAssignment, part: str, form: dict[str, str], found: list[Move]
) -> str:
    from grader.service.pages import csrf_field

    moved = sum(1 for m in found if m.moved)
    fields = "".join(
        f"<input type='hidden' name='{key}' value='{escape(form[key])}'>" for key in FIELDS if form.get(key)
    )
    action = escape(_view_url(loaded, part, form, "/rubric"))
    return (
        f"<p>Now: <strong>{_item(form['was_points'], form['was_text'])}</strong>; "
        f"after: <strong>{_item(form['points'], form['text'])}</strong>.</p>"
        f"<p id='summary'>{counted(len(found), 'grade')} given with this item; "
        f"{counted(moved, 'score')} move:</p>{_table(loaded, form, found)}{_kept_by_hand(found)}"
        f"<form method='post' action='{action}' id='confirm'>{csrf_field(request)}{fields}"
        "<input type='hidden' name='confirm' value='1'>"
        f"<button type='submit'>Apply to {counted(len(found), 'grade')}</button></form>"
    )


def _applied_body(
    loaded: LoadedAssignment, part: str, form: dict[str, str], edit: ItemEdit, found: list[Move]
) -> str:
    moved = sum(1 for m in found if m.moved)
    return (
        f"<p id='applied' role='status'>Applied: item {escape(edit.item.id)} is now "
        f"<strong>{_item(form['points'], form['text'])}</strong>; {counted(len(found), 'grade')} "
        f"given with it, {counted(moved, 'score')} moved (each in the audit log).</p>"
        f"{_table(loaded, form, found)}{_kept_by_hand(found)}"
    )
