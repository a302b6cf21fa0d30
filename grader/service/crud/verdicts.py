"""Each student's counted version and its newest verdict, read from the database: derived when
asked, from when each version was handed in and the due in force, so a moved due moves them for
every page, export and score made after it. The late policy itself is :mod:`grader.service.late`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection, Sequence

from sqlalchemy import bindparam, func, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from grader.service.late import counted_version
from grader.service.models import Submission, User, VerdictRow, detached


def counted_submissions(
    db: Session,
    assignment_id: int,
    due_for: Callable[[str], dt.datetime | None],
    students: Collection[str] | None = None,
) -> list[tuple[User, Submission, VerdictRow | None]]:
    """Each student's counted version (of ``students``, or of all), by name, with its newest
    verdict (None while it waits to be graded). ``due_for(student)``: the due in force."""
    query = select(Submission, User).join(User, User.id == Submission.user_id)
    query = query.where(Submission.assignment_id == assignment_id)
    if students is not None:
        query = query.where(User.name.in_(students))
    by_student: dict[str, tuple[User, list[Submission]]] = {}
    for submission, user in db.execute(query.order_by(User.name, Submission.version)):
        by_student.setdefault(user.name, (user, []))[1].append(submission)
    chosen = []
    for name, (user, versions) in sorted(by_student.items()):
        counted = counted_version(versions, lambda version: version.created_at, due_for(name))
        if counted is not None:
            chosen.append((user, counted))
    verdicts = newest_verdicts(db, [submission.id for _, submission in chosen])
    return [(user, submission, verdicts.get(submission.id)) for user, submission in chosen]


VERDICTS_A_QUERY = 500  # submissions whose newest verdicts one query reads


def newest_verdicts(
    db: Session | Connection, submission_ids: Sequence[int], with_report: bool = True
) -> dict[int, VerdictRow]:
    """The newest verdict of each of ``submission_ids`` that has one, detached, in two queries for
    each :data:`VERDICTS_A_QUERY` of them; ``with_report=False``: without reports (a list's scores)."""
    columns = [column for column in VerdictRow.__table__.columns if with_report or column.key != "report"]
    found: dict[int, VerdictRow] = {}
    for start in range(0, len(submission_ids), VERDICTS_A_QUERY):
        chunk = submission_ids[start : start + VERDICTS_A_QUERY]
        newest = db.scalars(
            select(func.max(VerdictRow.id))
            .where(VerdictRow.submission_id.in_(chunk))
            .group_by(VerdictRow.submission_id)
        ).all()
        if newest:
            rows = db.execute(select(*columns).where(VerdictRow.id.in_(newest)))
            found.update((row.submission_id, detached(VerdictRow, row)) for row in rows)
    return found


_NEWEST_VERDICT = (  # built once: a submission's state, which students poll, reads it
    select(*VerdictRow.__table__.columns)
    .where(VerdictRow.submission_id == bindparam("submission_id"))
    .order_by(VerdictRow.id.desc())
    .limit(1)
)


def newest_verdict(db: Session | Connection, submission_id: int) -> VerdictRow | None:
    """The submission's newest verdict, detached; None before its first."""
    row = db.execute(_NEWEST_VERDICT, {"submission_id": submission_id}).first()
    return None if row is None else detached(VerdictRow, row)


def verdicts_since(db: Session | Connection, last: int | None) -> tuple[int, list[int]]:
    """The newest verdict id, and the submissions of the verdicts after ``last``; none when
    ``last`` is None."""
    if last is None:
        return int(db.execute(select(func.coalesce(func.max(VerdictRow.id), 0))).scalar_one()), []
    rows = db.execute(
        select(VerdictRow.id, VerdictRow.submission_id).where(VerdictRow.id > last).order_by(VerdictRow.id)
    ).all()
    return (rows[-1][0] if rows else last), [row[1] for row in rows]
