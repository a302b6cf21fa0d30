"""Regrade requests: a student asks a TA to look at a part of their counted version again,
with a reason, once its verdict is shown to them and until course.yaml's
``regrade_requests: {until: ...}``; the TA answers with a reply, changing the points (a hand
grade, written in the request's closing transaction) or keeping them. A unique index over the
open requests (``uq_regrade_requests_open``) refuses a second open one for a part, however close
together two arrive. Asking and answering are each one transaction with their audit row.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from grader.core.report import points_value
from grader.course.files import LoadedAssignment
from grader.course.grades import MAX_ID, GradeBody, StaleWrite
from grader.course.regrade_requests import AnswerBody, AskBody, visible_text
from grader.course.shown import shown_time
from grader.course.visibility import student_report
from grader.engine import is_auto_graded
from grader.service.course import CourseState
from grader.service.crud.audit import audit, audit_entries
from grader.service.crud.hand_grades import counted_submissions, hand_grade, part_of, write_grades
from grader.service.db import lock_students
from grader.service.errors import ApiError
from grader.service.models import OPEN, HandGradeRow, RegradeRequestRow, User, utcnow

CHANGED, KEPT = "changed", "kept"  # with OPEN, a request's status
ASKED, ANSWERED = "regrade-request", "regrade-answer"  # their audit_log actions


def ask(
    db: Session, loaded: LoadedAssignment, student: User, body: AskBody, now: dt.datetime
) -> tuple[RegradeRequestRow, int]:
    """A new open request of ``student`` about their counted version's ``body.part``, with its
    audit row, and the id of that version; ApiError (403, 404, 409, 422) saying why not."""
    part_of(loaded, body.part)  # 404 for a part the assignment has not
    reason = body.reason.strip()
    if not visible_text(reason):
        raise ApiError(
            422,
            "the reason is empty (blank or invisible characters only): say what you think was graded wrongly",
        )
    refuse_outside_window(loaded, now)
    lock_students(db, loaded.id, [student.id])
    counted = counted_submissions(db, loaded, [student.name])
    if not counted:
        raise ApiError(404, f"you have handed in nothing for {loaded.name}")
    _, submission, report = counted[0]
    if report is None:
        raise ApiError(
            409, f"your version {submission.version} is still being graded: ask once its verdict is in"
        )
    _, hidden = student_report(report, loaded, now)
    result = next((r for r in report.parts if r.id == body.part), None)
    if body.part in hidden or result is None:
        release = loaded.release or loaded.due
        after = f" (after {shown_time(release, loaded.zone)})" if release else ""
        raise ApiError(403, f"the verdict of {body.part} is not released to you yet: ask once it is{after}")
    refuse_second(db, loaded, student, body.part)
    row = RegradeRequestRow(
        assignment_id=loaded.id,
        student_id=student.id,
        part=body.part,
        reason=reason,
        status=OPEN,
        points_then=result.score,
        created_at=now,
    )
    try:
        with db.begin_nested():
            db.add(row)
            db.flush()
    except IntegrityError:  # another request for the part, committed just now
        db.expire_all()
        refuse_second(db, loaded, student, body.part)
        raise ApiError(409, f"you already have an open regrade request for {body.part}") from None
    audit(db, student.id, ASKED, **_about(loaded, student, row), reason=reason)
    return row, submission.id


def refuse_outside_window(loaded: LoadedAssignment, now: dt.datetime) -> None:
    until = loaded.regrade_until
    if until is None:
        raise ApiError(
            403, f"{loaded.name} takes no regrade requests (the course sets no regrade_requests.until)"
        )
    if now > until:
        raise ApiError(
            403,
            f"regrade requests for {loaded.name} closed at {shown_time(until, loaded.zone)}; "
            "ask a TA in person",
        )


def refuse_second(db: Session, loaded: LoadedAssignment, student: User, part: str) -> None:
    mine = select(RegradeRequestRow.id).filter_by(assignment_id=loaded.id, student_id=student.id, part=part)
    found = db.scalar(mine.filter_by(status=OPEN))
    if found is not None:
        raise ApiError(
            409, f"you already have an open regrade request for {part} (#{found}): wait for its answer"
        )


def answer(
    db: Session, course: CourseState, request_id: int, body: AnswerBody, by: User
) -> RegradeRequestRow:
    """Close an open request: with new points, the student's hand grade of the part is written
    (:func:`write_grades`, which updates their verdicts) in this same transaction; its audit
    row too. 409 when another TA answered it first, or the grade changed since ``version``."""
    row = db.get(RegradeRequestRow, request_id) if known_id(request_id) else None
    loaded = course.by_id(row.assignment_id) if row is not None else None
    student = db.get(User, row.student_id) if row is not None else None
    if row is None or loaded is None or student is None:
        raise ApiError(404, f"no regrade request #{request_id}")
    lock_students(db, loaded.id, [student.id])
    now = utcnow()
    closed = db.execute(
        update(RegradeRequestRow)
        .where(RegradeRequestRow.id == row.id, RegradeRequestRow.status == OPEN)
        .values(
            status=KEPT if body.keep else CHANGED,
            reply=body.reply.strip(),
            answered_by_id=by.id,
            answered_by=by.name,
            answered_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    db.expire(row)
    if closed.rowcount != 1:  # type: ignore[attr-defined]
        raise ApiError(
            409,
            f"regrade request #{row.id} was answered already, by {row.answered_by} "
            f"at {row.answered_at:%Y-%m-%d %H:%M} UTC",
        )
    grade = hand_grade(db, row.assignment_id, row.student_id, row.part)
    old = grade.points if grade is not None else row.points_then
    if body.points is not None:
        row.hand_version = _regrade(db, loaded, row, student, grade, body, by)
        row.points = body.points
    answered = {"outcome": row.status, "reply": row.reply, "old_points": old, "new_points": body.points}
    audit(db, by.id, ANSWERED, **_about(loaded, student, row), **answered, hand_version=row.hand_version)
    db.flush()
    return row


def _regrade(
    db: Session,
    loaded: LoadedAssignment,
    row: RegradeRequestRow,
    student: User,
    grade: HandGradeRow | None,
    body: AnswerBody,
    by: User,
) -> int:
    """The student's hand grade of the part with the new points (its rubric items and comment
    kept); the version written."""
    seen = body.version if body.version is not None else (grade.version if grade is not None else 0)
    rubric, comment, reason = (
        (list(grade.rubric or ()), grade.comment, grade.reason) if grade else ([], "", None)
    )
    if reason is None and is_auto_graded(part_of(loaded, row.part)):
        reason = f"regrade request #{row.id}"
    new = GradeBody(points=body.points, rubric=rubric, comment=comment, reason=reason, version=seen)
    try:
        written = write_grades(db, loaded, row.part, new, {student.name: seen}, by)
    except StaleWrite as exc:
        raise ApiError(409, f"{exc}; the request stays open") from None
    return written[0].version


def known_id(request_id: int) -> bool:
    """Whether a database id can be ``request_id`` (a larger one is refused by the database)."""
    return 0 < request_id <= MAX_ID


def requests_where(db: Session, *conditions: Any) -> list[tuple[RegradeRequestRow, str]]:
    """Requests matching ``conditions``, with their student's name, oldest first."""
    query = select(RegradeRequestRow, User.name).join(User, User.id == RegradeRequestRow.student_id)
    return [(row, name) for row, name in db.execute(query.where(*conditions).order_by(RegradeRequestRow.id))]


