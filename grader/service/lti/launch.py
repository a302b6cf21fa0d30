"""LTI 1.3 core: the OIDC login initiation, the validation of the launch's ``id_token``, and
what a launch records: the LMS user as a service user, the resource link, where the
assignment's scores go and the user as a member of the LMS course (docs/lms.md)."""

from __future__ import annotations

import datetime as dt
import re
import secrets
import time
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse

import httpx
from joserfc import jws, jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from sqlalchemy.orm import Session

from grader.course.lti import LtiConfig, Platform
from grader.service.crud import lti
from grader.service.crud.accounts import course_id
from grader.service.crud.audit import audit
from grader.service.models import LtiLineItem, LtiLink, LtiLoginState, LtiMember, LtiUser, Role, User, utcnow

CLAIM = "https://purl.imsglobal.org/spec/lti/claim/"
AGS_CLAIM = "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"
NRPS_CLAIM = "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice"
DL_SETTINGS_CLAIM = "https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings"
RESOURCE_LINK = "LtiResourceLinkRequest"
DEEP_LINKING = "LtiDeepLinkingRequest"
LOGIN_SECONDS = 600  # how long a login initiation waits for its launch
KEPT_SECONDS = 1800  # login states (used or not) and deep-linking picks are removed after this
LEEWAY_SECONDS = 60  # clock skew allowed on exp and iat
JWKS_SECONDS = 300  # how long a platform's keys are cached (refetched at once for a new kid)
LIS_ROLES = "http://purl.imsglobal.org/vocab/lis/v2/"
MEMBERSHIP = LIS_ROLES + "membership"
# The context roles that grade (and their sub-roles); anyone else who launches is a student
STAFF_ROLES = ("Instructor", "TeachingAssistant", "ContentDeveloper")


class LaunchError(ValueError):
    """A launch refused; the message says why (it is shown to the user, never a secret)."""


def start_login(db: Session, config: LtiConfig, params: dict[str, str], redirect_uri: str) -> str:
    """A fresh state and nonce, and the URL of the platform's authorization endpoint."""
    issuer, hint = params.get("iss", ""), params.get("login_hint", "")
    platform = config.find(issuer, params.get("client_id") or None)
    if platform is None:
        raise LaunchError(f"no LTI platform is registered with issuer {issuer!r} (see lti.yaml)")
    if not hint:
        raise LaunchError("the login initiation has no login_hint")
    # anyone may start a login: old states must not pile up (a launch whose state is gone is refused)
    lti.forget_states_before(db, utcnow() - dt.timedelta(seconds=KEPT_SECONDS))
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


class PlatformKeys:
    """Platforms' JWKS, cached; a kid not in the cache makes one refetch (a key rotation)."""

    def __init__(self) -> None:
        self._cache: dict[str, tuple[float, KeySet]] = {}  # threads share it: one step each

    def keyset(self, platform: Platform, kid: str | None) -> KeySet:
        url = str(platform.jwks_url)
        cached = self._cache.get(url)
        fresh = cached and time.monotonic() - cached[0] < JWKS_SECONDS
        if cached and fresh and (kid is None or any(key.kid == kid for key in cached[1].keys)):
            return cached[1]
        try:
            response = httpx.get(url, timeout=10)
            response.raise_for_status()
            keyset = KeySet.import_key_set(response.json())
        except (httpx.HTTPError, ValueError, JoseError) as error:
            raise LaunchError(f"the platform's keys could not be fetched from {url}: {error}") from error
        self._cache[url] = (time.monotonic(), keyset)
        return keyset


def validate_launch(
    db: Session, config: LtiConfig, keys: PlatformKeys, id_token: str, state: str
) -> tuple[dict[str, Any], Platform]:
    """The claims of a launch's ``id_token`` and its platform, or LaunchError. The state is used
    up first, in this transaction, so a replayed form is refused even when the token is good."""
    login = lti.find(db, LtiLoginState, state=state) if state else None
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
        claims = dict(jwt.decode(id_token, keyset, algorithms=["RS256", "RS384", "RS512"]).claims)
    except (JoseError, ValueError) as error:
        raise LaunchError(
            f"the id_token's signature does not verify with the platform's keys ({error})"
        ) from error
    _check_claims(claims, platform, login.nonce)
    return claims, platform


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
    if claims.get(CLAIM + "version") != "1.3.0":
        raise LaunchError("the launch is not LTI 1.3.0")
    message = claims.get(CLAIM + "message_type")
    if message not in (RESOURCE_LINK, DEEP_LINKING):
        raise LaunchError(f"unsupported LTI message {message!r}")
    if not claims.get("sub"):
        raise LaunchError("the launch has no user (sub); anonymous launches are not supported")
    if message == DEEP_LINKING and not claim(claims, DL_SETTINGS_CLAIM).get("deep_link_return_url"):
        raise LaunchError("the deep-linking request has no deep_link_return_url")


def claim(claims: dict[str, Any], name: str) -> dict[str, Any]:
    """A claim that is an object; ``{}`` when it is missing or not one."""
    found = claims.get(name)
    return found if isinstance(found, dict) else {}


def assignment_of(claims: dict[str, Any]) -> str | None:
    """The link's custom parameter ``assignment``, else an ``?assignment=`` on its target link URI
    (Canvas's "External Tool" assignment with a URL typed in); both are in the signed token."""
    name = claim(claims, CLAIM + "custom").get("assignment")
    if not name:
        query = parse_qs(urlparse(str(claims.get(CLAIM + "target_link_uri") or "")).query)
        name = next(iter(query.get("assignment", [])), None)
    return str(name) if name else None


