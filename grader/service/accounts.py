"""Users of a course: TAs (password and token) and students (token, password optional)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from grader.service.auth import hash_password, issue_token
from grader.service.db import AuditEntry, Course, Role, User


class AccountError(ValueError):
    pass


def course_id(db: Session) -> int:
    course = db.scalar(select(Course).order_by(Course.id))
    if course is None:
        raise AccountError("the course has no database yet: start `grader serve` once first")
    return course.id


def add_user(db: Session, name: str, role: str, password: str | None = None) -> tuple[User, str]:
    """A new user and their first bearer token (shown once)."""
    if role not in Role.ALL:
        raise AccountError(f"unknown role {role!r}; use one of {', '.join(Role.ALL)}")
    if not name or len(name) > 200 or any(c in name for c in "/\\\0\n") or name.startswith("."):
        raise AccountError(f"{name!r} cannot be a user name (no slashes, no leading dot, 1-200 characters)")
    cid = course_id(db)
    if db.scalar(select(User).where(User.course_id == cid, User.name == name)) is not None:
        raise AccountError(f"there is already a user {name!r}")
    user = User(
        course_id=cid, name=name, role=role, password_hash=hash_password(password) if password else None
    )
    db.add(user)
    db.flush()
    token = issue_token(db, user, label="created")
    db.add(AuditEntry(user_id=None, action="add_user", detail={"user": name, "role": role}))
    return user, token
