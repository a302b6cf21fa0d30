"""The LTI routes. The tool's JWKS, the OIDC login, the launch and the deep-linking pick are
public by nature (the platform's signed ``id_token``, or the tool's own signed pick token, is
the credential); the TA's ``/ta/lms`` page and the roster fetch check roles as usual.

Deep linking (LTI Deep Linking 2.0): a TA adding the tool in the LMS picks the problem set the
new link opens, and the LMS makes its gradebook column (docs/lms.md). The LMS often shows the
picker in its own frame, where the session cookie does not reach: the pick carries the request
in a short-lived token the tool signs, used once (``pick``, a login state)."""

from __future__ import annotations

import json
import logging
import re
import secrets
from dataclasses import dataclass, field
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet, RSAKey
from pydantic import BaseModel, ConfigDict, ValidationError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from grader.course.files import LoadedAssignment
from grader.course.lti import LtiConfig, Platform, load
from grader.service.auth import set_session_cookie, start_session
from grader.service.course import CourseState
from grader.service.credentials import digest
from grader.service.crud import lti, sessions
from grader.service.crud.audit import audit
from grader.service.deps import FormCsrf, FormText, ServiceDep, Staff, WebService, assignment_in
from grader.service.errors import ApiError
from grader.service.lti import keys, launch, scores
from grader.service.lti.keys import AccessTokens, TokenError, sign
from grader.service.lti.launch import CLAIM, DL_SETTINGS_CLAIM, LaunchError
from grader.service.lti.passback import Passback
from grader.service.lti.roster import LEFT, RosterError, Synced, lms_roster, sync_rosters, unmatched
from grader.service.models import Role, ScoreStatus, User
from grader.service.settings import Settings
from grader.service.templating import csrf_field, page_response, templated

log = logging.getLogger("grader.service.lti")
router = APIRouter(prefix="/lti", include_in_schema=False)
staff_router = APIRouter()
FAILURES_SHOWN = 20


@dataclass
class LtiState:
    config: LtiConfig
    tokens: AccessTokens
    tool_keys: keys.ToolKeys
    platform_keys: launch.PlatformKeys = field(default_factory=launch.PlatformKeys)


def install(app: FastAPI, settings: Settings) -> None:
    """Reads ``lti.yaml`` (a bad file stops the start) and adds the routers; with a platform,
    the score hook, the passback thread and the LMS roster for the exports."""
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
    app.state.lms_roster = partial(lms_roster, service.db)  # read by exports.export_roster
    app.state.ta_links = [*getattr(app.state, "ta_links", []), ("/ta/lms", "LMS: grade passback and roster")]


def _tool(request: Request) -> LtiState:
    state: LtiState = request.app.state.lti
    if not state.config.platforms:
        raise ApiError(404, "LTI is not set up for this course (no lti.yaml)")
    return state


Tool = Annotated[LtiState, Depends(_tool)]


@router.get("/jwks.json")
def jwks(request: Request) -> Response:
    tool_keys: keys.ToolKeys = request.app.state.lti.tool_keys
    return JSONResponse(tool_keys.public_jwks(), headers={"Cache-Control": "max-age=300"})


@router.api_route("/login", methods=["GET", "POST"])
async def login(request: Request, tool: Tool, service: ServiceDep) -> Response:
    """OIDC third-party login initiation (GET or form POST from the platform)."""
    params: dict[str, Any] = dict(request.query_params)
    if request.method == "POST":
        params.update({k: v for k, v in (await request.form()).items() if isinstance(v, str)})

    def started() -> str:  # in a request thread: a write waits for its turn, never in the loop
        with service.db.session() as db:
            try:
                return launch.start_login(db, tool.config, params, tool.config.launch_url)
            except launch.LaunchError as error:
                raise ApiError(400, str(error)) from error

    return RedirectResponse(await run_in_threadpool(started), status_code=302)


@router.post("/launch")
def lti_launch(tool: Tool, service: ServiceDep, id_token: FormText = "", state: FormText = "") -> Response:
    """Signs the user in and opens their page of the assignment; a deep-linking request shows
    a TA the assignments to pick from instead."""
    try:
        with service.db.session() as db:
            claims, platform = launch.validate_launch(db, tool.config, tool.platform_keys, id_token, state)
            if claims[launch.CLAIM + "message_type"] == launch.DEEP_LINKING:
                return _deep_linking(tool, db, claims, platform, service.course)
            user = launch.service_user(db, claims, platform)
            item = launch.record_launch(db, claims, platform)
            loaded = service.course.get(item.assignment) if item is not None else None
            if loaded is not None and user.role == Role.STUDENT:
                # their present score, unless the same one waits to be posted: the LMS's
                # gradebook is brought back in line, whatever happened to it since
                scores.refresh(db, loaded.id, user.id, resend=True)
            cookie = launch_session(db, user, service.settings.session_hours)
            assignment = launch.assignment_of(claims)
            audit(db, user, "lti_launch", assignment=assignment)
            name, role = user.name, user.role
    except launch.LaunchError as error:
        log.warning(json.dumps({"event": "lti_refused", "why": str(error)}))
        with service.db.session() as db:  # the transaction that marked its state used rolled back
            lti.use_state(db, state)
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
    """The launch's session cookie, with the CSRF token of the user's newest live session: the new
    cookie replaces the browser's, and a tab an earlier launch opened keeps posting its forms."""
    earlier = sessions.newest_live_session(db, user.id)
    cookie = start_session(db, user, hours)
    if earlier is not None:
        db.flush()
        new = sessions.session_of(db, digest(cookie))
        if new is not None:
            new.csrf_token = earlier.csrf_token
    return cookie


