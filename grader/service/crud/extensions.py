"""Extensions a TA grants (``grader extend``, a student's page): a student's own due, kept beside
course.yaml's (the later is in force, so an edit of course.yaml never takes one back)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from grader.service.crud.audit import audit
from grader.service.errors import ApiError
from grader.service.models import Assignment, Role, User, utcnow


def grant_extension(
    db: Session, assignment_id: int, student: str, until: dt.datetime, by: User | None
) -> dt.datetime | None:
    """Set ``student``'s due for the assignment to ``until`` (aware); the one granted before."""
    row = db.get(Assignment, assignment_id, with_for_update=True)  # two grants never lose one
    user = db.scalar(select(User).filter_by(name=student))
    if row is None:
        raise ApiError(404, f"no assignment {assignment_id}")
    if user is None or user.role != Role.STUDENT:
        raise ApiError(404, f"no student {student!r}")
    granted = dict(row.granted_extensions or {})
    before = granted.get(student)
    granted[student] = until.astimezone(dt.UTC).isoformat()
    row.granted_extensions, row.updated_at = granted, utcnow()
    audit(db, by, "extend", assignment=row.name, student=student, old=before, new=granted[student])
    db.flush()
    return dt.datetime.fromisoformat(before) if before else None
