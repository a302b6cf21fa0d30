"""LTI 1.3 core: the OIDC third-party login initiation and the validation of the launch's
``id_token`` (signature against the platform's JWKS, issuer, audience, expiry, nonce used
once, deployment id, message type and version), then the LMS user as a service user. A
launch is a resource link (a student or TA opens an assignment) or a deep-linking request
(a TA picks the assignment a new link opens, :mod:`grader.service.lti.deep_linking`)."""

from __future__ import annotations

import datetime as dt
import re
import secrets
import threading
import time
from typing import Any
from urllib.parse import urlencode

import httpx
from joserfc import jws, jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from sqlalchemy.orm import Session

from grader.service.crud import lti
from grader.service.crud.accounts import course_id
from grader.service.crud.audit import audit
from grader.service.lti.claims import AGS_CLAIM, CLAIM, DL_SETTINGS_CLAIM, NRPS_CLAIM, assignment_of
from grader.service.lti.registration import LtiConfig, Platform
from grader.service.models import LtiLink, LtiLoginState, LtiUser, Role, User, utcnow

RESOURCE_LINK = "LtiResourceLinkRequest"
DEEP_LINKING = "LtiDeepLinkingRequest"  # a TA picks what the link opens (docs/lms.md)
LOGIN_SECONDS = 600  # how long a login initiation waits for its launch
KEPT_SECONDS = 1800  # login states (used or not) and deep-linking picks are removed after this
LEEWAY_SECONDS = 60  # clock skew allowed on exp and iat
JWKS_SECONDS = 300  # how long a platform's keys are cached (refetched at once for a new kid)
LIS_ROLES = "http://purl.imsglobal.org/vocab/lis/v2/"
# The context roles of the LIS vocabulary that grade, principal roles or their sub-roles
# (membership/Instructor#TeachingAssistant); anyone else who launches is a student
STAFF_ROLES = ("Instructor", "TeachingAssistant", "ContentDeveloper")
MEMBERSHIP = LIS_ROLES + "membership"


class LaunchError(ValueError):
    """A launch refused; the message says why (it is shown to the user, never a secret)."""


def start_login(db: Session, config: LtiConfig, params: dict[str, str], redirect_uri: str) -> str:
    """The OIDC login initiation: a fresh state and nonce, and the URL of the platform's
    authorization endpoint to send the browser to."""
    issuer, hint = params.get("iss", ""), params.get("login_hint", "")
    platform = config.find(issuer, params.get("client_id") or None)
    if platform is None:
        raise LaunchError(f"no LTI platform is registered with issuer {issuer!r} (see lti.yaml)")
    if not hint:
        raise LaunchError("the login initiation has no login_hint")
    forget_old_states(db)
    state = new_state(db, platform)
    query = {
        "scope": "openid",
        "response_type": "id_token",
        "response_mode": "form_post",
        "prompt": "none",
        "client_id": platform.client_id,
        "redirect_uri": redirect_uri,
        "login_hint": hint,
        "state": state.state,
        "nonce": state.nonce,
    }
    if params.get("lti_message_hint"):
        query["lti_message_hint"] = params["lti_message_hint"]
    return f"{platform.auth_url}?{urlencode(query)}"


def new_state(db: Session, platform: Platform) -> LtiLoginState:
    """A single-use state and nonce: of a login, or of a deep-linking pick."""
    state = LtiLoginState(
        state=secrets.token_urlsafe(32),
        nonce=secrets.token_urlsafe(32),
        issuer=platform.issuer,
        client_id=platform.client_id,
    )
    db.add(state)
    return state


def forget_old_states(db: Session) -> None:
    """Login states past any use: anyone may start a login, so they must not pile up. A
    launch or pick whose state is gone is refused as not started here."""
    cutoff = utcnow() - dt.timedelta(seconds=KEPT_SECONDS)
    lti.forget_states_before(db, cutoff)