def _deep_linking(
    tool: LtiState, db: Session, claims: dict[str, Any], platform: Platform, course: CourseState
) -> Response:
    """A TA adding the tool in the LMS: the assignments to pick from. Students may not."""
    if launch.role_of(claims, platform) == Role.STUDENT:
        raise launch.LaunchError("only instructors and TAs can add grader's assignments to the course")
    wanted = request_of(claims, platform, launch.new_state(db, platform).state)
    user = launch.service_user(db, claims, platform)
    audit(db, user, "lti_deep_link", return_url=wanted.return_url)
    log.info(json.dumps({"event": "lti_deep_link", "user": user.name}))
    return picker_page(tool.tool_keys.current(), wanted, course.all())


@router.post("/deep-link")
def deep_link(
    tool: Tool,
    service: ServiceDep,
    state: FormText = "",
    assignment: FormText = "",
) -> Response:
    """The TA's pick: the form that takes the signed deep-linking response to the LMS."""
    try:
        wanted = read_state(tool.tool_keys.verification_keys(), state)
    except launch.LaunchError as error:
        raise ApiError(403, str(error)) from error
    loaded = assignment_in(service.course, assignment)
    with service.db.session() as db:
        if not lti.use_state(db, wanted.pick):
            raise ApiError(
                403, "this choice was already used (or is too old): add the tool from the LMS again"
            )
    log.info(json.dumps({"event": "lti_deep_link_response", "assignment": loaded.name}))
    return return_page(tool.tool_keys.current(), wanted, loaded, tool.config.launch_url)


def fetch_roster(service: WebService, tool: LtiState) -> list[Synced]:
    try:
        return sync_rosters(service.db, tool.config, tool.tokens)
    except (RosterError, TokenError) as error:
        raise ApiError(502, f"the roster could not be fetched from the LMS: {error}") from error


@staff_router.post("/api/v1/lms/roster")
def api_roster(service: ServiceDep, user: Staff, tool: Tool) -> dict[str, Any]:
    """Fetch the roster of every LMS course the tool was launched from (NRPS)."""
    synced = fetch_roster(service, tool)
    return {"contexts": [{"context": s.context_id, "members": s.members, "pages": s.pages} for s in synced]}


@staff_router.post("/ta/lms/roster", include_in_schema=False)
def roster_form(request: Request, service: ServiceDep, user: Staff, _csrf: FormCsrf, tool: Tool) -> Response:
    try:
        synced = fetch_roster(service, tool)
    except ApiError as error:
        message = error.message
    else:
        message = "; ".join(f"{s.context_id}: {s.members} members" for s in synced) or "no LMS course"
    return lms_page(request, service, user, message)  # the server's message, never one a link carries


@staff_router.get("/ta/lms", include_in_schema=False)
def lms_page_route(request: Request, service: ServiceDep, user: Staff, _tool: Tool) -> Response:
    return lms_page(request, service, user)


def lms_page(request: Request, service: WebService, user: User, message: str = "") -> Response:
    """Where scores go, how many wait, why the last ones failed, and the LMS roster."""
    with service.db.session() as db:
        counts = lti.outbox_counts(db)
        page = lti.lms_overview(db, left=LEFT, failures=FAILURES_SHOWN) | {"problems": unmatched(db)}
    page |= {"waiting": counts[ScoreStatus.PENDING] + counts[ScoreStatus.SENDING], "message": message}
    page |= {name: counts[name] for name in ("delivered", "superseded", "refused")}  # ScoreStatus's
    page |= {"zone": service.course.zone(), "refused_status": ScoreStatus.REFUSED}
    page["csrf"] = csrf_field(request)
    return templated(request, user, "lti/lms.html", "grader: the LMS", **page)


# ---- deep linking -------------------------------------------------------------------------

DL_CLAIM = "https://purl.imsglobal.org/spec/lti-dl/claim/"
RESOURCE_LINK = "ltiResourceLink"
STATE_ISSUER = "grader"
STATE_AUDIENCE = "grader/deep-linking"
STATE_SECONDS = 1800  # how long the TA has to pick
RESPONSE_SECONDS = 600
AUTO_SUBMIT = "document.forms[0].submit();"
ORIGIN = re.compile(r"https?://[A-Za-z0-9.\-]+(:\d{1,5})?(?=[/?#]|\Z)")


