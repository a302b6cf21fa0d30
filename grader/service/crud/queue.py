"""The job queue, in the database. Every step is one conditional UPDATE (on PostgreSQL after
``SELECT ... FOR UPDATE SKIP LOCKED``, so workers claiming at once take different jobs without
waiting): two workers never take the same job, and a verdict is written in the transaction that
marks its job done, by the worker that holds it: one verdict a job, whatever restarts happen.
A worker renews its lease (``claimed_at``); the jobs of a worker that is gone go back."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, bindparam, case, func, insert, select, update
from sqlalchemy.engine import Connection, Row
from sqlalchemy.orm import Session, aliased

from grader.service.models import Job, JobStatus, Submission, User, utcnow

_ADD_JOB = insert(Job).returning(Job.id)
aliased_submission = aliased(Submission)


def enqueue(db: Session | Connection, submission_id: int, kind: str = "grade") -> int:
    job = {"submission_id": submission_id, "kind": kind, "status": JobStatus.QUEUED}
    return int(db.execute(_ADD_JOB, job).scalar_one())


def queue_regrades(db: Session, assignment_id: int) -> int:
    ids = list(db.scalars(select(Submission.id).where(Submission.assignment_id == assignment_id)))
    for submission_id in ids:
        enqueue(db, submission_id, kind="regrade")
    return len(ids)


def claim(db: Session, owner: str, limit: int) -> list[Job]:
    """Up to ``limit`` queued jobs, in their turn (:func:`in_turn`), now held by ``owner``."""
    wanted = list(db.scalars(in_turn(limit)))
    if wanted and db.get_bind().dialect.name == "postgresql":  # rows another claim holds are skipped
        free = select(Job.id).where(Job.id.in_(wanted), Job.status == JobStatus.QUEUED)
        unlocked = set(db.scalars(free.with_for_update(skip_locked=True)))
        wanted = [job_id for job_id in wanted if job_id in unlocked]
    claimed = set(
        db.scalars(
            update(Job)
            .where(Job.id.in_(wanted), Job.status == JobStatus.QUEUED)
            .values(status=JobStatus.GRADING, owner=owner, claimed_at=utcnow(), attempts=Job.attempts + 1)
            .returning(Job.id)
            .execution_options(synchronize_session=False)
        )
    )
    jobs = {job.id: job for job in db.scalars(select(Job).where(Job.id.in_(claimed)))} if claimed else {}
    db.commit()  # before the submissions are read: on SQLite every hand-in waits for this write
    return [jobs[job_id] for job_id in wanted if job_id in jobs]


def sheets_of(db: Session | Connection, submission_ids: list[int]) -> dict[int, Row[Any]]:
    """What grading needs of each submission (assignment, file name, content, author), in one query."""
    sheets = db.execute(
        select(Submission.id, Submission.assignment_id, Submission.user_id, Submission.filename)
        .add_columns(Submission.content, User.name)
        .join(User, User.id == Submission.user_id)
        .where(Submission.id.in_(submission_ids))
    )
    return {sheet.id: sheet for sheet in sheets}


def in_turn(limit: int) -> Select[int]:
    """The ids of the ``limit`` queued jobs whose turn it is. Students take turns (each one's
    oldest job first, then each one's second...), so one student's flood delays nobody else; a
    hand-in goes before a regrade, and a superseded version after every other job (still graded)."""
    newest = (
        select(func.max(Submission.version))
        .where(
            Submission.assignment_id == aliased_submission.assignment_id,
            Submission.user_id == aliased_submission.user_id,
        )
        .scalar_subquery()
    )
    turn = func.row_number().over(partition_by=aliased_submission.user_id, order_by=Job.id)
    ranked = (
        select(
            Job.id.label("id"),
            case((aliased_submission.version < newest, 1), else_=0).label("superseded"),
            turn.label("turn"),
            case((Job.kind == "grade", 0), else_=1).label("regrade"),
        )
        .join(aliased_submission, aliased_submission.id == Job.submission_id)
        .where(Job.status == JobStatus.QUEUED)
        .subquery()
    )
    return (
        select(ranked.c.id)
        .order_by(ranked.c.superseded, ranked.c.turn, ranked.c.regrade, ranked.c.id)
        .limit(limit)
    )


_MARK_DONE = (
    update(Job)
    .where(Job.id == bindparam("done_job"), Job.status == JobStatus.GRADING, Job.owner == bindparam("holder"))
    .values(status=JobStatus.DONE, finished_at=bindparam("done_at"), seconds=bindparam("took"))
)


def mark_done(db: Session, job_id: int, owner: str, seconds: float) -> bool:
    """Mark the job done if ``owner`` still holds it (else False: no verdict is written). Built
    once and run through Core in the session's transaction: each verdict makes it."""
    done = {"done_job": job_id, "holder": owner, "done_at": utcnow(), "took": seconds}
    return db.connection().execute(_MARK_DONE, done).rowcount == 1


def release(db: Session, owner: str, job_ids: list[int] | None = None) -> int:
    statement = update(Job).where(Job.status == JobStatus.GRADING, Job.owner == owner)
    if job_ids is not None:
        statement = statement.where(Job.id.in_(job_ids))
    result = db.execute(statement.values(status=JobStatus.QUEUED, owner=None, claimed_at=None))
    db.commit()
    return int(result.rowcount)  # type: ignore[attr-defined]


def renew(db: Session, owner: str) -> None:
    db.execute(
        update(Job).where(Job.status == JobStatus.GRADING, Job.owner == owner).values(claimed_at=utcnow())
    )


def requeue_lost(db: Session, owner: str, lease: float, gone: Callable[[str], bool]) -> int:
    """Put back in the queue the jobs held by workers other than ``owner`` that are gone: whose
    lease ran out ``lease`` seconds ago, or that ``gone`` says no longer run."""
    stale = utcnow() - dt.timedelta(seconds=lease)
    holders = set(
        db.scalars(select(Job.owner).where(Job.status == JobStatus.GRADING, Job.owner != owner).distinct())
    )
    lost = [holder for holder in holders if holder is not None and gone(holder)]
    result = db.execute(
        update(Job)
        .where(
            Job.status == JobStatus.GRADING,
            Job.owner != owner,
            (Job.claimed_at < stale) | Job.owner.in_(lost) | Job.owner.is_(None),
        )
        .values(status=JobStatus.QUEUED, owner=None, claimed_at=None)
    )
    db.commit()
    return int(result.rowcount)  # type: ignore[attr-defined]


COUNTS_FRESH_SECONDS = 1.0  # a look at the queue's counts is shown this long before another


@dataclass(frozen=True)
class QueueCounts:
    queued: int
    grading: int
    done: int
    at: dt.datetime

    def jobs(self) -> dict[str, int]:
        return {"queued": self.queued, "grading": self.grading, "done": self.done}

    def as_json(self) -> dict[str, object]:
        return {**self.jobs(), "counted_at": self.at.isoformat()}


class CountsLook:
    """The queue's counts for /healthz, /queue, /metrics and /ta: one look at the database shared by
    every caller until older than ``fresh`` seconds, so answers within that time show the same
    counts (with when they were counted). One look at a time: callers meanwhile wait for it."""

    def __init__(
        self, session: Callable[[], AbstractContextManager[Session]], fresh: float = COUNTS_FRESH_SECONDS
    ):
        self._session = session
        self._fresh = fresh
        self._lock = threading.Lock()
        self._last: QueueCounts | None = None
        self._taken = 0.0

    def now(self) -> QueueCounts:
        with self._lock:
            if self._last is None or time.monotonic() - self._taken >= self._fresh:
                with self._session() as db:
                    rows = db.execute(select(Job.status, func.count()).group_by(Job.status))
                    found = {status: count for status, count in rows}
                self._taken = time.monotonic()
                statuses = (JobStatus.QUEUED, JobStatus.GRADING, JobStatus.DONE)
                queued, grading, done = (int(found.get(status, 0)) for status in statuses)
                self._last = QueueCounts(queued, grading, done, utcnow())
            return self._last
