"""Which of a student's versions counts, and which were late.

Both are derived when asked, from when each version was handed in and the due in force
then: a due moved for the class, or for one student, moves them for every page, export
and score made after it. Nothing decided at hand-in time is kept for them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection, Sequence
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from grader.service.db import Submission, User, VerdictRow

VersionT = TypeVar("VersionT")


def is_late(handed_in: dt.datetime, due: dt.datetime | None) -> bool:
    return due is not None and handed_in > due


def counted_version(
    versions: Sequence[VersionT], handed_in: Callable[[VersionT], dt.datetime], due: dt.datetime | None
) -> VersionT | None:
    """Of ``versions`` (oldest first): the newest handed in by ``due``; the newest when all are late."""
    on_time = [version for version in versions if not is_late(handed_in(version), due)]
    chosen = on_time or versions
    return chosen[-1] if chosen else None


def counted_submissions(
    db: Session,
    assignment_id: int,
    due_for: Callable[[str], dt.datetime | None],
    students: Collection[str] | None = None,
) -> list[tuple[User, Submission, VerdictRow | None]]:
    """Each student's counted version (of ``students``, or of all), by name, with its newest
    verdict (None while it waits to be graded). ``due_for(student)``: the due in force."""
    query = (
        select(Submission, User)
        .join(User, User.id == Submission.user_id)
        .where(Submission.assignment_id == assignment_id)
        .order_by(User.name, Submission.version)
    )
    if students is not None:
        query = query.where(User.name.in_(students))
    rows = db.execute(query).all()
    by_student: dict[str, tuple[User, list[Submission]]] = {}
    for submission, user in rows:
        by_student.setdefault(user.name, (user, []))[1].append(submission)
    found = []
    for name, (user, versions) in sorted(by_student.items()):
        chosen = counted_version(versions, lambda version: version.created_at, due_for(name))
        if chosen is not None:
            found.append((user, chosen, newest_verdict(db, chosen.id)))
    return found


def newest_verdict(db: Session, submission_id: int) -> VerdictRow | None:
    return db.scalar(
        select(VerdictRow)
        .where(VerdictRow.submission_id == submission_id)
        .order_by(VerdictRow.id.desc())
        .limit(1)
    )