class DeepLinkRequest(BaseModel):
    """What the deep-linking launch asked, carried through the TA's pick."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    issuer: str
    client_id: str
    deployment_id: str
    return_url: str
    data: str | None = None
    accept_lineitem: bool = True
    pick: str = ""  # the single-use state of this pick


def request_of(claims: dict[str, Any], platform: Platform, pick: str) -> DeepLinkRequest:
    """LaunchError when the LMS does not take the links the tool makes."""
    settings = claims[DL_SETTINGS_CLAIM]
    accepted = settings.get("accept_types") or [RESOURCE_LINK]
    if RESOURCE_LINK not in accepted:
        raise LaunchError(
            f"the LMS takes only {', '.join(map(str, accepted))} here, not links to assignments"
        )
    data = settings.get("data")
    return DeepLinkRequest(
        issuer=platform.issuer,
        client_id=platform.client_id,
        deployment_id=str(claims[CLAIM + "deployment_id"]),
        return_url=str(settings["deep_link_return_url"]),
        data=None if data is None else str(data),
        accept_lineitem=settings.get("accept_lineitem") is not False,
        pick=pick,
    )


def read_state(key: RSAKey | KeySet, token: str) -> DeepLinkRequest:
    """The request behind a pick; LaunchError when the token is not the tool's or is stale.
    ``key``: the tool's keys still in grace (a pick started before a rotation still counts)."""
    try:
        claims = jwt.decode(token, key, algorithms=["RS256"]).claims
        jwt.JWTClaimsRegistry(
            iss={"essential": True, "value": STATE_ISSUER},
            aud={"essential": True, "value": STATE_AUDIENCE},
            exp={"essential": True},
        ).validate(claims)
        return DeepLinkRequest.model_validate(claims.get("request"))
    except (JoseError, ValueError, ValidationError) as error:
        raise LaunchError(
            "this choice is stale or was not made here: add the tool from the LMS again"
        ) from error


def picker_page(key: RSAKey, request: DeepLinkRequest, assignments: list[LoadedAssignment]) -> HTMLResponse:
    """The course's assignments, each with a button that adds it."""
    claims = {"iss": STATE_ISSUER, "aud": STATE_AUDIENCE, "request": request.model_dump()}
    state = sign(key, claims, STATE_SECONDS)
    shown = page_response(
        "lti/picker.html", "grader: add an assignment", state=state, assignments=assignments
    )
    return framed(shown, request.return_url)


def return_page(
    key: RSAKey, request: DeepLinkRequest, assignment: LoadedAssignment, launch_url: str
) -> HTMLResponse:
    """The form that posts the ``LtiDeepLinkingResponse`` (one link to ``assignment``) to the
    LMS: at once where scripts run (the script is allowed by its hash), else by its button."""
    title = assignment.spec.title or assignment.name
    item: dict[str, Any] = {
        "type": RESOURCE_LINK,
        "title": title,
        "url": launch_url,
        "custom": {"assignment": assignment.name},
    }
    if request.accept_lineitem and assignment.spec.max_score > 0:  # the LMS makes the column
        line_item = {"scoreMaximum": assignment.spec.max_score, "label": title, "tag": "grader"}
        item["lineItem"] = {**line_item, "resourceId": assignment.name}
    claims: dict[str, Any] = {
        "iss": request.client_id,
        "aud": request.issuer,
        "nonce": secrets.token_urlsafe(24),
        CLAIM + "deployment_id": request.deployment_id,
        CLAIM + "message_type": "LtiDeepLinkingResponse",
        CLAIM + "version": "1.3.0",
        DL_CLAIM + "content_items": [item],
    }
    if request.data is not None:
        claims[DL_CLAIM + "data"] = request.data
    token = sign(key, claims, RESPONSE_SECONDS)
    shown = page_response(
        "lti/return.html",
        "grader: back to the LMS",
        script=AUTO_SUBMIT,
        heading=title,
        return_url=request.return_url,
        token=token,
    )
    return framed(shown, request.return_url, post_to=True)


def framed(response: HTMLResponse, return_url: str, post_to: bool = False) -> HTMLResponse:
    """The service's CSP, but the LMS may frame the page (LMSs show deep linking in a frame)
    and, with ``post_to``, receive its form."""
    origin = ORIGIN.match(return_url)
    if origin is None:
        return response
    policy = response.headers["Content-Security-Policy"]
    policy = policy.replace("frame-ancestors 'none'", f"frame-ancestors {origin[0]}")
    if post_to:
        policy = policy.replace("form-action 'self'", f"form-action 'self' {origin[0]}")
    response.headers["Content-Security-Policy"] = policy
    return response
