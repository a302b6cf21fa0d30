"""Each student's counted version and its newest verdict, read from the database: derived when
asked, from when each version was handed in and the due in force, so a moved due moves them for
every page, export and score made after it. The late policy itself is :mod:`grader.course.late`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection, Sequence
from itertools import groupby

from sqlalchemy import bindparam, func, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session, defer
from sqlalchemy.orm.attributes import set_committed_value

from grader.course.late import counted_version
from grader.service.models import Submission, User, VerdictRow, detached

VERDICTS_A_QUERY = 500  # submissions whose newest verdicts one query reads


def counted_submissions(
    db: Session,
    assignment_id: int,
    due_for: Callable[[str], dt.datetime | None],
    students: Collection[str] | None = None,
) -> list[tuple[User, Submission, VerdictRow | None]]:
    """Each student's counted version (of ``students``, or of all), by name, with its newest
    verdict (None while it waits to be graded). ``due_for(student)``: the due in force.

    Every version is read, a batch at a time and without what it holds, one student's at a
    time; only the counted ones are kept, with their content: what this holds is the class's
    counted versions, however many versions the term brought."""
    query = select(Submission, User).join(User, User.id == Submission.user_id)
    query = query.where(Submission.assignment_id == assignment_id).options(defer(Submission.content))
    if students is not None:
        query = query.where(User.name.in_(students))
    query = query.order_by(Submission.user_id, Submission.version)  # the unique key's index
    rows = db.execute(query.execution_options(yield_per=VERDICTS_A_QUERY))
    chosen = []
    for _, versions in groupby(rows, key=lambda row: row[0].user_id):
        found = list(versions)
        user, submissions = found[0][1], [submission for submission, _ in found]
        counted = counted_version(submissions, lambda version: version.created_at, due_for(user.name))
        if counted is not None:
            chosen.append((user, counted))
    chosen.sort(key=lambda found: found[0].name)
    with_content(db, [submission for _, submission in chosen])
    verdicts = newest_verdicts(db, [submission.id for _, submission in chosen])
    return [(user, submission, verdicts.get(submission.id)) for user, submission in chosen]


def with_content(db: Session, submissions: Sequence[Submission]) -> None:
    """Each of ``submissions`` (read without it) given its content, as if read with it."""
    by_id = {submission.id: submission for submission in submissions}
    ids = list(by_id)
    for start in range(0, len(ids), VERDICTS_A_QUERY):
        chunk = ids[start : start + VERDICTS_A_QUERY]
        for submission_id, content in db.execute(
            select(Submission.id, Submission.content).where(Submission.id.in_(chunk))
        ):
            set_committed_value(by_id[submission_id], "content", content)


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
