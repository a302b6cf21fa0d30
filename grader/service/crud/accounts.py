"""Users of a course (TAs and students) and what a TA does with them: add, list, remove (their
hand-ins kept), reset a password, replace a token, hand out a one-time log-in link, import an
LMS roster; each change with its audit row in its transaction."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from grader.course.roster import USER_NAME, AccountError
from grader.service.credentials import hash_password, issue_login_link, issue_token
from grader.service.crud.assignments import first_course
from grader.service.crud.audit import audit
from grader.service.models import ApiToken, LoginLink, Role, RosterEntry, User, WebSession, utcnow

if TYPE_CHECKING:  # the LMS formats are read when a roster is (grader.course.roster)
    from grader.reporting.lms import Roster, RosterStudent


def course_id(db: Session) -> int:
    course = first_course(db)
    if course is None:
        raise AccountError("the course has no database yet: start `grader serve` once first")
    return course.id


def add_user(
    db: Session, name: str, role: str, password: str | None = None, by: User | None = None
) -> tuple[User, str]:
    """A new user and their first bearer token (shown once). A removed user of that name is
    brought back (their hand-ins were kept) with a new token."""
    if role not in Role.ALL:
        raise AccountError(f"unknown role {role!r}; use one of {', '.join(Role.ALL)}")
    if not USER_NAME.fullmatch(name):
        raise AccountError(
            f"{name!r} cannot be a user name: use 1-200 letters, digits and . _ @ + -, "
            "starting with a letter or digit"
        )
    cid = course_id(db)
    user = db.scalar(select(User).where(User.course_id == cid, User.name == name))
    if user is not None and user.removed_at is None:
        raise AccountError(f"there is already a user {name!r}")
    if user is None:
        user = User(course_id=cid, name=name, role=role)
        db.add(user)
    user.role, user.removed_at = role, None
    user.password_hash = hash_password(password) if password else None
    db.flush()
    token = issue_token(db, user, label="created")
    audit(db, by, "add_user", user=name, role=role)
    return user, token


def active_user(db: Session, name: str) -> User | None:
    return db.scalar(select(User).where(User.name == name, User.removed_at.is_(None)))


def students(db: Session) -> list[tuple[str, str | None, dt.datetime]]:
    """Each student not removed, by name: (name, password hash, when added)."""
    query = select(User.name, User.password_hash, User.created_at).filter_by(
        role=Role.STUDENT, removed_at=None
    )
    return [(name, hashed, added) for name, hashed, added in db.execute(query.order_by(User.name))]


def user_named(db: Session, name: str) -> User:
    user = active_user(db, name)
    if user is None:
        raise AccountError(f"there is no user {name!r}")
    return user


@dataclass(frozen=True)
class UserLine:
    name: str
    role: str
    password: bool
    created: str
    removed: str


def list_users(db: Session, removed: bool = False) -> list[UserLine]:
    query = select(User).order_by(User.role, User.name)
    if not removed:
        query = query.filter_by(removed_at=None)
    return [
        UserLine(
            u.name,
            u.role,
            u.password_hash is not None,
            u.created_at.strftime("%Y-%m-%d %H:%M UTC"),
            u.removed_at.strftime("%Y-%m-%d %H:%M UTC") if u.removed_at else "",
        )
        for u in db.scalars(query)
    ]


def _sign_out(db: Session, user: User) -> None:
    now = utcnow()
    db.execute(
        update(WebSession)
        .where(WebSession.user_id == user.id, WebSession.expires_at > now)
        .values(expires_at=now)
    )
    db.execute(update(LoginLink).filter_by(user_id=user.id, used_at=None).values(used_at=now))


def _revoke_tokens(db: Session, user: User) -> None:
    db.execute(update(ApiToken).filter_by(user_id=user.id, revoked_at=None).values(revoked_at=utcnow()))


def remove_user(db: Session, name: str, by: User | None = None) -> None:
    """No token, session, link or password of the user works any more; their row and every
    version they handed in (and its verdicts and hand grades) are kept."""
    user = user_named(db, name)
    if by is not None and by.id == user.id:
        raise AccountError("you cannot remove yourself")
    _revoke_tokens(db, user)
    _sign_out(db, user)
    user.password_hash = None
    user.removed_at = utcnow()
    audit(db, by, "remove_user", user=name)


def reset_password(db: Session, name: str, password: str | None, by: User | None = None) -> None:
    """A new password (None: no password; the user logs in by a link or token); the user's
    sessions end."""
    user = user_named(db, name)
    user.password_hash = hash_password(password) if password else None
    _sign_out(db, user)
    audit(db, by, "reset_password", user=name, password_set=password is not None)


def new_token(db: Session, name: str, by: User | None = None) -> str:
    """A new bearer token; every older token of the user stops working."""
    user = user_named(db, name)
    _revoke_tokens(db, user)
    token = issue_token(db, user, label="replaced")
    audit(db, by, "new_token", user=name)
    return token


def new_login_link(db: Session, name: str, days: float, by: User | None = None) -> str:
    """A one-time log-in secret for user ``name`` (see :func:`grader.service.auth.login_link`)."""
    user = user_named(db, name)
    secret = issue_login_link(db, user, days)
    audit(db, by, "login_link", user=name, days=days)
    return secret


@dataclass(frozen=True)
class Imported:
    name: str
    email: str
    added: bool
    secret: str  # a one-time log-in secret for a student added now, else ""


def import_roster(
    db: Session, students: list[RosterStudent], days: float, by: User | None = None
) -> list[Imported]:
    """Adds the roster's students the course does not have (or brings them back), each with a
    one-time log-in link; keeps every student's LMS identity for the Canvas and Moodle exports."""
    cid = course_id(db)
    existing = {u.name: u for u in db.scalars(select(User).where(User.course_id == cid))}
    entries = {e.user_id: e for e in db.scalars(select(RosterEntry))}
    done: list[Imported] = []
    for student in students:
        known = existing.get(student.name)
        if known is not None and known.removed_at is None:
            done.append(Imported(student.name, student.email, False, ""))
            user = known
        else:
            user, _ = add_user(db, student.name, Role.STUDENT, by=by)
            secret = issue_login_link(db, user, days, unsent_to=student.email)
            done.append(Imported(student.name, student.email, True, secret))
        entry = entries.get(user.id)
        if entry is None:
            entry = RosterEntry(user_id=user.id)
            db.add(entry)
        entry.identity = dict(student.identity)
        entry.imported_at = utcnow()
    audit(db, by, "import_roster", students=len(students), added=sum(d.added for d in done))
    return done


