"""The LTI router: the tool's JWKS, the OIDC login initiation, the launch (a resource link,
or a TA's deep-linking request) and the deep-linking pick. These routes are public by
nature (the platform's signed ``id_token``, or the tool's own signed pick token, is the
credential); every page they lead to checks roles as usual. :func:`install` also wires
grade passback and the roster (docs/lms.md)."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Form, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from grader.reporting.lms import Roster
from grader.service.auth import set_session_cookie, start_session
from grader.service.credentials import digest
from grader.service.crud import lti, sessions
from grader.service.crud.audit import audit
from grader.service.deps import assignment_in
from grader.service.errors import ApiError
from grader.service.lti import deep_linking, keys, scores
from grader.service.lti.claims import assignment_of
from grader.service.lti.courses import record_line_item, record_member
from grader.service.lti.launch import (
    LaunchError,
    PlatformKeys,
    is_deep_linking,
    new_state,
    record_link,
    role_of,
    service_user,
    start_login,
    validate_launch,
)
from grader.service.lti.oauth import AccessTokens
from grader.service.lti.passback import Passback
from grader.service.lti.registration import LtiConfig, Platform, load
from grader.service.lti.roster import lms_roster
from grader.service.lti.staff import router as staff_router
from grader.service.models import Role, User, utcnow
from grader.service.settings import Settings

log = logging.getLogger("grader.service.lti")
router = APIRouter(prefix="/lti", include_in_schema=False)


@dataclass
class LtiState:
    config: LtiConfig
    tokens: AccessTokens
    tool_keys: keys.ToolKeys
    platform_keys: PlatformKeys = field(default_factory=PlatformKeys)


def install(app: FastAPI, settings: Settings) -> None:
    """Reads ``lti.yaml`` (a bad file stops the start, saying where) and adds the routers.
    With a platform registered: scores are queued with every verdict, posted by a thread
    that runs with the grading workers, and the exports take the LMS's roster."""
    config = load(settings.course_dir)
    tool_keys = keys.ToolKeys(settings.data_dir, settings.lti_key_days)
    tool_keys.current()  # made (or rotated when due) at start-up: the JWKS is stable from the first request
    app.state.lti = LtiState(config, AccessTokens(tool_keys.current), tool_keys)
    app.include_router(router)
    app.include_router(staff_router)
    if not config.platforms:
        return
    service = app.state.service
    service.hook_database(scores.install)  # the grading process writes verdicts too
    service.companions.append(Passback(service.db, config, service.course, app.state.lti.tokens))

    def roster() -> Roster | None:
        with service.db.session() as db:
            return lms_roster(db)

    app.state.lms_roster = roster  # read by the Canvas and Moodle exports (exports.export_roster)
    app.state.ta_links = [*getattr(app.state, "ta_links", []), ("/ta/lms", "LMS: grade passback and roster")]


def _lti(request: Request) -> LtiState:
    state: LtiState = request.app.state.lti
    if not state.config.platforms:
        raise ApiError(404, "LTI is not set up for this course (no lti.yaml)")
    return state


@router.get("/jwks.json")
def jwks(request: Request) -> Response:
    """The tool's public keys: the "public keyset URL" of the tool's registration."""
    tool_keys: keys.ToolKeys = request.app.state.lti.tool_keys
    return JSONResponse(tool_keys.public_jwks(), headers={"Cache-Control": "max-age=300"})


@router.api_route("/login", methods=["GET", "POST"])
async def login(request: Request) -> Response:
    """OIDC third-party login initiation (GET or form POST from the platform)."""
    params: dict[str, Any] = dict(request.query_params)
    if request.method == "POST":
        params.update({k: v for k, v in (await request.form()).items() if isinstance(v, str)})
    lti = _lti(request)
    service = request.app.state.service

    def started() -> str:  # in a request thread: a write waits for its turn, never in the loop
        with service.db.session() as db:
            try:
                return start_login(db, lti.config, params, lti.config.launch_url)
            except LaunchError as error:
                raise ApiError(400, str(error)) from error

    return RedirectResponse(await run_in_threadpool(started), status_code=302)