class PlatformKeys:
    """Platforms' JWKS, fetched over HTTPS and cached; a token signed with a kid not in the
    cache makes one refetch (the platform rotated its keys)."""

    def __init__(self) -> None:
        self._cache: dict[str, tuple[float, KeySet]] = {}
        self._lock = threading.Lock()

    def keyset(self, platform: Platform, kid: str | None) -> KeySet:
        url = str(platform.jwks_url)
        with self._lock:
            cached = self._cache.get(url)
        if cached and time.monotonic() - cached[0] < JWKS_SECONDS and _has_kid(cached[1], kid):
            return cached[1]
        try:
            response = httpx.get(url, timeout=10)
            response.raise_for_status()
            keyset = KeySet.import_key_set(response.json())
        except (httpx.HTTPError, ValueError, JoseError) as error:
            raise LaunchError(f"the platform's keys could not be fetched from {url}: {error}") from error
        with self._lock:
            self._cache[url] = (time.monotonic(), keyset)
        return keyset


def _has_kid(keyset: KeySet, kid: str | None) -> bool:
    return kid is None or any(key.kid == kid for key in keyset.keys)


def validate_launch(
    db: Session, config: LtiConfig, keys: PlatformKeys, id_token: str, state: str
) -> dict[str, Any]:
    """The claims of a launch's ``id_token``, or LaunchError. The state is consumed first, in
    this transaction, so a replayed form is refused even when the token is otherwise good."""
    login = lti.login_state(db, state) if state else None
    if login is None:
        raise LaunchError(
            "this launch was not started here (unknown state); open the tool from the LMS again"
        )
    if login.used_at is not None:
        raise LaunchError("this launch was already used (its nonce is single-use); open the tool again")
    login.used_at = utcnow()
    db.flush()
    if utcnow() - login.created_at > dt.timedelta(seconds=LOGIN_SECONDS):
        raise LaunchError("the login took too long; open the tool from the LMS again")
    platform = config.find(login.issuer, login.client_id)
    if platform is None:
        raise LaunchError("the platform of this login is no longer registered")
    try:
        header = jws.extract_compact(id_token.encode()).headers()
    except (JoseError, ValueError) as error:
        raise LaunchError(f"the id_token is not a JWT: {error}") from error
    keyset = keys.keyset(platform, header.get("kid"))
    try:
        token = jwt.decode(id_token, keyset, algorithms=["RS256", "RS384", "RS512"])
    except (JoseError, ValueError) as error:
        raise LaunchError(
            f"the id_token's signature does not verify with the platform's keys ({error})"
        ) from error
    claims = dict(token.claims)
    _check_claims(claims, platform, login.nonce)
    return claims


def _check_claims(claims: dict[str, Any], platform: Platform, nonce: str) -> None:
    now = time.time()
    if claims.get("iss") != platform.issuer:
        raise LaunchError(f"the id_token's issuer {claims.get('iss')!r} is not {platform.issuer!r}")
    audience = claims.get("aud")
    audiences = audience if isinstance(audience, list) else [audience]
    if platform.client_id not in audiences:
        raise LaunchError(f"the id_token is for another tool (aud {audience!r})")
    if len(audiences) > 1 and claims.get("azp") != platform.client_id:
        raise LaunchError("the id_token has several audiences and its azp is not this tool")
    exp, iat = claims.get("exp"), claims.get("iat")
    if not isinstance(exp, int | float) or exp + LEEWAY_SECONDS < now:
        raise LaunchError("the id_token has expired")
    if not isinstance(iat, int | float) or iat - LEEWAY_SECONDS > now:
        raise LaunchError("the id_token is issued in the future")
    if not secrets.compare_digest(str(claims.get("nonce", "")), nonce):
        raise LaunchError("the id_token's nonce is not the one this login sent")
    deployment = claims.get(CLAIM + "deployment_id")
    if deployment not in platform.deployment_ids:
        raise LaunchError(f"the deployment {deployment!r} is not registered for this platform")
    _check_message(claims)


def _check_message(claims: dict[str, Any]) -> None:
    if claims.get(CLAIM + "version") != "1.3.0":
        raise LaunchError("the launch is not LTI 1.3.0")
    message = claims.get(CLAIM + "message_type")
    if message not in (RESOURCE_LINK, DEEP_LINKING):
        raise LaunchError(f"unsupported LTI message {message!r}")
    if not claims.get("sub"):
        raise LaunchError("the launch has no user (sub); anonymous launches are not supported")
    settings = claims.get(DL_SETTINGS_CLAIM)
    if message == DEEP_LINKING and not (isinstance(settings, dict) and settings.get("deep_link_return_url")):
        raise LaunchError("the deep-linking request has no deep_link_return_url")


def is_deep_linking(claims: dict[str, Any]) -> bool:
    return claims.get(CLAIM + "message_type") == DEEP_LINKING


