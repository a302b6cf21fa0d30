"""Grade passback, the writing half: any change of a student's counted score (a new verdict;
the assignment's due, extensions or late policy) queues it in the ``lti_scores`` outbox, in
the transaction of the change, so both are stored or neither (docs/lms.md). The service's
own modules know nothing of this: :func:`install` listens to the sessions of every process
that writes (``Service.hook_database``); :mod:`grader.service.lti.passback` posts them."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy import event, inspect
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from grader.core.report import Report
from grader.core.verdict import Status
from grader.course.late import Penalty, with_hand_in
from grader.course.lti import FULLY_GRADED, PENDING_MANUAL, load
from grader.service.blobs import loads
from grader.service.crud import lti
from grader.service.crud.submissions import user_name
from grader.service.crud.verdicts import counted_submissions
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
CHANGED = "grader.lti.changed"  # the session's info: (new verdicts, ids of assignments whose due moved)


def database_hooks(course_dir: Path) -> list[Callable[[sessionmaker[Session]], None]]:
    """:func:`install` when ``lti.yaml`` lists a platform, else none."""
    return [install] if load(course_dir).platforms else []


def install(sessions: sessionmaker[Session]) -> None:
    event.listen(sessions, "before_flush", _before_flush)
    event.listen(sessions, "after_flush_postexec", _after_flush)
    event.listen(sessions, "after_soft_rollback", lambda db, _previous: db.info.pop(CHANGED, None))


def _before_flush(db: Session, _context: Any, _instances: Any) -> None:
    verdicts = [row for row in db.new if isinstance(row, VerdictRow)]
    moved = [row.id for row in db.dirty if isinstance(row, Assignment) and _due_moved(row)]
    if verdicts or moved:
        changed = db.info.setdefault(CHANGED, ([], set()))
        changed[0].extend(verdicts)
        changed[1].update(moved)


def _after_flush(db: Session, _context: Any) -> None:
    """Queue the scores the flush changed. Read after the flush (the new verdicts and deadlines
    are in the transaction), added to the same transaction: both are stored, or neither."""
    verdicts, moved = db.info.pop(CHANGED, ([], set()))
    with db.no_autoflush:
        try:
            for assignment_id in moved:
                refresh(db, assignment_id)
            students: dict[tuple[int, int], bool] = {}  # -> a verdict of the counted version
            for verdict in verdicts:
                submission = db.get(Submission, verdict.submission_id)
                if submission is not None and submission.assignment_id not in moved:
                    key = (submission.assignment_id, submission.user_id)
                    found = counted_submission(db, *key)
                    counted = found is not None and found[0].id == submission.id
                    students[key] = students.get(key, False) or counted
            for (assignment_id, user_id), counted in sorted(students.items()):
                refresh(db, assignment_id, user_id, resend=counted)
        except SQLAlchemyError:
            raise  # the transaction fails whole: no change without its scores
        except Exception:  # a bug here must not stop grading: say so loudly
            log.exception("LMS scores were not queued")


def _due_moved(assignment: Assignment) -> bool:
    for attribute, empty in (("due", None), ("extensions", {}), ("granted_extensions", {}), ("policy", {})):
        history = getattr(inspect(assignment).attrs, attribute).history
        if history.deleted and list(history.deleted) != list(history.added or [empty]):
            return True
    return False


def refresh(db: Session, assignment_id: int, user_id: int | None = None, resend: bool = False) -> int:
    """Queue the score of ``user_id`` (of each LMS student when None) in each LMS column of the
    assignment where it differs from the last one queued (or, with ``resend``, is not waiting)."""
    assignment = db.get(Assignment, assignment_id)
    if assignment is None:
        return 0
    return sum(
        _queue_if_changed(db, item, subject, assignment, student, resend)
        for item, subject, student in lti.targets(db, assignment.name, user_id)
    )


def _queue_if_changed(
    db: Session, item: LtiLineItem, subject: str, assignment: Assignment, user_id: int, resend: bool
) -> int:
    score = current_score(db, item, subject, assignment, user_id)
    if score is None:
        return 0
    last = lti.find(db, LtiScore, LtiScore.id.desc(), line_item_id=item.id, subject=subject)
    waiting = last is not None and last.status in (ScoreStatus.PENDING, ScoreStatus.SENDING)
    if last is not None and _same(last, score) and (waiting or not resend):
        return 0
    db.add(score)
    return 1


def _same(sent: LtiScore, now: LtiScore) -> bool:
    fields = ("submission_id", "score_given", "score_maximum", "grading_progress")
    return all(getattr(sent, name) == getattr(now, name) for name in fields)


def current_score(
    db: Session, item: LtiLineItem, subject: str, assignment: Assignment, user_id: int
) -> LtiScore | None:
    """The score the student has now (of their counted version's newest verdict, after the
    late penalty), as an outbox row not added yet; None while nothing of theirs is graded."""
    counted = counted_submission(db, assignment.id, user_id)
    report = loads(counted[1].report) if counted is not None and counted[1] is not None else None
    if counted is None or not isinstance(report, Report):
        return None
    written = (assignment.policy or {}).get("penalty")
    penalty = Penalty.model_validate(written) if written else None
    due = due_for(assignment, user_name(db, user_id) or "")
    return score_row(item, subject, counted[0], report, due, penalty)


def counted_submission(
    db: Session, assignment_id: int, user_id: int
) -> tuple[Submission, VerdictRow | None] | None:
    """The user's counted version (the gradebook's rule) and its newest verdict."""
    assignment, name = db.get(Assignment, assignment_id), user_name(db, user_id)
    if assignment is None or name is None:
        return None
    counted = counted_submissions(db, assignment_id, partial(due_for, assignment), [name])
    return (counted[0][1], counted[0][2]) if counted else None


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
    """:func:`refresh` every assignment: at start-up, for what changed while no server listened."""
    return sum(refresh(db, assignment.id) for assignment in lti.find_all(db, Assignment))
