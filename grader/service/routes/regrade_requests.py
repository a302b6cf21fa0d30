"""Regrade requests over HTTP: the JSON API (students ask and list their own; TAs list and
answer) and the pages' forms (the student's feedback page, the TA's queue and grading view).
Roles are checked by :func:`allow`; every form carries the session's CSRF token."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from grader.service.crud.regrade_requests import (
    OPEN,
    AnswerBody,
    AskBody,
    answer,
    ask,
    history,
    known_id,
    request_json,
    requests_where,
    shown_name,
)
from grader.service.deps import (
    AnyUser,
    ReadSession,
    ServiceDep,
    Staff,
    Student,
    WebService,
    assignment_in,
    checked_form,
)
from grader.service.errors import ApiError
from grader.service.hand.anonymous import names_hidden
from grader.service.models import RegradeRequestRow, User, is_staff, utcnow
from grader.service.routes.regrade_views import OUTCOMES, queue_body
from grader.service.templating import templated

router = APIRouter()


def _json(service: WebService, row: RegradeRequestRow, student: str, names: str = "") -> dict[str, Any]:
    loaded = service.course.by_id(row.assignment_id)
    hidden = loaded is not None and names_hidden(loaded, names)
    return request_json(row, loaded.name if loaded else "", shown_name(loaded, student, hidden))


def ask_as(service: WebService, user: User, assignment: str, body: AskBody) -> tuple[dict[str, Any], int]:
    loaded = assignment_in(service.course, assignment)
    with service.db.session() as db:
        row, submission_id = ask(db, loaded, user, body, utcnow())
        return request_json(row, loaded.name, user.name), submission_id


@router.post("/api/v1/assignments/{assignment}/regrade-requests", status_code=201)
def api_ask(assignment: str, body: AskBody, service: ServiceDep, user: Student) -> dict[str, Any]:
    """Ask a TA to grade a part of your counted version again, with a reason: after its verdict
    is released to you, until the assignment's regrade deadline; one open request per part (409)."""
    return ask_as(service, user, assignment, body)[0]


@router.get("/api/v1/me/regrade-requests")
def api_my_requests(service: ServiceDep, user: AnyUser) -> dict[str, Any]:
    with service.db.session(read_only=True) as db:
        rows = requests_where(db, RegradeRequestRow.student_id == user.id)
        return {"requests": [_json(service, row, name, "shown") for row, name in rows]}


@router.get("/api/v1/regrade-requests")
def api_requests(
    service: ServiceDep,
    user: Staff,
    status: str = OPEN,
    assignment: str = "",
    names: str = "",
) -> dict[str, Any]:
    """The course's regrade requests: ``status=open`` (the default), ``changed``, ``kept`` or
    ``all``; of one ``assignment``; a student is their pseudonym while names are hidden."""
    if status not in (*OUTCOMES, "all"):
        raise ApiError(422, f"unknown status {status!r}; use open, changed, kept or all")
    conditions = [] if status == "all" else [RegradeRequestRow.status == status]
    if assignment:
        conditions.append(RegradeRequestRow.assignment_id == assignment_in(service.course, assignment).id)
    with service.db.session(read_only=True) as db:
        rows = requests_where(db, *conditions)
        return {"requests": [_json(service, row, name, names) for row, name in rows]}


@router.get("/api/v1/regrade-requests/{request_id}")
def api_request(request_id: int, service: ServiceDep, user: AnyUser, names: str = "") -> dict[str, Any]:
    """One request: its student's own, or any for staff (with its steps in the audit log)."""
    with service.db.session(read_only=True) as db:
        found = requests_where(db, RegradeRequestRow.id == request_id) if known_id(request_id) else []
        if not found or (found[0][0].student_id != user.id and not is_staff(user)):
            raise ApiError(404, f"no regrade request #{request_id} of yours")
        row, name = found[0]
        if not is_staff(user):
            return _json(service, row, name, "shown")
        loaded = service.course.by_id(row.assignment_id)
        hidden = loaded is not None and names_hidden(loaded, names)
        steps = history(db, row.id, lambda student: shown_name(loaded, student, hidden))
        return {**_json(service, row, name, names), "history": steps}


def answer_as(service: WebService, user: User, request_id: int, body: AnswerBody) -> dict[str, Any]:
    with service.db.session() as db:
        row = answer(db, service.course, request_id, body, user)
        student = db.get(User, row.student_id)
        return _json(service, row, student.name if student else "", "shown")


@router.post("/api/v1/regrade-requests/{request_id}/answer")
def api_answer(request_id: int, body: AnswerBody, service: ServiceDep, user: Staff) -> dict[str, Any]:
    """Answer an open request: ``points`` (the part's new hand grade, written with the answer)
    or ``keep: true``, and a ``reply`` the student reads; 409 once it is answered."""
    return answer_as(service, user, request_id, body)


# ---- pages ----------------------------------------------------------------------------------


@router.post("/assignments/{assignment}/regrade-requests", include_in_schema=False)
async def page_ask(assignment: str, request: Request, service: ServiceDep, user: Student) -> Response:
    form = await checked_form(request, max_fields=10)
    try:
        body = AskBody(part=str(form.get("part") or ""), reason=str(form.get("reason") or ""))
    except ValidationError:
        raise ApiError(422, "choose a part and say why it should be graded again") from None
    _, submission_id = await run_in_threadpool(ask_as, service, user, assignment, body)
    return RedirectResponse(f"/submissions/{submission_id}#regrade-requests", status_code=303)


@router.get("/ta/regrade-requests", include_in_schema=False)
def ta_queue(user: Staff, request: Request, service: ServiceDep, db: ReadSession) -> Response:
    shown = queue_body(db, service.course)
    return templated(request, user, "hand/regrade_queue.html", "grader: regrade requests", **shown)


@router.post("/ta/regrade-requests/{request_id}/answer", include_in_schema=False)
async def ta_answer(request_id: int, request: Request, service: ServiceDep, user: Staff) -> Response:
    form = await checked_form(request, max_fields=20)
    keep = str(form.get("outcome") or "") == "kept"
    points = str(form.get("points") or "").strip()
    version = str(form.get("version") or "").strip()
    try:
        body = AnswerBody(
            points=None if keep else float(points) if points else None,
            keep=keep,
            reply=str(form.get("reply") or ""),
            version=int(version) if version else None,
        )
    except (ValueError, ValidationError) as exc:
        problems = exc.errors(include_url=False) if isinstance(exc, ValidationError) else []
        why = "; ".join(str(p["msg"]) for p in problems) or "the points are not a number"
        raise ApiError(422, f"the answer is not valid: {why}") from None
    answered = await run_in_threadpool(answer_as, service, user, request_id, body)
    if keep or not answered.get("assignment"):
        return RedirectResponse("/ta/regrade-requests", status_code=303)
    # points changed: back to the group, where the same change is offered to its other answers
    where = f"/ta/assignments/{quote(answered['assignment'])}/parts/{quote(answered['part'])}"
    return RedirectResponse(f"{where}?request={request_id}", status_code=303)