def mark_sent(db: Session, names: list[str]) -> None:
    """The unsent links of these users are handed out now (their file is written)."""
    users = select(User.id).where(User.course_id == course_id(db), User.name.in_(names))
    db.execute(
        update(LoginLink)
        .where(LoginLink.user_id.in_(users), LoginLink.sent_at.is_(None))
        .values(sent_at=utcnow())
    )


def reissue_unsent(db: Session, days: float, by: User | None = None) -> list[Imported]:
    """New links, unsent until :func:`mark_sent`, in place of those minted but never handed out
    (an import stopped before its file was written)."""
    now = utcnow()
    unsent = db.execute(
        select(User, LoginLink.email)
        .join(LoginLink, LoginLink.user_id == User.id)
        .where(
            User.course_id == course_id(db),
            User.removed_at.is_(None),
            LoginLink.sent_at.is_(None),
            LoginLink.used_at.is_(None),
        )
        .order_by(User.name)
    ).all()
    done: dict[str, Imported] = {}
    for user, email in unsent:
        if user.name in done:
            continue
        db.execute(
            update(LoginLink).filter_by(user_id=user.id, sent_at=None, used_at=None).values(used_at=now)
        )
        done[user.name] = Imported(user.name, email, True, issue_login_link(db, user, days, unsent_to=email))
    audit(db, by, "login_links_reissued", students=len(done))
    return list(done.values())


def stored_roster(db: Session) -> Roster | None:
    """The imported roster, by user name, as the exports read it; None before any import."""
    from grader.reporting.lms import IDENTITY_KEYS, Roster

    rows = {
        name: {**entry.identity, "folder": name}
        for entry, name in db.execute(
            select(RosterEntry, User.name).join(User, User.id == RosterEntry.user_id)
        )
    }
    if not rows:
        return None
    known = {key for row in rows.values() for key in row}
    return Roster(rows, ("folder", *(key for key in IDENTITY_KEYS if key in known)))