def open_count(db: Session) -> int:
    return int(db.scalar(select(func.count()).where(RegradeRequestRow.status == OPEN)) or 0)


def request_json(row: RegradeRequestRow, assignment: str, student: str) -> dict[str, Any]:
    return {
        "id": row.id,
        "assignment": assignment,
        "part": row.part,
        "student": student,
        "reason": row.reason,
        "status": row.status,
        "asked_at": row.created_at.isoformat(),
        "points_then": points_value(row.points_then) if row.points_then is not None else None,
        "reply": row.reply,
        "points": points_value(row.points) if row.points is not None else None,
        "hand_version": row.hand_version,
        "answered_by": row.answered_by,
        "answered_at": row.answered_at.isoformat() if row.answered_at else None,
    }


def history(db: Session, request_id: int, shown: Callable[[str], str] = str) -> list[dict[str, Any]]:
    """The request's steps in the audit log: asked, answered; ``shown`` names the student as the
    page does (their pseudonym while names are hidden), in ``who`` and the step's ``student``."""
    found = []
    for entry, name in audit_entries(db, ASKED, ANSWERED):
        detail = dict(entry.detail or {})
        if detail.get("request") == request_id:
            student = str(detail.get("student") or "")
            if student:
                detail["student"] = shown(student)
            who = shown(name) if student and name == student else name
            found.append({"at": entry.at.isoformat(), "who": who, "action": entry.action, "detail": detail})
    return found


def _about(loaded: LoadedAssignment, student: User, row: RegradeRequestRow) -> dict[str, object]:
    return {"assignment": loaded.name, "student": student.name, "part": row.part, "request": row.id}
