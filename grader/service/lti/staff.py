"""The TA's side of LTI Advantage: ``/ta/lms`` (where scores go, how many wait, why the last
ones failed, the LMS roster and a button to fetch it again) and the roster fetch, as a form
and as ``POST /api/v1/lms/roster``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from grader.service.crud import lti
from grader.service.deps import FormCsrf, Staff
from grader.service.errors import ApiError
from grader.service.lti.oauth import TokenError
from grader.service.lti.roster import LEFT, RosterError, Synced, sync_rosters, unmatched
from grader.service.models import ScoreStatus, User
from grader.service.templating import csrf_field, templated

router = APIRouter()
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
def roster_form(request: Request, user: Staff, _csrf: FormCsrf) -> Response:
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
        counts = lti.outbox_counts(db)
        shown = {
            **lti.lms_overview(db, left=LEFT, failures=FAILURES_SHOWN),
            "problems": unmatched(db),
        }
        return templated(
            request,
            user,
            "lti/lms.html",
            "grader: the LMS",
            message=message,
            zone=zone,
            waiting=counts[ScoreStatus.PENDING] + counts[ScoreStatus.SENDING],
            delivered=counts[ScoreStatus.DELIVERED],
            superseded=counts[ScoreStatus.SUPERSEDED],
            refused=counts[ScoreStatus.REFUSED],
            refused_status=ScoreStatus.REFUSED,
            csrf=csrf_field(request),
            **shown,
        )
