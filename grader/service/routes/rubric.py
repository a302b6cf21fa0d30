"""The grading view's rubric forms: an item edited (its points or text) is shown first with every
score it moves, then applied when the TA confirms; a new item is added at once (no grade has it
yet). Forms and links only; every state change carries the CSRF token."""

from __future__ import annotations

from urllib.parse import quote, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from grader.service.course_files import LoadedAssignment
from grader.service.crud.hand_grades import in_force
from grader.service.crud.rubric import ItemEdit, Move, apply_edit, check_seen, moves, read_edit
from grader.service.deps import AssignmentDep, ServiceDep, Staff, WebService, checked_form
from grader.service.errors import ApiError
from grader.service.hand.anonymous import names_hidden, pseudonym
from grader.service.models import User
from grader.service.templating import csrf_field, templated

router = APIRouter()
KEPT = ("group", "show", "names")  # where the TA was in the grading view, kept on the way back
FIELDS = ("id", "points", "text", "was_points", "was_text")


@router.post("/ta/assignments/{assignment}/parts/{part}/rubric", include_in_schema=False)
async def ta_rubric_item(
    part: str, request: Request, service: ServiceDep, user: Staff, loaded: AssignmentDep
) -> Response:
    """``confirm`` absent: the scores the edit moves, with a button to apply it; present (or a
    new item): apply it."""
    raw = await checked_form(request, max_fields=50)
    form = {key: str(raw.get(key) or "") for key in FIELDS} | {
        key: request.query_params.get(key, "") for key in KEPT
    }
    try:
        edit = read_edit(form)
        if edit.was_points is not None and not raw.get("confirm"):
            found = await run_in_threadpool(_preview, service, loaded, part, edit)
            return _page(request, user, loaded, part, form, "preview", found)
        found = await run_in_threadpool(_apply, service, loaded, part, edit, user)
    except ApiError as exc:
        if exc.status not in (409, 422):
            raise
        return _page(request, user, loaded, part, form, "refused", [], exc.message, exc.status)
    if edit.was_points is None:
        return RedirectResponse(_view_url(loaded, part, form), status_code=303)
    return _page(request, user, loaded, part, form, "applied", found, edit.item.id)


def _preview(service: WebService, loaded: LoadedAssignment, part: str, edit: ItemEdit) -> list[Move]:
    with service.db.session(read_only=True) as db:
        now = in_force(db, loaded)
        check_seen(now, part, edit)
        return moves(db, now, part, edit.item)


def _apply(
    service: WebService, loaded: LoadedAssignment, part: str, edit: ItemEdit, user: User
) -> list[Move]:
    with service.db.session() as db:
        found = apply_edit(db, loaded, part, edit, user)
    service.course.refresh()  # this server grades with the edited rubric from now on
    return found


def _view_url(loaded: LoadedAssignment, part: str, form: dict[str, str], then: str = "") -> str:
    """The grading view where the TA was (``then``: a page under it, the same place kept)."""
    query = {key: form[key] for key in KEPT if form.get(key) and (key, form[key]) != ("show", "all")}
    base = f"/ta/assignments/{quote(loaded.name)}/parts/{quote(part)}{then}"
    return base + (f"?{urlencode(query)}" if query else "")


def _page(  # noqa: PLR0913 (the page's one place for its three states)
    request: Request,
    user: User,
    loaded: LoadedAssignment,
    part: str,
    form: dict[str, str],
    state: str,
    found: list[Move],
    message: str = "",
    status: int = 200,
) -> Response:
    """A rubric item's edit: ``preview`` (the scores it moves, and the button that applies it),
    ``applied`` (what moved; ``message``: the item's id) or ``refused`` (``message`` says why)."""
    hidden = names_hidden(loaded, form.get("names", ""))
    rows = [
        {
            "shown": pseudonym(loaded, m.student) if hidden else m.student,
            "old": m.old,
            "new": m.new,
            "moved": m.moved,
        }
        for m in found
    ]
    return templated(
        request,
        user,
        "hand/rubric_item.html",
        f"{loaded.name} {part}: rubric item {form.get('id', '')}",
        status=status,
        name=loaded.name,
        part=part,
        form=form,
        state=state,
        message=message,
        rows=rows,
        moved=sum(1 for m in found if m.moved),
        by_hand=sum(1 for m in found if m.by_hand),
        fields=FIELDS,
        action=_view_url(loaded, part, form, "/rubric"),
        back=_view_url(loaded, part, form),
        csrf=csrf_field(request),
    )