@router.post("/launch", name="lti_launch")
def launch(
    request: Request, id_token: Annotated[str, Form()] = "", state: Annotated[str, Form()] = ""
) -> Response:
    """The platform's form post: validates the id_token, signs the user in, and opens their
    page for the assignment (a TA's dashboard of it, a student's hand-in section). A
    deep-linking request shows a TA the assignments to pick from instead."""
    lti = _lti(request)
    service = request.app.state.service
    try:
        with service.db.session() as db:
            claims = validate_launch(db, lti.config, lti.platform_keys, id_token, state)
            platform = _platform(lti, claims)
            if is_deep_linking(claims):
                return _deep_linking(request, db, claims, platform)
            user = service_user(db, claims, platform)
            _record(db, claims, platform, user, service)
            cookie = launch_session(db, user, service.settings.session_hours)
            assignment = assignment_of(claims)
            audit(db, user, "lti_launch", assignment=assignment)
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
    set_session_cookie(response, cookie, service.settings)
    return response


def launch_session(db: Session, user: User, hours: float) -> str:
    """The launch's session cookie. Its forms' CSRF token is that of the user's newest live
    session: a launch is a cross-site form post, which brings no cookie of ours, so the new
    cookie replaces the browser's, and a tab an earlier launch opened keeps posting its forms."""
    earlier = sessions.newest_live_session(db, user.id)
    cookie = start_session(db, user, hours)
    if earlier is not None:
        db.flush()
        new = sessions.session_of(db, digest(cookie))
        if new is not None:
            new.csrf_token = earlier.csrf_token
    return cookie


def _platform(lti: LtiState, claims: dict[str, Any]) -> Platform:
    audience = claims["aud"] if isinstance(claims["aud"], str) else claims.get("azp")
    platform = lti.config.find(str(claims["iss"]), str(audience))
    if platform is None:
        raise LaunchError("the platform of this launch is not registered")
    return platform


def _record(db: Session, claims: dict[str, Any], platform: Platform, user: User, service: Any) -> None:
    """The link, where the assignment's scores go, and the user as a member of the LMS
    course; a student's score already made goes to a line item that has none of theirs."""
    record_link(db, claims, platform)
    item = record_line_item(db, claims, platform)
    record_member(db, claims)
    loaded = service.course.get(item.assignment) if item is not None else None
    if loaded is not None and user.role == Role.STUDENT:
        # their present score, unless the same one waits to be posted: the LMS's gradebook
        # is brought back in line, whatever happened to it since
        scores.refresh_student(db, loaded.id, user.id, resend=True)


def _deep_linking(request: Request, db: Session, claims: dict[str, Any], platform: Platform) -> Response:
    """A TA adding the tool in the LMS: the assignments to pick from. Students may not."""
    if role_of(claims, platform) == Role.STUDENT:
        raise LaunchError("only instructors and TAs can add grader's assignments to the course")
    wanted = deep_linking.request_of(claims, platform, new_state(db, platform).state)
    user = service_user(db, claims, platform)
    audit(db, user, "lti_deep_link", return_url=wanted.return_url)
    service = request.app.state.service
    key = _lti(request).tool_keys.current()
    log.info(json.dumps({"event": "lti_deep_link", "user": user.name}))
    return deep_linking.picker_page(wanted, deep_linking.state_token(key, wanted), service.course.all())


@router.post("/deep-link")
def deep_link(
    request: Request, state: Annotated[str, Form()] = "", assignment: Annotated[str, Form()] = ""
) -> Response:
    """The TA's pick: the form that takes the signed deep-linking response to the LMS."""
    tool_keys = _lti(request).tool_keys
    service = request.app.state.service
    try:
        wanted = deep_linking.read_state(tool_keys.verification_keys(), state)
    except LaunchError as error:
        raise ApiError(403, str(error)) from error
    loaded = assignment_in(service.course, assignment)
    with service.db.session() as db:
        if not lti.use_state(db, wanted.pick):
            raise ApiError(
                403, "this choice was already used (or is too old): add the tool from the LMS again"
            )
    token = deep_linking.response_token(tool_keys.current(), wanted, loaded, _lti(request).config.launch_url)
    log.info(json.dumps({"event": "lti_deep_link_response", "assignment": loaded.name}))
    return deep_linking.return_page(wanted, token, loaded)


def _consume_state(service: Any, state: str) -> None:
    """A refused launch still uses up its state (the transaction that marked it rolled back)."""
    with service.db.session() as db:
        login = lti.login_state(db, state) if state else None
        if login is not None and login.used_at is None:
            login.used_at = utcnow()
