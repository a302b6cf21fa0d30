"""Grade passback, the writing half: any change of a student's counted score queues it in
the ``lti_scores`` outbox of each LMS course the student is in and the assignment has a line
item in, inside the transaction of the change: both are stored, or neither. What changes a
counted score: a new verdict (a grading, a later version, a regrade, a hand grade, an
override, a regrade request answered, a rubric edit: each writes a verdict row), and a change
of the assignment's deadlines or policy (a due moved in ``course.yaml``, an extension granted
or in ``course.yaml``, the late policy edited). A new verdict of the counted version
always sends the score (unless the same score is still waiting to be posted); after any other
change the student's score is worked out again and compared with the last one queued for that
column, and a new one is queued where they differ (the version, the points or whether a part
waits): an extension that lifts a late penalty reaches the LMS as a new version does.
:mod:`grader.service.lti.passback` posts them; at its start it does the same comparison
for every student (what changed while no server ran), and a student's launch re-sends their
present score.

The service's own modules know nothing of this: :func:`install` listens to a database's
sessions (SQLAlchemy's ``before_flush`` and ``after_flush_postexec``), in every process that
writes: the server's and the grading process's (``Service.hook_database``), and the commands
that change grades or deadlines (``grader extend``, ``grader hand requests --answer``: their
``Service`` is made with the hook when ``lti.yaml`` lists a platform).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import event, inspect
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from grader.core.report import Report
from grader.core.verdict import Status
from grader.service.blobs import loads
from grader.service.crud import lti
from grader.service.crud.submissions import user_name
from grader.service.crud.verdicts import newest_verdict
from grader.service.late import Penalty, counted_version, with_hand_in
from grader.service.lti.registration import FULLY_GRADED, PENDING_MANUAL, load
from grader.service.models import (
    Assignment,
    LtiLineItem,
    LtiScore,
    ScoreStatus,
    Submission,
    VerdictRow,
    due_for,
    utcnow,
)

log = logging.getLogger("grader.service.lti")
SUBMITTED, COMPLETED = "Submitted", "Completed"
CHANGED = "grader.lti.changed"  # the session's info: what its flush changed (_Changed)


def database_hooks(course_dir: Path) -> list[Callable[[sessionmaker[Session]], None]]:
    """The hook for a ``Service`` of ``course_dir``: :func:`install` when ``lti.yaml`` lists
    a platform (scores go to an LMS), else none."""
    return [install] if load(course_dir).platforms else []


def install(sessions: sessionmaker[Session]) -> None:
    """Queue scores with every change written through ``sessions`` (the service's database)."""
    event.listen(sessions, "before_flush", _before_flush)
    event.listen(sessions, "after_flush_postexec", _after_flush)
    event.listen(sessions, "after_soft_rollback", lambda db, _previous: db.info.pop(CHANGED, None))


@dataclass
class _Changed:
    """What a flush changed that can move a counted score: new verdicts, and assignments
    whose due, extensions or late policy (the rubric is in it too) changed."""

    verdicts: list[VerdictRow] = field(default_factory=list)
    assignments: set[int] = field(default_factory=set)


def _before_flush(db: Session, _context: Any, _instances: Any) -> None:
    verdicts = [row for row in db.new if isinstance(row, VerdictRow)]
    moved = [row.id for row in db.dirty if isinstance(row, Assignment) and _due_moved(row)]
    if verdicts or moved:
        changed = db.info.setdefault(CHANGED, _Changed())
        changed.verdicts += verdicts
        changed.assignments.update(moved)


def _after_flush(db: Session, _context: Any) -> None:
    """The scores the flush changed, compared with the last one queued for each student and
    column; a new one is queued where they differ. Read after the flush (the new verdicts and
    deadlines are in the transaction) and added to the same transaction: the commit flushes
    them with it, so both are stored, or neither."""
    changed = db.info.pop(CHANGED, None)
    if changed is None:
        return
    with db.no_autoflush:
        try:
            for assignment_id in changed.assignments:
                refresh_assignment(db, assignment_id)
            students: dict[tuple[int, int], bool] = {}  # -> a verdict of the counted version
            for verdict in changed.verdicts:
                submission = db.get(Submission, verdict.submission_id)
                if submission is not None and submission.assignment_id not in changed.assignments:
                    key = (submission.assignment_id, submission.user_id)
                    counted = counted_submission(db, *key) == submission.id
                    students[key] = students.get(key, False) or counted
            for (assignment_id, user_id), counted in sorted(students.items()):
                refresh_student(db, assignment_id, user_id, resend=counted)
        except SQLAlchemyError:
            raise  # the transaction fails whole: no change without its scores
        except Exception:  # a bug here must not stop grading: say so loudly
            log.exception("LMS scores were not queued")


def _due_moved(assignment: Assignment) -> bool:
    """The assignment's due, a student's extension or its policy changed in this transaction."""
    for attribute, empty in (("due", None), ("extensions", {}), ("granted_extensions", {}), ("policy", {})):
        history = getattr(inspect(assignment).attrs, attribute).history
        if history.deleted and list(history.deleted) != list(history.added or [empty]):
            return True
    return False


def refresh_student(db: Session, assignment_id: int, user_id: int, resend: bool = False) -> int:
    """Queue the student's score in each LMS column of the assignment where it differs from
    the last one queued (with ``resend``, also where it is the same but not waiting to be
    posted); how many were queued."""
    assignment = db.get(Assignment, assignment_id)
    if assignment is None:
        return 0
    return sum(
        _queue_if_changed(db, item, subject, assignment, user_id, resend)
        for item, subject in lti.targets(db, user_id, assignment.name)
    )


def refresh_assignment(db: Session, assignment_id: int) -> int:
    """:func:`refresh_student` for every LMS student of the assignment; how many were queued."""
    assignment = db.get(Assignment, assignment_id)
    if assignment is None:
        return 0
    queued = 0
    for item in lti.line_items_of(db, assignment.name):
        for subject, user_id in lti.students_of(db, item):
            queued += _queue_if_changed(db, item, subject, assignment, user_id, False)
    return queued


def _queue_if_changed(
    db: Session, item: LtiLineItem, subject: str, assignment: Assignment, user_id: int, resend: bool
) -> int:
    score = current_score(db, item, subject, assignment, user_id)
    if score is None:
        return 0
    last = lti.last_score(db, item.id, subject)
    waiting = last is not None and last.status in (ScoreStatus.PENDING, ScoreStatus.SENDING)
    if last is not None and _same(last, score) and (waiting or not resend):
        return 0
    db.add(score)
    return 1


def _same(sent: LtiScore, now: LtiScore) -> bool:
    """The same score: of the same version, with the same points and the same progress."""
    return (sent.submission_id, sent.score_given, sent.score_maximum, sent.grading_progress) == (
        now.submission_id,
        now.score_given,
        now.score_maximum,
        now.grading_progress,
    )


def current_score(
    db: Session, item: LtiLineItem, subject: str, assignment: Assignment, user_id: int
) -> LtiScore | None:
    """The score the student has now (of their counted version's newest verdict, after the
    late penalty), as an outbox row not added yet; None while nothing of theirs is graded."""
    counted = counted_submission(db, assignment.id, user_id)
    verdict = newest_verdict(db, counted) if counted is not None else None
    submission = db.get(Submission, counted) if verdict is not None and counted is not None else None
    report = loads(verdict.report) if verdict is not None else None
    if submission is None or not isinstance(report, Report):
        return None
    due = due_for(assignment, (user_name(db, user_id) or ""))
    return score_row(item, subject, submission, report, due, penalty_of(assignment))


def counted_submission(db: Session, assignment_id: int, user_id: int) -> int | None:
    """The version that counts (:mod:`grader.service.crud.verdicts`, the gradebook's rule)."""
    assignment = db.get(Assignment, assignment_id)
    rows = lti.versions_of(db, assignment_id, user_id)
    due = due_for(assignment, (user_name(db, user_id) or "")) if assignment else None
    chosen = counted_version(rows, lambda row: row.created_at, due)
    return chosen.id if chosen is not None else None


def penalty_of(assignment: Assignment) -> Penalty | None:
    written = (assignment.policy or {}).get("penalty")
    return Penalty.model_validate(written) if written else None


def score_row(
    item: LtiLineItem,
    subject: str,
    submission: Submission,
    report: Report,
    due: dt.datetime | None,
    penalty: Penalty | None = None,
) -> LtiScore:
    """The AGS score: the points given (automatic and by hand) less the late penalty, waiting
    for a TA while a part is still to be graded by hand (or could not be graded automatically)."""
    with_hand_in(report, submission.version, submission.created_at, due, penalty)
    waiting = report.pending > 0 or any(part.status is Status.ERROR for part in report.parts)
    now = utcnow()
    return LtiScore(
        line_item_id=item.id,
        user_id=submission.user_id,
        submission_id=submission.id,
        subject=subject,
        score_given=report.score,
        score_maximum=report.max_score,
        activity_progress=COMPLETED if due is not None and now >= due else SUBMITTED,
        grading_progress=PENDING_MANUAL if waiting else FULLY_GRADED,
        next_attempt_at=now,
        created_at=now,
    )


def queue_all_changed(db: Session) -> int:
    """:func:`refresh_assignment` for every assignment: at start-up, for what changed while no
    server listened (a due moved in course.yaml, a write by a process without the hook)."""
    return sum(refresh_assignment(db, assignment.id) for assignment in lti.assignments(db))
