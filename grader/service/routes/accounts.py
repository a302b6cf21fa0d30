"""The TA's page of the course's students: for one student, a one-time log-in link, a new
bearer token (the old one stops working), a password reset, removal (hand-ins kept). Every
action is a POST with the session's CSRF token, audited with the change; a secret is shown
once, in the answer to that POST, never in a URL."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from grader.course.exports import people_of
from grader.reporting.lms import Roster
from grader.service.credentials import LINK_DAYS, login_link
from grader.service.crud.accounts import (
    AccountError,
    new_login_link,
    new_token,
    remove_user,
    reset_password,
    students,
    user_named,
)
from grader.service.deps import FormCsrf, ServiceDep, Staff, WebService
from grader.service.errors import ApiError
from grader.service.models import Role, User
from grader.service.routes.exports import LmsRoster, export_roster
from grader.service.templating import PAGE_CSS, asset, csrf_field, templated

router = APIRouter(include_in_schema=False)
# What a TA may do to a student's account (its buttons: students.html; its answers: account_done.html)
ACTIONS = ("link", "token", "reset-password", "remove")
# Typing in the search box hides the rows that do not match (the form finds them without JavaScript).
FILTER_SCRIPT = asset("students_filter.js")
STUDENTS_CSS = PAGE_CSS + asset("students.css")


@router.get("/ta/students")
def students_page(
    user: Staff, request: Request, service: ServiceDep, from_lms: LmsRoster, q: str = ""
) -> Response:
    """Every student, their name from the roster and their account's actions; ``q`` keeps those
    whose user name, name or e-mail contains each of its words (as the search box filters)."""
    with service.db.session(read_only=True) as db:
        users = students(db)
    people = roster_people(service, from_lms)
    rows: list[dict[str, Any]] = []
    for name, password_hash, created in users:
        person, email = people.get(name, ("", ""))
        row = {"name": name, "person": person, "email": email, "password": password_hash is not None}
        rows.append(row | {"created": created, "search": " ".join((name, person, email)).lower()})
    shown = [row for row in rows if all(word in row["search"] for word in q.lower().split())]
    page: dict[str, Any] = {"students": shown, "total": len(rows), "query": q, "named": bool(people)}
    page |= {"zone": service.course.zone(), "link_days": f"{LINK_DAYS:g}", "csrf": csrf_field(request)}
    title = "grader: students"
    return templated(request, user, "students.html", title, css=STUDENTS_CSS, script=FILTER_SCRIPT, **page)


def roster_people(service: WebService, from_lms: Roster | None) -> dict[str, tuple[str, str]]:
    """(name, e-mail) of each student of the exports' roster; {} when it cannot be read."""
    try:
        roster = export_roster(service, from_lms)
    except ApiError:
        return {}
    return people_of(roster) if roster is not None else {}


@router.post("/ta/students/{student}/{action}")
def student_action(
    student: str,
    action: str,
    request: Request,
    service: ServiceDep,
    user: Staff,
    _csrf: FormCsrf,
) -> Response:
    if action not in ACTIONS:
        raise ApiError(404, f"no account action {action!r}")
    try:
        with service.db.session() as db:
            if user_named(db, student).role != Role.STUDENT:
                raise ApiError(403, "this page changes students' accounts only")
            by = db.get(User, user.id)
            secret = ""
            if action == "link":
                secret = login_link(str(request.base_url), new_login_link(db, student, LINK_DAYS, by=by))
            elif action == "token":
                secret = new_token(db, student, by=by)
            elif action == "reset-password":
                reset_password(db, student, None, by=by)
            else:
                remove_user(db, student, by=by)
    except AccountError as exc:
        raise ApiError(404, str(exc)) from None
    done: dict[str, Any] = {
        "student": student,
        "action": action,
        "secret": secret,
        "link_days": f"{LINK_DAYS:g}",
    }
    return templated(request, user, "account_done.html", f"grader: {student}", **done)