def role_of(claims: dict[str, Any], platform: Platform | None = None) -> str:
    """TA for the course's staff (:func:`is_staff_role`), or for an institution role the
    platform's ``institution_ta_roles`` lists. Anyone else is a student: a Mentor (Canvas's
    observers), a Learner's sub-roles, an instructor of another course of the institution,
    a custom role."""
    roles = [str(role) for role in claims.get(CLAIM + "roles") or []]
    named = platform.institution_ta_roles if platform is not None else ()
    institution = {f"{LIS_ROLES}institution/person#{name}" for name in named}
    return Role.TA if any(is_staff_role(role) or role in institution for role in roles) else Role.STUDENT


def is_staff_role(role: str) -> bool:
    """A context role Instructor, TeachingAssistant or ContentDeveloper of the LIS vocabulary
    (``membership#Instructor``), a sub-role of one (``membership/Instructor#TeachingAssistant``),
    or the bare name LTI 1.1 used."""
    if role in STAFF_ROLES:
        return True
    if role.startswith(MEMBERSHIP + "#"):
        return role.removeprefix(MEMBERSHIP + "#") in STAFF_ROLES
    principal, sub = role.removeprefix(MEMBERSHIP + "/").partition("#")[::2]
    return role.startswith(MEMBERSHIP + "/") and principal in STAFF_ROLES and bool(sub)


def service_user(db: Session, claims: dict[str, Any], platform: Platform) -> User:
    """The service user of this LMS user, created on the first launch. The role follows the
    LMS on every launch, but an admin stays an admin."""
    issuer, subject = str(claims["iss"]), str(claims["sub"])
    role = role_of(claims, platform)
    link = lti.lti_user(db, issuer, subject)
    if link is not None:
        user = db.get(User, link.user_id)
        assert user is not None
        if user.role != role and user.role != Role.ADMIN:
            audit(db, user, "lti_role", **{"from": user.role, "to": role})
            user.role = role
        return user
    cid = course_id(db)
    user = User(course_id=cid, name=_free_name(db, cid, claims), role=role, password_hash=None)
    db.add(user)
    db.flush()
    db.add(LtiUser(issuer=issuer, subject=subject, user_id=user.id))
    audit(db, None, "lti_user", user=user.name, role=role, iss=issuer)
    return user


def _free_name(db: Session, cid: int, claims: dict[str, Any]) -> str:
    """A readable user name: the e-mail's local part, else the given name, else the LMS id;
    made unique with a number."""
    email = str(claims.get("email") or "")
    base = email.split("@", 1)[0] or str(claims.get("given_name") or "") or f"lms-{claims['sub']}"
    base = re.sub(r"[^A-Za-z0-9_.-]+", "-", base).strip(".-")[:180] or "lms-user"
    name, number = base, 1
    while lti.name_taken(db, cid, name):
        number += 1
        name = f"{base}-{number}"
    return name


def record_link(db: Session, claims: dict[str, Any], platform: Platform) -> LtiLink | None:
    """Keep the launch's resource link and the AGS and NRPS endpoints it announces (the
    grade passback and the roster use them); None when the launch names no link."""
    link_claim = claims.get(CLAIM + "resource_link") or {}
    link_id = str(link_claim.get("id") or "") if isinstance(link_claim, dict) else ""
    if not link_id:
        return None
    deployment = str(claims[CLAIM + "deployment_id"])
    link = lti.resource_link(db, platform.issuer, deployment, link_id)
    if link is None:
        link = LtiLink(
            issuer=platform.issuer,
            client_id=platform.client_id,
            deployment_id=deployment,
            resource_link_id=link_id,
        )
        db.add(link)
    context = claims.get(CLAIM + "context") or {}
    ags = claims.get(AGS_CLAIM) or {}
    nrps = claims.get(NRPS_CLAIM) or {}
    link.context_id = str(context.get("id")) if isinstance(context, dict) and context.get("id") else None
    link.assignment = assignment_of(claims) or link.assignment
    if isinstance(ags, dict):
        link.lineitems_url = ags.get("lineitems") or None
        link.lineitem_url = ags.get("lineitem") or None
        link.ags_scopes = [str(scope) for scope in ags.get("scope") or []]
    if isinstance(nrps, dict):
        link.memberships_url = nrps.get("context_memberships_url") or None
    link.updated_at = utcnow()
    return link
