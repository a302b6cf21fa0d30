"""The TA's side of LTI Advantage: ``/ta/lms`` (where scores go, how many wait, why the last
ones failed, the LMS roster and a button to fetch it again) and the roster fetch, as a form
and as ``POST /api/v1/lms/roster``."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from html import escape
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from grader.service.auth import allow
from grader.service.db import Role, User
from grader.service.errors import ApiError
from grader.service.lti.models import LtiLineItem, LtiMember, LtiScore, ScoreStatus
from grader.service.lti.oauth import TokenError
from grader.service.lti.passback import outbox_counts
from grader.service.lti.roster import LEFT, RosterError, Synced, sync_rosters, unmatched
from grader.service.pages import check_csrf, csrf_field, shell
from grader.service.shown import time_html

router = APIRouter()
Staff = Annotated[User, Depends(allow(Role.TA))]
FAILURES_SHOWN = 20


def _service(request: Request) -> Any:
    if not request.app.state.lti.config.platforms:
        raise ApiError(404, "LTI is not set up for this course (no lti.yaml)")
    return request.app.state.service


def fetch_roster(request: Request) -> list[Synced]:
    service = _service(request)
    try:
        return sync_rosters(service.db, request.app.state.lti.config, request.app.state.lti.tokens)
    except (RosterError, TokenError) as error:
        raise ApiError(502, f"the roster could not be fetched from the LMS: {error}") from error


@router.post("/api/v1/lms/roster")
def api_roster(request: Request, user: Staff) -> dict[str, Any]:
    """Fetch the roster of every LMS course the tool was launched from (NRPS)."""
    synced = fetch_roster(request)
    return {"contexts": [{"context": s.context_id, "members": s.members, "pages": s.pages} for s in synced]}


@router.post("/ta/lms/roster", include_in_schema=False)
def roster_form(request: Request, user: Staff, csrf: Annotated[str, Form()] = "") -> Response:
    check_csrf(request, csrf)
    try:
        synced = fetch_roster(request)
    except ApiError as error:
        if error.status != 502:
            raise
        message = error.message
    else:
        message = "; ".join(f"{s.context_id}: {s.members} members" for s in synced) or "no LMS course"
    return lms_page(request, user, message)  # the server's message, never one a link carries


@router.get("/ta/lms", include_in_schema=False)
def lms_page_route(request: Request, user: Staff) -> Response:
    return lms_page(request, user)


def lms_page(request: Request, user: User, message: str = "") -> Response:
    service = _service(request)
    zone = service.course.zone()
    with service.db.session() as db:
        body = [
            "<h1>The LMS</h1>",
            f"<p class='warning' role='alert'>{escape(message)}</p>" if message else "",
            _passback_section(db, zone),
            _line_items_section(db),
            _roster_section(db, csrf_field(request), zone),
        ]
    return shell(request, user, "grader: the LMS", "\n".join(body))


def _passback_section(db: Session, zone: zoneinfo.ZoneInfo | None) -> str:
    counts = outbox_counts(db)
    failing = db.execute(
        select(LtiScore, User.name, LtiLineItem.assignment)
        .join(User, User.id == LtiScore.user_id)
        .join(LtiLineItem, LtiLineItem.id == LtiScore.line_item_id)
        .where(
            LtiScore.status.in_((ScoreStatus.PENDING, ScoreStatus.REFUSED)), LtiScore.last_error.is_not(None)
        )
        .order_by(LtiScore.id.desc())
        .limit(FAILURES_SHOWN)
    ).all()
    rows = "".join(
        f"<tr><td>{escape(name)}</td><td>{escape(assignment)}</td><td>{_state(score, zone)}</td>"
        f"<td>{score.attempts}</td><td>{escape(score.last_error or '')}</td></tr>"
        for score, name, assignment in failing
    )
    table = (
        "<table class='summary'><thead><tr><th>Student</th><th>Assignment</th><th>State</th>"
        f"<th>Attempts</th><th>The LMS's answer</th></tr></thead><tbody>{rows}</tbody></table>"
        if rows
        else ""
    )
    waiting = counts[ScoreStatus.PENDING] + counts[ScoreStatus.SENDING]
    return (
        "<h2>Grade passback</h2>"
        f"<p id='passback'>{waiting} score(s) waiting, {counts[ScoreStatus.DELIVERED]} posted, "
        f"{counts[ScoreStatus.SUPERSEDED]} replaced by a later score before they were posted, "
        f"{counts[ScoreStatus.REFUSED]} refused by the LMS. Scores wait for an assignment's release; "
        "one the LMS cannot take now is tried again, less and less often; one it refuses for good "
        "(a student no longer in the course, a deleted column) is not, and is listed here with "
        "the LMS's reason: the student's next score is sent as usual.</p>" + table
    )


def _state(score: LtiScore, zone: zoneinfo.ZoneInfo | None) -> str:
    if score.status == ScoreStatus.REFUSED:
        return "refused, not tried again"
    return f"tried again at {_when(score.next_attempt_at, zone)}"


def _line_items_section(db: Session) -> str:
    items = db.scalars(select(LtiLineItem).order_by(LtiLineItem.context_id, LtiLineItem.assignment)).all()
    rows = "".join(
        f"<tr><td>{escape(item.context_id)}</td><td>{escape(item.assignment)}</td>"
        f"<td>{escape(item.lineitem_url or 'found or made with the first score')}</td></tr>"
        for item in items
    )
    if not rows:
        return "<h2>Gradebook columns</h2><p>No launch has announced grade passback yet.</p>"
    return (
        "<h2>Gradebook columns</h2><table class='summary'><thead><tr><th>LMS course</th>"
        f"<th>Assignment</th><th>Line item</th></tr></thead><tbody>{rows}</tbody></table>"
    )


def _roster_section(db: Session, csrf: str, zone: zoneinfo.ZoneInfo | None) -> str:
    contexts = db.execute(
        select(LtiMember.context_id, func.count(), func.max(LtiMember.synced_at))
        .where(LtiMember.status == "Active")
        .group_by(LtiMember.context_id)
        .order_by(LtiMember.context_id)
    ).all()
    rows = "".join(
        f"<tr><td>{escape(context)}</td><td>{count}</td><td>{_when(synced, zone)}</td></tr>"
        for context, count, synced in contexts
    )
    table = (
        "<table class='summary'><thead><tr><th>LMS course</th><th>Members</th><th>Roster fetched</th>"
        f"</tr></thead><tbody>{rows}</tbody></table>"
        if rows
        else ""
    )
    dropped = db.scalars(
        select(LtiMember).where(LtiMember.status == LEFT).order_by(LtiMember.context_id, LtiMember.name)
    ).all()
    gone = (
        "<p id='dropped'>Dropped from the LMS (no longer in its roster; their scores are refused "
        "there): "
        + ", ".join(
            escape(f"{member.name or member.email or member.subject} ({member.context_id})")
            for member in dropped
        )
        + ".</p>"
        if dropped
        else ""
    )
    problems = "".join(f"<li>{escape(line)}</li>" for line in unmatched(db))
    warning = (
        "<p class='warning' role='alert'>Several roster members match one grader user by their "
        "student number or e-mail, and none of them launched the tool: none is linked, so the "
        "user's rows in the exports carry no name or number from the LMS. Once the student "
        f"opens the tool from the LMS, their launch links them.</p><ul>{problems}</ul>"
        if problems
        else ""
    )
    return (
        "<h2>Roster</h2><p>Once fetched, the Canvas and Moodle exports name students as the LMS "
        "does (instead of roster.csv). A member is linked to the grader user their launches "
        "made, else to a user no launch linked that is named after their student number or "
        "their e-mail's local part.</p>"
        f"{warning}{table}{gone}<form class='stack' method='post' action='/ta/lms/roster'>{csrf}"
        "<button type='submit'>Fetch the roster from the LMS</button></form>"
    )


def _when(moment: dt.datetime | None, zone: zoneinfo.ZoneInfo | None) -> str:
    """A time in the course's zone, UTC on hover, as on every page."""
    return time_html(moment, zone, empty="never")
