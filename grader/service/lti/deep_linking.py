"""Deep linking (LTI Deep Linking 2.0): a TA adding the tool in the LMS picks the problem
set the new link opens, and the LMS makes its gradebook column.

The deep-linking launch shows the course's assignments. The page is often shown in the
LMS's own frame, where the service's session cookie does not reach, so the TA's pick
carries the request in a short-lived token the tool signs with its own key, used once (its
``pick`` is a single-use state of ``lti_login_states``). The pick
answers with a form that posts the ``LtiDeepLinkingResponse`` JWT (signed by the tool's
key, checked by the platform against ``/lti/jwks.json``) to the platform's
``deep_link_return_url``: an ``ltiResourceLink`` whose ``custom`` names the assignment, with
a ``lineItem`` (``resourceId`` = the assignment) so that the LMS makes the column.
"""

from __future__ import annotations

import re
import secrets
import time
from typing import Any

from fastapi.responses import HTMLResponse
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet, RSAKey
from pydantic import BaseModel, ConfigDict, ValidationError

from grader.service.course_files import LoadedAssignment
from grader.service.lti.claims import CLAIM, DL_SETTINGS_CLAIM
from grader.service.lti.launch import LaunchError
from grader.service.lti.registration import Platform
from grader.service.templating import page_response

DL_CLAIM = "https://purl.imsglobal.org/spec/lti-dl/claim/"
CONTENT_ITEMS = DL_CLAIM + "content_items"
DATA = DL_CLAIM + "data"
RESOURCE_LINK = "ltiResourceLink"
STATE_ISSUER = "grader"
STATE_AUDIENCE = "grader/deep-linking"
STATE_SECONDS = 1800  # how long the TA has to pick
RESPONSE_SECONDS = 600
AUTO_SUBMIT = "document.forms[0].submit();"
ORIGIN = re.compile(r"^https?://[A-Za-z0-9.\-]+(:\d{1,5})?$")


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
    """The request of a validated deep-linking launch; LaunchError when the LMS does not
    take the links the tool makes."""
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


def state_token(key: RSAKey, request: DeepLinkRequest) -> str:
    now = int(time.time())
    claims = {
        "iss": STATE_ISSUER,
        "aud": STATE_AUDIENCE,
        "iat": now,
        "exp": now + STATE_SECONDS,
        "request": request.model_dump(),
    }
    return jwt.encode({"alg": "RS256", "kid": key.kid}, claims, key)


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


def response_token(
    key: RSAKey, request: DeepLinkRequest, assignment: LoadedAssignment, launch_url: str
) -> str:
    """The ``LtiDeepLinkingResponse`` JWT with one link to ``assignment``."""
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": request.client_id,
        "aud": request.issuer,
        "iat": now,
        "exp": now + RESPONSE_SECONDS,
        "nonce": secrets.token_urlsafe(24),
        CLAIM + "deployment_id": request.deployment_id,
        CLAIM + "message_type": "LtiDeepLinkingResponse",
        CLAIM + "version": "1.3.0",
        CONTENT_ITEMS: [content_item(request, assignment, launch_url)],
    }
    if request.data is not None:
        claims[DATA] = request.data
    return jwt.encode({"alg": "RS256", "kid": key.kid, "typ": "JWT"}, claims, key)


def content_item(request: DeepLinkRequest, assignment: LoadedAssignment, launch_url: str) -> dict[str, Any]:
    title = assignment.spec.title or assignment.name
    item: dict[str, Any] = {
        "type": RESOURCE_LINK,
        "title": title,
        "url": launch_url,
        "custom": {"assignment": assignment.name},
    }
    maximum = assignment.spec.max_score
    if request.accept_lineitem and maximum > 0:
        item["lineItem"] = {
            "scoreMaximum": maximum,
            "label": title,
            "resourceId": assignment.name,
            "tag": "grader",
        }
    return item


# ---- pages ------------------------------------------------------------------------------------


def picker_page(request: DeepLinkRequest, state: str, assignments: list[LoadedAssignment]) -> HTMLResponse:
    """The course's assignments, each with a button that adds it."""
    shown = page_response(
        "lti/picker.html", "grader: add an assignment", state=state, assignments=assignments
    )
    return framed(shown, request.return_url)


def return_page(request: DeepLinkRequest, token: str, assignment: LoadedAssignment) -> HTMLResponse:
    """The form that takes the response to the LMS: posted at once where scripts run (this
    one script is allowed by its hash), by its button where they do not."""
    shown = page_response(
        "lti/return.html",
        "grader: back to the LMS",
        script=AUTO_SUBMIT,
        heading=assignment.spec.title or assignment.name,
        return_url=request.return_url,
        token=token,
    )
    return framed(shown, request.return_url, post_to=True)


def framed(response: HTMLResponse, return_url: str, post_to: bool = False) -> HTMLResponse:
    """The service's CSP, but the LMS may frame the page (LMSs show deep linking in a frame)
    and, with ``post_to``, receive its form."""
    origin = origin_of(return_url)
    if origin is None:
        return response
    policy = response.headers["Content-Security-Policy"]
    policy = policy.replace("frame-ancestors 'none'", f"frame-ancestors {origin}")
    if post_to:
        policy = policy.replace("form-action 'self'", f"form-action 'self' {origin}")
    response.headers["Content-Security-Policy"] = policy
    return response


def origin_of(url: str) -> str | None:
    match = re.match(r"^(https?://[^/?#]+)", url)
    origin = match.group(1) if match else ""
    return origin if ORIGIN.match(origin) else None
