"""The job queue, in the database: a submission is a ``jobs`` row until a worker has
graded it. Every step is one conditional UPDATE, so two workers (or two servers on
one PostgreSQL) never take the same job, and a verdict is written in the same
transaction that marks its job done, by the worker that holds it: each job yields
exactly one verdict, whatever restarts happen.
"""

from __future__ import annotations

from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from grader.service.db import Job, JobStatus, utcnow

_ADD_JOB = insert(Job).returning(Job.id)


def enqueue(db: Session | Connection, submission_id: int, kind: str = "grade") -> int:
    """Queue a job for the submission (in the caller's transaction); its id."""
    return int(
        db.execute(
            _ADD_JOB, {"submission_id": submission_id, "kind": kind, "status": JobStatus.QUEUED}
        ).scalar_one()
    )


def claim(db: Session, owner: str, limit: int) -> list[Job]:
    """Up to ``limit`` queued jobs, oldest first, now held by ``owner``. One conditional
    UPDATE: a job another worker took in the meantime is not taken again, and the
    database's write lock is held for one statement, not one per job."""
    oldest = select(Job.id).where(Job.status == JobStatus.QUEUED).order_by(Job.id).limit(limit)
    claimed = db.scalars(
        update(Job)
        .where(Job.id.in_(oldest.scalar_subquery()), Job.status == JobStatus.QUEUED)
        .values(status=JobStatus.GRADING, owner=owner, claimed_at=utcnow(), attempts=Job.attempts + 1)
        .returning(Job.id)
        .execution_options(synchronize_session=False)
    ).all()
    db.commit()
    if not claimed:
        return []
    return list(db.scalars(select(Job).where(Job.id.in_(claimed)).order_by(Job.id)).all())


def mark_done(db: Session, job_id: int, owner: str, seconds: float) -> bool:
    """Mark the job done if ``owner`` still holds it; False when it does not (the caller
    then writes no verdict)."""
    result = db.execute(
        update(Job)
        .where(Job.id == job_id, Job.status == JobStatus.GRADING, Job.owner == owner)
        .values(status=JobStatus.DONE, finished_at=utcnow(), seconds=seconds)
    )
    return result.rowcount == 1  # type: ignore[attr-defined]


def release(db: Session, owner: str, job_ids: list[int] | None = None) -> int:
    """Put back ``owner``'s jobs in hand (all of them, or those listed) for another worker."""
    statement = update(Job).where(Job.status == JobStatus.GRADING, Job.owner == owner)
    if job_ids is not None:
        statement = statement.where(Job.id.in_(job_ids))
    result = db.execute(statement.values(status=JobStatus.QUEUED, owner=None, claimed_at=None))
    db.commit()
    return int(result.rowcount)  # type: ignore[attr-defined]


def requeue_abandoned(db: Session, owner: str) -> int:
    """At start-up: jobs held by a server that is gone (killed mid-grading) go back in the queue."""
    result = db.execute(
        update(Job)
        .where(Job.status == JobStatus.GRADING, Job.owner != owner)
        .values(status=JobStatus.QUEUED, owner=None, claimed_at=None)
    )
    db.commit()
    return int(result.rowcount)  # type: ignore[attr-defined]


def counts(db: Session) -> dict[str, int]:
    rows = db.execute(select(Job.status, func.count()).group_by(Job.status)).all()
    found = {status: 0 for status in (JobStatus.QUEUED, JobStatus.GRADING, JobStatus.DONE)}
    found.update({status: int(count) for status, count in rows})
    return found
