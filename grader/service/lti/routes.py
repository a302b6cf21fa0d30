"""The LTI router: the tool's JWKS, the OIDC login initiation and the launch. These routes
are public by nature (the platform's signed ``id_token`` is the credential); every page
they lead to checks roles as usual."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Form, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy import select

from grader.service.auth import SESSION_COOKIE, start_session
from grader.service.db import AuditEntry, Role, utcnow
from grader.service.errors import ApiError
from grader.service.lti import keys
from grader.service.lti.launch import (
    LaunchError,
    PlatformKeys,
    assignment_of,
    record_link,
    service_user,
    start_login,
    validate_launch,
)
from grader.service.lti.models import LtiLoginState
from grader.service.lti.registration import LtiConfig, load
from grader.service.settings import Settings

log = logging.getLogger("grader.service.lti")
router = APIRouter(prefix="/lti", include_in_schema=False)
PUBLIC_PATHS = ("/lti/jwks.json", "/lti/login", "/lti/launch")  # no session: the platform signs


@dataclass
class LtiState:
    config: LtiConfig
    platform_keys: PlatformKeys = field(default_factory=PlatformKeys)


def install(app: FastAPI, settings: Settings) -> None:
    """Reads ``lti.yaml`` (a bad file stops the start, saying where) and adds the router."""
    app.state.lti = LtiState(load(settings.course_dir))
    keys.tool_key(settings.data_dir)  # made at start-up, so the JWKS is stable from the first request
    app.include_router(router)


def _lti(request: Request) -> LtiState:
    state: LtiState = request.app.state.lti
    if not state.config.platforms:
        raise ApiError(404, "LTI is not set up for this course (no lti.yaml)")
    return state


@router.get("/jwks.json")
def jwks(request: Request) -> Response:
    """The tool's public keys: the "public keyset URL" of the tool's registration."""
    settings: Settings = request.app.state.service.settings
    return JSONResponse(keys.public_jwks(settings.data_dir), headers={"Cache-Control": "max-age=300"})


@router.api_route("/login", methods=["GET", "POST"])
async def login(request: Request) -> Response:
    """OIDC third-party login initiation (GET or form POST from the platform)."""
    params: dict[str, Any] = dict(request.query_params)
    if request.method == "POST":
        params.update({k: v for k, v in (await request.form()).items() if isinstance(v, str)})
    lti = _lti(request)
    service = request.app.state.service
    with service.db.session() as db:
        try:
            url = start_login(db, lti.config, params, str(request.url_for("lti_launch")))
        except LaunchError as error:
            raise ApiError(400, str(error)) from error
    return RedirectResponse(url, status_code=302)


@router.post("/launch", name="lti_launch")
def launch(
    request: Request, id_token: Annotated[str, Form()] = "", state: Annotated[str, Form()] = ""
) -> Response:
    """The platform's form post: validates the id_token, signs the user in, and opens their
    page for the assignment (a TA's dashboard of it, a student's hand-in section)."""
    lti = _lti(request)
    service = request.app.state.service
    try:
        with service.db.session() as db:
            claims = validate_launch(db, lti.config, lti.platform_keys, id_token, state)
            user = service_user(db, claims)
            audience = claims["aud"] if isinstance(claims["aud"], str) else claims.get("azp")
            platform = lti.config.find(str(claims["iss"]), str(audience))
            if platform is not None:
                record_link(db, claims, platform)
            cookie = start_session(db, user, service.settings.session_hours)
            assignment = assignment_of(claims)
            db.add(AuditEntry(user_id=user.id, action="lti_launch", detail={"assignment": assignment}))
            name, role = user.name, user.role
    except LaunchError as error:
        log.warning(json.dumps({"event": "lti_refused", "why": str(error)}))
        _consume_state(service, state)
        raise ApiError(403, f"LTI launch refused: {error}") from error
    known = assignment is not None and service.course.get(assignment) is not None
    if role == Role.STUDENT:
        target = f"/#assignment-{assignment}" if known else "/"
    else:
        target = f"/ta/assignments/{assignment}" if known else "/ta"
    log.info(json.dumps({"event": "lti_launch", "user": name, "role": role, "assignment": assignment}))
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        cookie,
        httponly=True,
        samesite="lax",
        secure=service.settings.secure_cookies,
        max_age=int(service.settings.session_hours * 3600),
        path="/",
    )
    return response


def _consume_state(service: Any, state: str) -> None:
    """A refused launch still uses up its state (the transaction that marked it rolled back)."""
    with service.db.session() as db:
        login = db.scalar(select(LtiLoginState).where(LtiLoginState.state == state)) if state else None
        if login is not None and login.used_at is None:
            login.used_at = utcnow()
