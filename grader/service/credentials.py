"""Passwords (argon2), bearer tokens and one-time log-in links (SHA-256 digests of 256 random
bits) as the database keeps them; no web framework, for ``grader users``."""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import secrets
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from grader.service.models import ApiToken, LoginLink, User, utcnow

if TYPE_CHECKING:
    from argon2 import PasswordHasher

LINK_PATH = "/login/link/"  # + the secret: the page that exchanges a one-time link for a session
LINK_DAYS = 14.0


@functools.cache
def _hasher() -> PasswordHasher:
    """Imported by the first password: `grader users add` without one starts without argon2."""
    from argon2 import PasswordHasher

    return PasswordHasher()


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def verify_password(stored: str | None, password: str) -> bool:
    from argon2.exceptions import InvalidHashError, VerificationError

    if not stored:
        _hasher().hash(password)  # the same time whether or not the user has a password
        return False
    try:
        return _hasher().verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def issue_token(db: Session, user: User, label: str = "") -> str:
    """A new bearer token for ``user``, returned once and never stored."""
    token = new_secret()
    db.add(ApiToken(user_id=user.id, token_hash=digest(token), label=label))
    return token


def issue_login_link(db: Session, user: User, days: float = LINK_DAYS, unsent_to: str | None = None) -> str:
    """A new one-time log-in secret for ``user``, returned once; it starts one session before it
    expires. ``unsent_to``: the link goes to a file written after this transaction, for that
    e-mail address, and stays unsent until :func:`grader.service.crud.accounts.mark_sent`."""
    secret = new_secret()
    now = utcnow()
    db.add(
        LoginLink(
            user_id=user.id,
            secret_hash=digest(secret),
            expires_at=now + dt.timedelta(days=days),
            sent_at=None if unsent_to is not None else now,
            email=unsent_to or "",
        )
    )
    return secret


def login_link(base_url: str, secret: str) -> str:
    return base_url.rstrip("/") + LINK_PATH + secret
