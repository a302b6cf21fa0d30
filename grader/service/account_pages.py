"""The TA's page of the course's students: for one student, a one-time log-in link, a new
bearer token (the old one stops working), a password reset, removal (hand-ins kept). Every
action is a POST with the session's CSRF token, audited with the change; a secret is shown
once, in the answer to that POST, never in a URL."""

from __future__ import annotations

from html import escape
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from grader.service.accounts import (
    AccountError,
    list_users,
    new_login_link,
    new_token,
    remove_user,
    reset_password,
    user_named,
)
from grader.service.api import service_of
from grader.service.auth import LINK_DAYS, login_link
from grader.service.db import Role, User
from grader.service.errors import ApiError
from grader.service.pages import PageStaff, check_csrf, csrf_field, shell

router = APIRouter(include_in_schema=False)
ACTIONS = {
    "link": "New log-in link",
    "token": "New token",
    "reset-password": "Remove password",
    "remove": "Remove",
}


@router.get("/ta/students")
def students_page(request: Request, user: PageStaff) -> Response:
    with service_of(request).db.session(read_only=True) as db:
        students = [line for line in list_users(db) if line.role == Role.STUDENT]
    rows = "".join(
        f"<tr><td><a href='/ta/students/{escape(s.name)}'>{escape(s.name)}</a></td>"
        f"<td>{'yes' if s.password else 'no'}</td><td>{escape(s.created)}</td><td>"
        + "".join(
            f"<form class='inline' method='post' action='/ta/students/{escape(s.name)}/{action}'>"
            f"{csrf_field(request)}<button type='submit'>{label}</button></form> "
            for action, label in ACTIONS.items()
        )
        + "</td></tr>"
        for s in students
    )
    body = (
        "<h1>Students</h1><p>A log-in link works once and expires after "
        f"{LINK_DAYS:g} days; a new token stops the old one; removing a student keeps their hand-ins. "
        "Add many at once with <code>grader users import COURSE ROSTER.csv --links FILE</code>.</p>"
        "<table class='summary' id='students'><thead><tr><th>Student</th><th>Password</th><th>Added</th>"
        f"<th>Account</th></tr></thead><tbody>{rows}</tbody></table>"
    )
    return shell(request, user, "grader: students", body)


@router.post("/ta/students/{student}/{action}")
def student_action(
    student: str, action: str, request: Request, user: PageStaff, csrf: Annotated[str, Form()] = ""
) -> Response:
    check_csrf(request, csrf)
    if action not in ACTIONS:
        raise ApiError(404, f"no account action {action!r}")
    service = service_of(request)
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
    done = {
        "link": f"A one-time log-in link for {student} (shown once; valid {LINK_DAYS:g} days):",
        "token": f"A new bearer token for {student} (shown once; the old one no longer works):",
        "reset-password": f"{student} has no password now; their sessions ended. Give them a log-in link.",
        "remove": f"{student} is removed: no token, link or password of theirs works; "
        "their hand-ins are kept.",
    }[action]
    shown = f"<pre class='answer' id='secret'>{escape(secret)}</pre>" if secret else ""
    back = "<p><a href='/ta/students'>Students</a></p>"
    body = f"<h1>{escape(student)}</h1><p id='done'>{escape(done)}</p>{shown}{back}"
    return shell(request, user, f"grader: {student}", body)
