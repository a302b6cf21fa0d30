"""Regrades queued in bulk, each with its audit row in the same transaction: the submissions
whose newest verdict waits for a dependency now installed (:mod:`grader.course.undecided`),
and every version of an assignment (a TA's 'regrade all' on /ta)."""

from __future__ import annotations

from sqlalchemy import Text, cast, func, select
from sqlalchemy.orm import Session

from grader.core.report import Report
from grader.course.undecided import waiting_for
from grader.service.blobs import loads
from grader.service.crud.audit import audit
from grader.service.crud.queue import enqueue, queue_regrades
from grader.service.models import Job, JobStatus, VerdictRow


def _as_text(db: Session) -> object:
    if db.get_bind().dialect.name == "postgresql":
        return func.convert_from(VerdictRow.report, "UTF8")
    return cast(VerdictRow.report, Text)


def requeue_undecided(db: Session, available: frozenset[str]) -> list[int]:
    """Queue a regrade of each submission whose newest verdict waits for one of ``available``
    (and has no job pending); the submissions queued."""
    if not available:
        return []
    newest = select(func.max(VerdictRow.id)).group_by(VerdictRow.submission_id).scalar_subquery()
    text = _as_text(db)
    rows = db.execute(
        select(VerdictRow.submission_id, VerdictRow.report).where(
            VerdictRow.id.in_(newest),
            text.like("%not installed%") | text.like("%cannot import%"),  # type: ignore[attr-defined]
        )
    ).all()
    pending = set(db.scalars(select(Job.submission_id).where(Job.status != JobStatus.DONE)))
    queued = []
    for submission_id, blob in rows:
        report = loads(blob)
        needed = waiting_for(report) if isinstance(report, Report) else set()
        if needed & available and submission_id not in pending:
            enqueue(db, submission_id, kind="regrade")
            queued.append(submission_id)
    if queued:
        audit(db, None, "regrade-undecided", installed=sorted(available), submissions=queued)
    return queued


def regrade_assignment(db: Session, assignment_id: int, name: str, by: int) -> int:
    """Queue a regrade of every version handed in for the assignment (the newest of each student
    first: :func:`grader.service.crud.queue.in_turn`), with its audit row (by the TA ``by``); how many."""
    queued = queue_regrades(db, assignment_id)
    audit(db, by, "regrade-assignment", assignment=name, submissions=queued)
    return queued
