"""Deep linking (LTI Deep Linking 2.0): a TA adding the tool in the LMS picks the problem set
the new link opens, and the LMS makes its gradebook column (docs/lms.md). The LMS often shows
the picker in its own frame, where the session cookie does not reach: the pick carries the
request in a short-lived token the tool signs, used once (``pick``, a login state)."""

from __future__ import annotations

import re
import secrets
from typing import Any

from fastapi.responses import HTMLResponse
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet, RSAKey
from pydantic import BaseModel, ConfigDict, ValidationError

from grader.service.course_files import LoadedAssignment
from grader.service.lti.keys import sign
from grader.service.lti.launch import CLAIM, DL_SETTINGS_CLAIM, LaunchError
from grader.service.lti.registration import Platform
from grader.service.templating import page_response

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
