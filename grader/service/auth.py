"""Who is asking: bearer tokens (API), session cookies and CSRF tokens (pages), and the one
place where a route says which roles may call it: ``user: User = Depends(allow(Role.TA))``."""

from __future__ import annotations

import datetime as dt
import hmac
import math
from collections.abc import Awaitable, Callable

from fastapi import Request, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from grader.core.integrity import derived_key, intact, seal
from grader.service.credentials import digest, new_secret
from grader.service.crud import sessions
from grader.service.errors import ApiError
from grader.service.models import Role, User, WebSession, utcnow
from grader.service.settings import Settings

SESSION_COOKIE = "grader_session"
LOGIN_COOKIE = "grader_login"  # the log-in form's nonce, before any session
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")  # requests that write nothing
LOGIN_FORM = "the log-in form's CSRF tokens"  # their key's purpose


def redeem_login_link(db: Session, secret: str) -> User | None:
    return sessions.claim_login_link(db, digest(secret))


def start_session(db: Session, user: User, hours: float) -> str:
    cookie = new_secret()
    expires = utcnow() + dt.timedelta(hours=hours)
    db.add(
        WebSession(user_id=user.id, session_hash=digest(cookie), csrf_token=new_secret(), expires_at=expires)
    )
    return cookie


def set_session_cookie(response: Response, cookie: str, settings: Settings) -> None:
    """What a log-in (password, token link or LTI launch) hands the browser."""
    response.set_cookie(
        SESSION_COOKIE,
        cookie,
        httponly=True,
        samesite="lax",
        secure=settings.secure_cookies,
        max_age=int(settings.session_hours * 3600),
        path="/",
    )


def end_session(db: Session, cookie: str) -> None:
    row = sessions.session_of(db, digest(cookie))
    if row is not None:
        row.expires_at = utcnow()


def login_form_token(nonce: str) -> str:
    """The log-in form's CSRF token: the browser's ``grader_login`` nonce, signed (a signed
    double-submit cookie: a cookie planted by a sibling site carries no signature)."""
    return seal(derived_key(LOGIN_FORM), "log-in form", nonce)


def login_form_ok(nonce: str | None, sent: str) -> bool:
    return bool(nonce) and intact(derived_key(LOGIN_FORM), sent, "log-in form", nonce or "")


def csrf_ok(session: WebSession, sent: str | None) -> bool:
    return bool(sent) and hmac.compare_digest(session.csrf_token, sent or "")


def bearer(request: Request) -> str | None:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def authenticate(request: Request) -> User | None:
    """The user behind the request's bearer token or session cookie (cached on the request);
    429 past the user's rate limit (all their tokens and sessions together)."""
    if hasattr(request.state, "user"):
        return request.state.user
    service = request.app.state.service
    user: User | None = None
    request.state.web_session = None
    token = bearer(request)
    if token is not None:
        with service.db.read_one() as connection:
            user = sessions.user_of_token(connection, digest(token))
    elif cookie := request.cookies.get(SESSION_COOKIE):
        with service.db.session(read_only=True) as db:
            web_session = sessions.session_of(db, digest(cookie))
            if web_session is not None and web_session.expires_at > utcnow():
                user = db.get(User, web_session.user_id)
                request.state.web_session = web_session
    if user is not None:  # one budget per user, whichever token or session they send
        wait = service.limiter.retry_after(f"user {user.id}")
        if wait is not None:
            seconds = max(1, math.ceil(wait))  # "0 s" was said of a wait under half a second
            refused = f"too many requests from your account; try again in {seconds} s"
            raise ApiError(429, refused).retry_after(seconds)
    request.state.user = user
    return user


def cookie_csrf(request: Request) -> None:
    """A request that changes state through the API with a session cookie (a browser never sends
    a bearer token by itself) carries the session's CSRF token in ``X-CSRF-Token``."""
    session = getattr(request.state, "web_session", None)
    if session is None or request.method in SAFE_METHODS or not request.url.path.startswith("/api/"):
        return
    if not csrf_ok(session, request.headers.get(CSRF_HEADER)):
        raise ApiError(
            403,
            f"with a session cookie, the API needs the session's CSRF token in the {CSRF_HEADER} header"
            " (or send 'Authorization: Bearer TOKEN' instead)",
        )


def allow(*roles: str) -> Callable[[Request], Awaitable[User]]:
    """A dependency: the authenticated user, who must hold one of ``roles`` (an admin holds
    every role); 401 when nobody is logged in, 403 for another role."""
    wanted = roles or Role.ALL

    # Read in a request thread, never in the event loop: a database that hangs would hold
    # every request, even those that need none (/healthz) and the long polls' answers.
    async def dependency(request: Request) -> User:
        user = await run_in_threadpool(authenticate, request)
        cookie_csrf(request)
        if user is None:
            if bearer(request) is not None:
                raise ApiError(
                    401, "the bearer token is not valid (revoked, mistyped or from another server)"
                )
            raise ApiError(401, "log in first: send 'Authorization: Bearer TOKEN' or log in on /login")
        if user.role not in wanted and user.role != Role.ADMIN:
            raise ApiError(
                403, f"this needs the role {' or '.join(wanted)}; you are logged in as a {user.role}"
            )
        return user

    dependency.roles = wanted  # type: ignore[attr-defined]  # read by the route-walking test
    return dependency
