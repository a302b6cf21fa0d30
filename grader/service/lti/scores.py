"""Grade passback, the writing half: every new verdict row of a student's counted version
(the grading workers write one per grading and regrade, the hand-grading code one per change
of a hand grade or override, for every version of the student) puts the student's score in
the ``lti_scores`` outbox of each LMS course the student is in and the assignment has a line
item in, inside the transaction that writes the verdict: both are stored, or neither. A due
that moves (``course.yaml``) can change which version counts without a new verdict: the
scores of the students whose counted version changed are queued with it.
:mod:`grader.service.lti.passback` posts them.

The service's own modules know nothing of this: :func:`install` listens to a database's
sessions (SQLAlchemy's ``before_flush``), in every process that writes (the server's, and
the grading process's: ``Service.hook_database``), so every writer of a verdict is covered.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from sqlalchemy import event, inspect, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from grader.core.report import Report
from grader.core.verdict import Status
from grader.service.blobs import loads
from grader.service.counting import Penalty, counted_version, newest_verdict, with_hand_in
from grader.service.db import Assignment, Submission, User, VerdictRow, due_for, utcnow
from grader.service.lti.models import LtiLineItem, LtiMember, LtiScore, LtiUser
from grader.service.lti.registration import FULLY_GRADED, PENDING_MANUAL

log = logging.getLogger("grader.service.lti")
SUBMITTED, COMPLETED = "Submitted", "Completed"


def install(sessions: sessionmaker[Session]) -> None:
    """Queue scores with every verdict written through ``sessions`` (the service's database)."""
    event.listen(sessions, "before_flush", _before_flush)


def _before_flush(db: Session, _context: Any, _instances: Any) -> None:
    verdicts = [row for row in db.new if isinstance(row, VerdictRow)]
    moved = [row for row in db.dirty if isinstance(row, Assignment) and _due_moved(row)]
    if not verdicts and not moved:
        return
    with db.no_autoflush:
        try:
            for verdict in verdicts:
                queue_scores(db, verdict)
            for assignment in moved:
                queue_changed(db, assignment)
        except SQLAlchemyError:
            raise  # the transaction fails whole: no verdict without its scores
        except Exception:  # a bug here must not stop grading: say so loudly
            log.exception("LMS scores were not queued")


def _due_moved(assignment: Assignment) -> bool:
    """The assignment's due, or a student's extension, changed in this transaction."""
    for attribute, empty in (("due", None), ("extensions", {}), ("granted_extensions", {}), ("policy", {})):
        history = getattr(inspect(assignment).attrs, attribute).history
        if history.deleted and list(history.deleted) != list(history.added or [empty]):
            return True
    return False


def queue_scores(db: Session, verdict: VerdictRow) -> int:
    """Outbox rows for ``verdict`` when it is of its student's counted version; how many."""
    submission = db.get(Submission, verdict.submission_id)
    if submission is None:
        return 0
    if counted_submission(db, submission.assignment_id, submission.user_id) != submission.id:
        return 0
    return add_scores(db, submission, verdict.report)


def add_scores(db: Session, submission: Submission, report_blob: bytes, only_new: bool = False) -> int:
    """An outbox row per line item and LMS user the submission's student has (with
    ``only_new``, only for those without any score yet); how many."""
    assignment = db.get(Assignment, submission.assignment_id)
    found = targets(db, submission.user_id, assignment.name) if assignment is not None else []
    if only_new:
        found = [(item, subject) for item, subject in found if not _has_score(db, item, subject)]
    report = loads(report_blob) if found else None  # most students of most courses: no LMS
    if assignment is None or not isinstance(report, Report):
        return 0
    for item, subject in found:
        due = due_for(assignment, user_name(db, submission.user_id))
        db.add(score_row(item, subject, submission, report, due, penalty_of(assignment)))
    return len(found)


def _has_score(db: Session, item: LtiLineItem, subject: str) -> bool:
    found = db.scalar(
        select(LtiScore.id).where(LtiScore.line_item_id == item.id, LtiScore.subject == subject).limit(1)
    )
    return found is not None


def counted_submission(db: Session, assignment_id: int, user_id: int) -> int | None:
    """The version that counts (:mod:`grader.service.counting`, the gradebook's rule)."""
    assignment = db.get(Assignment, assignment_id)
    rows = db.execute(
        select(Submission.id, Submission.created_at)
        .where(Submission.assignment_id == assignment_id, Submission.user_id == user_id)
        .order_by(Submission.version)
    ).all()
    due = due_for(assignment, user_name(db, user_id)) if assignment else None
    chosen = counted_version(rows, lambda row: row.created_at, due)
    return chosen.id if chosen is not None else None


def user_name(db: Session, user_id: int) -> str:
    return db.scalar(select(User.name).where(User.id == user_id)) or ""


def targets(db: Session, user_id: int, assignment: str) -> list[tuple[LtiLineItem, str]]:
    """(line item, LMS user id) for each LMS course the user is in that links ``assignment``."""
    rows = db.execute(
        select(LtiLineItem, LtiUser.subject)
        .join(LtiUser, LtiUser.issuer == LtiLineItem.issuer)
        .join(
            LtiMember,
            (LtiMember.issuer == LtiLineItem.issuer)
            & (LtiMember.context_id == LtiLineItem.context_id)
            & (LtiMember.subject == LtiUser.subject),
        )
        .where(LtiUser.user_id == user_id, LtiLineItem.assignment == assignment)
        .order_by(LtiLineItem.id)
    ).all()
    return [(item, subject) for item, subject in rows]


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


def queue_changed(db: Session, assignment: Assignment) -> int:
    """The score of each LMS student of ``assignment`` whose counted version is not the one
    their last score came from (the due moved); how many were queued."""
    queued = 0
    for item in db.scalars(select(LtiLineItem).where(LtiLineItem.assignment == assignment.name)):
        for subject, user_id in _students(db, item):
            counted = counted_submission(db, assignment.id, user_id)
            verdict = newest_verdict(db, counted) if counted is not None else None
            submission = db.get(Submission, counted) if verdict is not None else None
            if (
                submission is None
                or verdict is None
                or _last_submission(db, item, subject) in (None, counted)
            ):
                continue
            report = loads(verdict.report)
            if isinstance(report, Report):
                due = due_for(assignment, user_name(db, user_id))
                db.add(score_row(item, subject, submission, report, due, penalty_of(assignment)))
                queued += 1
    return queued


def queue_all_changed(db: Session) -> int:
    """:func:`queue_changed` for every assignment: at start-up, for a due moved while no
    server listened."""
    return sum(queue_changed(db, assignment) for assignment in db.scalars(select(Assignment)))


def _students(db: Session, item: LtiLineItem) -> list[tuple[str, int]]:
    """(LMS user id, service user id) of the members of the line item's LMS course."""
    rows = db.execute(
        select(LtiUser.subject, LtiUser.user_id)
        .join(
            LtiMember,
            (LtiMember.issuer == LtiUser.issuer) & (LtiMember.subject == LtiUser.subject),
        )
        .where(LtiUser.issuer == item.issuer, LtiMember.context_id == item.context_id)
    ).all()
    return [(subject, user_id) for subject, user_id in rows]


def _last_submission(db: Session, item: LtiLineItem, subject: str) -> int | None:
    return db.scalar(
        select(LtiScore.submission_id)
        .where(LtiScore.line_item_id == item.id, LtiScore.subject == subject)
        .order_by(LtiScore.id.desc())
        .limit(1)
    )


def queue_current_score(db: Session, user_id: int, assignment_id: int) -> int:
    """On a student's launch: their present score, to the line items that have none of
    theirs yet (graded before the LMS announced where scores go)."""
    submission_id = counted_submission(db, assignment_id, user_id)
    verdict = newest_verdict(db, submission_id) if submission_id is not None else None
    submission = db.get(Submission, submission_id) if verdict is not None else None
    if verdict is None or submission is None:
        return 0
    return add_scores(db, submission, verdict.report, only_new=True)