def role_of(claims: dict[str, Any], platform: Platform | None = None) -> str:
    """TA for the course's staff, or for an institution role the platform's ``institution_ta_roles``
    lists; anyone else (a Mentor, an instructor of another course, a custom role) is a student."""
    roles = [str(role) for role in claims.get(CLAIM + "roles") or []]
    named = platform.institution_ta_roles if platform is not None else ()
    institution = {f"{LIS_ROLES}institution/person#{name}" for name in named}
    return Role.TA if any(is_staff_role(role) or role in institution for role in roles) else Role.STUDENT


def is_staff_role(role: str) -> bool:
    """``membership#Instructor`` (or TeachingAssistant, ContentDeveloper), a sub-role of one
    (``membership/Instructor#TeachingAssistant``), or the bare name LTI 1.1 used."""
    if role.startswith(MEMBERSHIP + "#"):
        role = role.removeprefix(MEMBERSHIP + "#")
    elif role.startswith(MEMBERSHIP + "/"):
        principal, _, sub = role.removeprefix(MEMBERSHIP + "/").partition("#")
        return principal in STAFF_ROLES and bool(sub)
    return role in STAFF_ROLES


def service_user(db: Session, claims: dict[str, Any], platform: Platform) -> User:
    """The service user of this LMS user, created on the first launch. The role follows the
    LMS on every launch, but an admin stays an admin."""
    issuer, subject = str(claims["iss"]), str(claims["sub"])
    role = role_of(claims, platform)
    link = lti.find(db, LtiUser, issuer=issuer, subject=subject)
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
    """The e-mail's local part, else the given name, else the LMS id; made unique with a number."""
    email = str(claims.get("email") or "")
    base = email.split("@", 1)[0] or str(claims.get("given_name") or "") or f"lms-{claims['sub']}"
    base = re.sub(r"[^A-Za-z0-9_.-]+", "-", base).strip(".-")[:180] or "lms-user"
    name, number = base, 1
    while lti.find(db, User, course_id=cid, name=name) is not None:
        number += 1
        name = f"{base}-{number}"
    return name


def record_launch(db: Session, claims: dict[str, Any], platform: Platform) -> LtiLineItem | None:
    """Keep the launch's resource link with its AGS and NRPS endpoints, the user as a member of
    its LMS course, and where the assignment's scores go there (the line item, returned)."""
    deployment, ags = str(claims[CLAIM + "deployment_id"]), claim(claims, AGS_CLAIM)
    context, assignment = claim(claims, CLAIM + "context").get("id"), assignment_of(claims)
    context = str(context) if context else None
    link_id = str(claim(claims, CLAIM + "resource_link").get("id") or "")
    if link_id:
        keys = {"issuer": platform.issuer, "deployment_id": deployment, "resource_link_id": link_id}
        link = lti.find(db, LtiLink, **keys)
        if link is None:
            link = LtiLink(client_id=platform.client_id, **keys)
            db.add(link)
        link.context_id, link.assignment = context, assignment or link.assignment
        link.lineitems_url, link.lineitem_url = ags.get("lineitems") or None, ags.get("lineitem") or None
        link.ags_scopes = [str(scope) for scope in ags.get("scope") or []]
        link.memberships_url = claim(claims, NRPS_CLAIM).get("context_memberships_url") or None
        link.updated_at = utcnow()
    if not context:
        return None
    keys = {"issuer": str(claims["iss"]), "context_id": context, "subject": str(claims["sub"])}
    person = {name: claims.get(name) for name in ("name", "email")}
    sourcedid = claim(claims, CLAIM + "lis").get("person_sourcedid")
    member = lti.find_or_add(db, LtiMember, keys)
    update_member(member, {**person, "lis_person_sourcedid": sourcedid, "roles": claims.get(CLAIM + "roles")})
    if not isinstance(claims.get(AGS_CLAIM), dict) or not assignment:
        return None
    keys = dict(
        issuer=platform.issuer, client_id=platform.client_id, context_id=context, assignment=assignment
    )
    item = lti.find_or_add(db, LtiLineItem, keys, deployment_id=deployment)
    item.deployment_id = deployment
    item.lineitems_url = ags.get("lineitems") or item.lineitems_url
    item.lineitem_url = ags.get("lineitem") or item.lineitem_url  # one found or made earlier stays
    item.scopes = [str(scope) for scope in ags.get("scope") or []]
    item.updated_at = utcnow()
    return item


def update_member(member: LtiMember, data: dict[str, Any]) -> None:
    """Fill ``member`` from a roster entry (or the same fields of a launch): what is given
    replaces what was known, what is missing is kept."""
    member.name = _text(data.get("name"), 300) or member.name
    member.email = _text(data.get("email"), 320) or member.email
    member.sourcedid = _text(data.get("lis_person_sourcedid"), 255) or member.sourcedid
    roles = data.get("roles")
    if isinstance(roles, list):
        member.roles = [str(role) for role in roles]
    member.status = _text(data.get("status"), 20) or "Active"
    member.updated_at = utcnow()


def _text(value: Any, limit: int) -> str | None:
    return str(value)[:limit] if value not in (None, "") else None
