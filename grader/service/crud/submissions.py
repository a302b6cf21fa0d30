"""Submissions and their verdicts as the pages and the API read them, and a hand-in's writes:
through Core statements built once (what students poll and send), detached rows without the
content a hand-in holds (up to the upload limit; only grading and hand grading read it)."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import bindparam, func, insert, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from grader.core.plainjson import UNREADABLE
from grader.core.report import Report
from grader.course.files import LoadedAssignment
from grader.course.grades import MAX_ID
from grader.course.late import with_hand_in
from grader.service.blobs import read_back
from grader.service.crud.verdicts import (
    VERDICTS_A_QUERY,
    counted_submissions,
    newest_verdicts,
)
from grader.service.db import Database
from grader.service.errors import ApiError
from grader.service.models import Job, JobStatus, Submission, User, VerdictRow, detached, is_staff

SUBMISSION_COLUMNS = [column for column in Submission.__table__.columns if column.key != "content"]
_USER_NAME = select(User.name).where(User.id == bindparam("user_id"))

log = logging.getLogger("grader.service")


def submission_for(db: Session | Connection, submission_id: int, user: User) -> Submission:
    """The submission, if ``user`` may see it (its author, or staff; 403 for another student)."""
    return submission_with_state(db, submission_id, user)[0]


def submissions_where(
    db: Session | Connection, *conditions: Any, limit: int | None = None
) -> list[Submission]:
    """Submissions matching ``conditions``, oldest first (the first ``limit`` of them)."""
    rows = db.execute(select(*SUBMISSION_COLUMNS).where(*conditions).order_by(Submission.id).limit(limit))
    return [detached(Submission, row) for row in rows]


def stored_report(row: VerdictRow) -> Report:
    try:
        report = read_back(row.report)
    except UNREADABLE as error:
        log.exception("verdict %s of submission %s could not be read back", row.id, row.submission_id)
        raise ApiError(500, "a stored verdict could not be read back") from error
    if not isinstance(report, Report):
        log.error("verdict %s of submission %s holds a %s", row.id, row.submission_id, type(report).__name__)
        raise ApiError(500, "a stored verdict could not be read back")
    return report


_NEWEST = VerdictRow.__table__.alias("newest")
_PENDING = select(Job.status).where(Job.submission_id == Submission.id, Job.status != JobStatus.DONE)
_NEWEST_ID = select(func.max(VerdictRow.id)).where(VerdictRow.submission_id == Submission.id)
_SUBMISSION_AND_STATE = (  # what a student's long poll reads: one statement, so one moment
    select(*SUBMISSION_COLUMNS, User.name.label("author"))
    .add_columns(_PENDING.order_by(Job.id.desc()).limit(1).scalar_subquery().label("pending"))
    .add_columns(*(column.label(f"verdict_{column.key}") for column in _NEWEST.columns))
    .join(User, User.id == Submission.user_id)
    .outerjoin(_NEWEST, _NEWEST.c.id == _NEWEST_ID.scalar_subquery())
    .where(Submission.id == bindparam("submission_id"))
)


def submission_with_state(
    db: Session | Connection, submission_id: int, user: User
) -> tuple[Submission, str, tuple[str, VerdictRow | None]]:
    """The submission if ``user`` may see it (404, 403 for another student's), its author's name and
    its state: ``("graded", its newest verdict)``, or its pending job's status and None."""
    known = 0 < submission_id <= MAX_ID  # a larger id is past what a database id holds
    row = known and db.execute(_SUBMISSION_AND_STATE, {"submission_id": submission_id}).first()
    if not row:
        raise ApiError(404, f"no submission {submission_id}")
    if row.user_id != user.id and not is_staff(user):
        raise ApiError(403, "this submission belongs to another student")
    found, author = row._mapping, row.author
    submission = detached(Submission, {column.key: found[column.key] for column in SUBMISSION_COLUMNS})
    if found["verdict_id"] is None:
        return submission, author, (found["pending"] or JobStatus.QUEUED, None)
    verdict = detached(VerdictRow, {c.key: found[f"verdict_{c.key}"] for c in _NEWEST.columns})
    return submission, author, ("graded", verdict)


def submission_states(
    db: Session | Connection, submission_ids: Sequence[int]
) -> dict[int, tuple[str, VerdictRow | None]]:
    """Each submission's state (see :func:`submission_with_state`), verdicts without reports."""
    verdicts = newest_verdicts(db, submission_ids, with_report=False)
    waiting = [submission_id for submission_id in submission_ids if submission_id not in verdicts]
    pending: dict[int, str] = {}
    for start in range(0, len(waiting), VERDICTS_A_QUERY):
        jobs = db.execute(
            select(Job.submission_id, Job.status)
            .where(Job.submission_id.in_(waiting[start : start + VERDICTS_A_QUERY]))
            .where(Job.status != JobStatus.DONE)
            .order_by(Job.id)
        )
        pending.update((job.submission_id, job.status) for job in jobs)  # the newest job's, as one by one
    return {
        submission_id: ("graded", verdicts[submission_id])
        if submission_id in verdicts
        else (pending.get(submission_id) or JobStatus.QUEUED, None)
        for submission_id in submission_ids
    }


def user_names(db: Session | Connection, user_ids: Iterable[int]) -> dict[int, str]:
    rows = db.execute(select(User.id, User.name).where(User.id.in_(set(user_ids))))
    return {user_id: name for user_id, name in rows}


def submission_content(db: Session | Connection, submission_id: int) -> bytes | None:
    """What the submission holds (the answers file or PDF as handed in), or None."""
    content = db.scalar(select(Submission.content).where(Submission.id == submission_id))
    return None if content is None else bytes(content)


def user_name(db: Session | Connection, user_id: int) -> str | None:
    name: str | None = db.execute(_USER_NAME, {"user_id": user_id}).scalar()
    return name


def counted_rows(database: Database, assignment: LoadedAssignment) -> list[tuple[Submission, Report]]:
    """Each student's counted version with its newest report, by name (none while it waits)."""
    with database.session(read_only=True) as db:
        counted = []
        for user, submission, verdict in counted_submissions(db, assignment.id, assignment.due_for):
            if verdict is not None:
                report = stored_report(verdict)
                report.student = report.folder = user.name
                due = assignment.due_for(user.name)
                with_hand_in(report, submission.version, submission.created_at, due, assignment.penalty)
                counted.append((submission, report))
        return counted


def student_named(db: Session, student: str) -> User:
    """The user named ``student`` (their pages and history: a removed one too); 404 for none."""
    author = db.scalar(select(User).filter_by(name=student))
    if author is None:
        raise ApiError(404, f"no student {student!r}")
    return author


# A hand-in's transaction, built once: its version number, the submission, its job and the
# audit line, through Core (the ORM's unit of work doubled the time the writers' turn is held).
_NEXT_VERSION = select(func.coalesce(func.max(Submission.version), 0) + 1).where(
    Submission.assignment_id == bindparam("assignment_id"), Submission.user_id == bindparam("user_id")
)
_ADD_SUBMISSION = insert(Submission).returning(Submission.id)
_HAND_INS_IN_FLIGHT = (
    select(func.count())
    .select_from(Job)
    .join(Submission, Submission.id == Job.submission_id)
    .where(Submission.user_id == bindparam("user_id"), Job.kind == "grade", Job.status != JobStatus.DONE)
)


_VERSION_AND_WAITING = select(  # one statement in the write's turn, where two were
    _NEXT_VERSION.scalar_subquery().label("version"), _HAND_INS_IN_FLIGHT.scalar_subquery().label("waiting")
)


def add_submission(db: Connection, fields: dict[str, Any], content: bytes, most_waiting: int) -> None:
    """A new version of the student's hand-in (``fields``: its columns but ``version`` and ``id``,
    which it sets), under the lock of the student's work (:func:`grader.service.db.lock_students`);
    429 when the student has ``most_waiting`` hand-ins not yet graded (a TA's regrades do not count)."""
    owner = {"assignment_id": fields["assignment_id"], "user_id": fields["user_id"]}
    found = db.execute(_VERSION_AND_WAITING, owner).one()
    if found.waiting >= most_waiting:
        raise ApiError(
            429,
            f"you have {found.waiting} hand-ins waiting to be graded, the most a student may have:"
            " hand in again once one is graded",
        ).retry_after()
    fields["version"] = found.version
    fields["id"] = db.execute(_ADD_SUBMISSION, {**fields, "content": content}).scalar_one()


def hand_in_count(db: Session, assignment_id: int) -> int:
    return db.scalar(select(func.count()).where(Submission.assignment_id == assignment_id)) or 0
