"""The routes' FastAPI dependencies: the running service, a read-only session, the assignment,
the current user and role, the CSRF check of a form. Only this module reads ``request.app.state``."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import Executor
from typing import Annotated, Any, Protocol

from fastapi import Depends, Form, Request
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from grader.course.files import LoadedAssignment
from grader.service.auth import allow, csrf_ok
from grader.service.course import CourseState
from grader.service.db import Database
from grader.service.errors import ApiError
from grader.service.models import Role, User
from grader.service.settings import Settings
from grader.service.throttle import LoginThrottle


class WebService(Protocol):
    """What the routes use of the running service (:class:`grader.service.service.Service`)."""

    settings: Settings
    db: Database
    course: CourseState
    logins: LoginThrottle
    hashing: Executor
    checks: Any  # grader.service.checking.CheckRunner
    verdicts: Any  # grader.service.waiting.VerdictWaiters
    limiter: Any  # grader.service.service.RateLimiter

    def job_counts(self) -> Any: ...

    def jobs_queued(self) -> None: ...

    def grading_trouble(self) -> str | None: ...


# FastAPI runs a plain ``def`` dependency in a request thread: one hand-off to a thread and back
# per dependency and request. These only read memory, so they run in the event loop.
async def get_service(request: Request) -> WebService:
    service: WebService = request.app.state.service
    return service


ServiceDep = Annotated[WebService, Depends(get_service)]


def read_session(service: ServiceDep) -> Iterator[Session]:
    """A read-only session (a write opens its own, to commit with its audit row before the answer)."""
    with service.db.session(read_only=True) as session:
        yield session


ReadSession = Annotated[Session, Depends(read_session)]


def assignment_in(course: CourseState, name: str) -> LoadedAssignment:
    """The course's assignment ``name``; 404 naming the course's assignments."""
    found = course.get(name)
    if found is None:
        known = ", ".join(a.name for a in course.all()) or "none"
        raise ApiError(404, f"no assignment {name!r} in this course (assignments: {known})")
    return found


async def get_assignment(assignment: str, service: ServiceDep) -> LoadedAssignment:
    """The route's ``{assignment}``. A route declares its user first, so that who may not call
    it learns nothing of the course's assignments (401 before 404)."""
    return assignment_in(service.course, assignment)


AssignmentDep = Annotated[LoadedAssignment, Depends(get_assignment)]

# Who may call a route: a student or staff (own data; staff see all), or staff only. The same
# roles for the JSON API and the pages (a page's 401 and 403 are pages: see errors.py).
AnyUser = Annotated[User, Depends(allow(Role.STUDENT, Role.TA))]
Student = Annotated[User, Depends(allow(Role.STUDENT))]
Staff = Annotated[User, Depends(allow(Role.TA))]


def check_csrf(request: Request, sent: str | None) -> None:
    """403 unless ``sent`` is the CSRF token of the browser's session."""
    session = getattr(request.state, "web_session", None)
    if session is None or not csrf_ok(session, sent):
        raise ApiError(403, "the form's CSRF token is missing or stale: reload the page and send it again")


async def form_csrf(request: Request, csrf: Annotated[str, Form()] = "") -> None:
    """The form's ``csrf`` field checked; declared after the user and the assignment (401 before 403)."""
    check_csrf(request, csrf)


FormCsrf = Annotated[None, Depends(form_csrf)]
FormText = Annotated[str, Form()]  # a form's text field


async def checked_form(request: Request, **limits: int) -> FormData:
    """The request's form, read with the route's limits (``max_fields``, ``max_files``), CSRF checked."""
    form = await request.form(**limits)
    check_csrf(request, str(form.get("csrf") or ""))
    return form
