"""Who is asking, read from the database: the user of an API token, the web session of a
cookie, a one-time log-in link claimed. Secrets come in as their SHA-256 digests
(:func:`grader.service.credentials.digest`): only digests are stored."""

from __future__ import annotations

from sqlalchemy import bindparam, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from grader.service.models import ApiToken, LoginLink, User, WebSession, detached, utcnow


def claim_login_link(db: Session, secret_hash: str) -> User | None:
    """The user of a one-time link that is unused and unexpired, marking it used in the same
    statement (two browsers racing for one link: one wins); None for any other link."""
    now = utcnow()
    unused = (
        update(LoginLink).filter_by(secret_hash=secret_hash, used_at=None).where(LoginLink.expires_at > now)
    )
    claimed = db.scalar(unused.values(used_at=now).returning(LoginLink.user_id))
    user = db.get(User, claimed) if claimed is not None else None
    return None if user is None or user.removed_at is not None else user


# Every API request asks it: built once (building a statement costs more than running it).
_USER_OF_TOKEN = (
    select(*User.__table__.columns)
    .join(ApiToken.__table__, ApiToken.user_id == User.id)
    .where(
        ApiToken.token_hash == bindparam("token_hash"),
        ApiToken.revoked_at.is_(None),
        User.removed_at.is_(None),
    )
)


def user_of_token(db: Session | Connection, token_hash: str) -> User | None:
    """The user of a token that is not revoked: one query, read through Core (every API
    request makes it); the user comes back detached, as from a closed session."""
    row = db.execute(_USER_OF_TOKEN, {"token_hash": token_hash}).first()
    return None if row is None else detached(User, row)


def session_of(db: Session, session_hash: str) -> WebSession | None:
    """The web session of a cookie's digest, expired or not."""
    return db.scalar(select(WebSession).filter_by(session_hash=session_hash))


def newest_live_session(db: Session, user_id: int) -> WebSession | None:
    return db.scalar(
        select(WebSession)
        .where(WebSession.user_id == user_id, WebSession.expires_at > utcnow())
        .order_by(WebSession.id.desc())
        .limit(1)
    )
