"""Parts a server could not decide for want of a dependency (PyTorch not installed), graded
again once it is there. The grading loop looks at start and every :data:`LOOK_SECONDS` which
optional dependencies this machine can import; when one it waited for is importable, each
submission whose newest verdict has a part in ``error`` for want of it is queued for a regrade,
with an audit row, in one transaction. A TA may also regrade a whole assignment
(:func:`regrade_assignment`, from /ta)."""

from __future__ import annotations

import importlib
import importlib.util
import os
import re
from collections.abc import Iterable

from sqlalchemy import Text, cast, func, select
from sqlalchemy.orm import Session

from grader.core.report import Report
from grader.core.verdict import Status
from grader.service import queue
from grader.service.blobs import loads
from grader.service.crud.audit import audit
from grader.service.models import Job, JobStatus, Submission, VerdictRow

LOOK_SECONDS = 60.0  # GRADER_DEPENDENCY_SECONDS sets another
# What a check says when a dependency is missing (grader.types.code: checker and compare)
MISSING = re.compile(r"needs (?P<what>[\w.-]+), which (?:is not installed|the runner cannot import)")
# The names those messages use, and the module each stands for (others: the name itself)
MODULES = {"pytorch": "torch"}
WATCHED = ("torch",)  # the optional dependencies a shipped problem may need


def look_seconds() -> float:
    return float(os.environ.get("GRADER_DEPENDENCY_SECONDS") or LOOK_SECONDS)


def module_of(name: str) -> str:
    return MODULES.get(name.lower(), name.lower())


def importable(modules: Iterable[str] = WATCHED) -> frozenset[str]:
    """The ``modules`` this process can import now (installed since start included)."""
    importlib.invalidate_caches()
    return frozenset(module for module in modules if importlib.util.find_spec(module) is not None)


def waiting_for(report: Report) -> set[str]:
    """The modules the report's ``error`` parts were left undecided for."""
    needed = set()
    for part in report.parts:
        if part.status == Status.ERROR:
            needed |= {module_of(found["what"]) for found in MISSING.finditer(part.feedback or "")}
    return needed


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
            queue.enqueue(db, submission_id, kind="regrade")
            queued.append(submission_id)
    if queued:
        audit(db, None, "regrade-undecided", installed=sorted(available), submissions=queued)
    return queued


def regrade_assignment(db: Session, assignment_id: int, name: str, by: int) -> int:
    """Queue a regrade of every version handed in for the assignment (the newest of each student
    first: :func:`grader.service.queue.in_turn`), with its audit row (by the TA ``by``); how many."""
    ids = list(db.scalars(select(Submission.id).where(Submission.assignment_id == assignment_id)))
    for submission_id in ids:
        queue.enqueue(db, submission_id, kind="regrade")
    audit(db, by, "regrade-assignment", assignment=name, submissions=len(ids))
    return len(ids)
