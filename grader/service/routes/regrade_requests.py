"""Regrade requests over HTTP: the JSON API (students ask and list their own; TAs list and
answer) and the pages: the student's section of their feedback page, the TA's queue, and the
request beside its student's group in the grading view. A student is their pseudonym on a TA's
page while names are hidden (anonymous grading)."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from markupsafe import Markup
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from grader.course.anonymous import names_hidden
from grader.course.files import LoadedAssignment
from grader.course.regrade_requests import MAX_TEXT, AnswerBody, AskBody, shown_name
from grader.course.visibility import student_report
from grader.service.crud.hand_grades import counted_submissions, hand_grade
from grader.service.crud.regrade_requests import (
    OPEN,
    answer,
    ask,
    history,
    known_id,
    request_json,
    requests_where,
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
from grader.service.models import RegradeRequestRow, User, is_staff, utcnow
from grader.service.templating import fragment, templated

router = APIRouter()
OUTCOMES = {OPEN: "open: a TA will answer", "changed": "points changed", "kept": "points kept"}
SHOWN: dict[str, Any] = {"outcomes": OUTCOMES, "open": OPEN, "max_text": MAX_TEXT}  # what the templates read
ANSWERED_SHOWN = 50  # answered requests the queue lists, newest first


def _json(service: WebService, row: RegradeRequestRow, student: str, names: str = "") -> dict[str, Any]:
    loaded = service.course.by_id(row.assignment_id)
    hidden = loaded is not None and names_hidden(loaded, names)
    return request_json(row, loaded.name if loaded else "", shown_name(loaded, student, hidden))


def _found(db: Session, request_id: int) -> tuple[RegradeRequestRow, str] | None:
    found = requests_where(db, RegradeRequestRow.id == request_id) if known_id(request_id) else []
    return found[0] if found else None


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
def api_my_requests(service: ServiceDep, user: AnyUser, db: ReadSession) -> dict[str, Any]:
    rows = requests_where(db, RegradeRequestRow.student_id == user.id)
    return {"requests": [_json(service, row, name, "shown") for row, name in rows]}


@router.get("/api/v1/regrade-requests")
def api_requests(
    service: ServiceDep,
    user: Staff,
    db: ReadSession,
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
    return {"requests": [_json(service, row, name, names) for row, name in requests_where(db, *conditions)]}


@router.get("/api/v1/regrade-requests/{request_id}")
def api_request(
    request_id: int, service: ServiceDep, user: AnyUser, db: ReadSession, names: str = ""
) -> dict[str, Any]:
    """One request: its student's own, or any for staff (with its steps in the audit log)."""
    found = _found(db, request_id)
    if found is None or (found[0].student_id != user.id and not is_staff(user)):
        raise ApiError(404, f"no regrade request #{request_id} of yours")
    row, name = found
    if not is_staff(user):
        return _json(service, row, name, "shown")
    loaded = service.course.by_id(row.assignment_id)
    hidden = loaded is not None and names_hidden(loaded, names)
    steps = history(db, row.id, lambda student: shown_name(loaded, student, hidden))
    return {**_json(service, row, name, names), "history": steps}


@router.post("/api/v1/regrade-requests/{request_id}/answer")
def api_answer(request_id: int, body: AnswerBody, service: ServiceDep, user: Staff) -> dict[str, Any]:
    """Answer an open request: ``points`` (the part's new hand grade, written with the answer)
    or ``keep: true``, and a ``reply`` the student reads; 409 once it is answered."""
    with service.db.session() as db:
        row = answer(db, service.course, request_id, body, user)
        student = db.get(User, row.student_id)
        return _json(service, row, student.name if student else "", "shown")


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
    """The open requests, oldest first, each linked to its grading view; the last answered ones."""
    rows = requests_where(db)
    waiting = [_queue_row(service, row, name) for row, name in rows if row.status == OPEN]
    answered = [pair for pair in rows if pair[0].status != OPEN]
    answered.sort(key=lambda pair: pair[0].answered_at or pair[0].created_at, reverse=True)
    done = [_queue_row(service, *pair) for pair in answered[:ANSWERED_SHOWN]]
    shown: dict[str, Any] = {
        "waiting": [r for r in waiting if r],
        "answered": [r for r in done if r],
        **SHOWN,
    }
    title = "grader: regrade requests"
    return templated(request, user, "hand/regrade_queue.html", title, count=len(waiting), **shown)


def _queue_row(service: WebService, row: RegradeRequestRow, name: str) -> dict[str, Any]:
    """A request as the queue lists it ({} when its assignment is gone)."""
    loaded = service.course.by_id(row.assignment_id)
    if loaded is None:
        return {}
    student = shown_name(loaded, name, names_hidden(loaded, ""))
    url = f"/ta/assignments/{quote(loaded.name)}/parts/{quote(row.part)}?request={row.id}"
    return {"row": row, "assignment": loaded.name, "zone": loaded.zone, "student": student, "url": url}


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
    answered = await run_in_threadpool(api_answer, request_id, body, service, user)
    if keep or not answered.get("assignment"):
        return RedirectResponse("/ta/regrade-requests", status_code=303)
    # points changed: back to the group, where the same change is offered to its other answers
    where = f"/ta/assignments/{quote(answered['assignment'])}/parts/{quote(answered['part'])}"
    return RedirectResponse(f"{where}?request={request_id}", status_code=303)


def feedback_section(
    db: Session, loaded: LoadedAssignment, student: User, csrf: str, now: dt.datetime, can_ask: bool
) -> Markup:
    """The student's requests and, on their own page (``can_ask``), the form to ask for the parts
    of their counted version released to them, while requests are taken."""
    mine = [row for row, _ in requests_where(db, RegradeRequestRow.student_id == student.id)]
    mine = [row for row in mine if row.assignment_id == loaded.id]
    until = loaded.regrade_until if can_ask else None
    closed = until is not None and now > until
    parts: list[str] = []
    version = 0
    if until is not None and not closed:
        counted = counted_submissions(db, loaded, [student.name])
        if counted and counted[0][2] is not None:
            shown, _ = student_report(counted[0][2], loaded, now)
            asked = {r.part for r in mine if r.status == OPEN}
            parts, version = [r.id for r in shown.parts if r.id not in asked], counted[0][1].version
    if not mine and not closed and not parts:
        return Markup()
    page = {"mine": list(reversed(mine)), "closed": closed, "until": until, "parts": parts}
    return fragment(
        "hand/regrade_feedback.html", loaded=loaded, csrf=Markup(csrf), version=version, **page, **SHOWN
    )


def beside_view(
    db: Session, loaded: LoadedAssignment, part: str, request_id: int, hidden: bool, csrf: str
) -> tuple[str, Markup, float | None]:
    """Request ``request_id`` of this part: its student ("" for none), the panel beside their group
    (the form that answers), and the points its answer gave when it changed them."""
    found = _found(db, request_id)
    if found is None or found[0].assignment_id != loaded.id or found[0].part != part:
        return "", Markup(), None
    row, name = found
    grade = hand_grade(db, row.assignment_id, row.student_id, row.part)
    counted = counted_submissions(db, loaded, [name])
    report = counted[0][2] if counted else None
    result = next((r for r in report.parts if r.id == part), None) if report else None
    panel = {"row": row, "student": shown_name(loaded, name, hidden), "zone": loaded.zone, "result": result}
    panel |= {"grade": grade, "csrf": Markup(csrf)}
    changed = row.points if row.status == "changed" else None
    return name, fragment("hand/regrade_beside.html", **panel, **SHOWN), changed
