"""Regrade requests in pages: the student's section of their feedback page (their requests and
the form to ask), the TA's queue, and the request beside the part in the grading view.

Everything a student or TA wrote (a reason, a reply) is escaped; a student's name is their
pseudonym on a TA's page while names are hidden (anonymous grading).
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import quote

from markupsafe import Markup
from sqlalchemy.orm import Session

from grader.core.report import Report, shown_points
from grader.service.course import CourseState
from grader.service.course_files import LoadedAssignment
from grader.service.crud.hand_grades import counted_submissions
from grader.service.crud.regrade_requests import (
    MAX_TEXT,
    OPEN,
    current_grade,
    known_id,
    requests_where,
    shown_name,
)
from grader.service.hand.anonymous import names_hidden
from grader.service.models import RegradeRequestRow, User
from grader.service.templating import fragment
from grader.service.visibility import student_report

OUTCOMES = {OPEN: "open: a TA will answer", "changed": "points changed", "kept": "points kept"}
ANSWERED_SHOWN = 50  # answered requests the queue lists, newest first


def feedback_section(
    db: Session, loaded: LoadedAssignment, student: User, csrf: str, now: dt.datetime, can_ask: bool
) -> Markup:
    """The student's requests for the assignment and, with ``can_ask`` (the student's own page),
    the form to ask: for the parts of their counted version released to them, while requests
    are taken, without an open request."""
    mine = [row for row, _ in requests_where(db, RegradeRequestRow.student_id == student.id)]
    mine = [row for row in mine if row.assignment_id == loaded.id]
    until = loaded.regrade_until if can_ask else None
    closed = until is not None and now > until
    parts: list[str] = []
    version = 0
    if until is not None and not closed:
        counted_version = counted_submissions(db, loaded, [student.name])
        report: Report | None = counted_version[0][2] if counted_version else None
        if report is not None:
            shown, _ = student_report(report, loaded, now)
            asked = {r.part for r in mine if r.status == OPEN}
            parts = [r.id for r in shown.parts if r.id not in asked]
            version = counted_version[0][1].version
    if not mine and not closed and not parts:
        return Markup()
    return fragment(
        "hand/regrade_feedback.html",
        mine=list(reversed(mine)),
        zone=loaded.zone,
        name=loaded.name,
        outcomes=OUTCOMES,
        open=OPEN,
        closed=closed,
        until=until,
        parts=parts,
        version=version,
        csrf=Markup(csrf),
        max_text=MAX_TEXT,
    )


def queue_body(db: Session, course: CourseState) -> dict[str, Any]:
    """The TA's queue: the open requests, oldest first, each linked to the grading view of its
    part with the request beside it; then the last answered ones (``hand/regrade_queue.html``)."""
    rows = requests_where(db)
    waiting = [(row, name) for row, name in rows if row.status == OPEN]
    answered = sorted(
        ((row, name) for row, name in rows if row.status != OPEN),
        key=lambda pair: pair[0].answered_at or pair[0].created_at,
        reverse=True,
    )[:ANSWERED_SHOWN]
    return {
        "count": len(waiting),
        "waiting": [r for r in (_queue_row(course, row, name) for row, name in waiting) if r],
        "answered": [r for r in (_queue_row(course, row, name) for row, name in answered) if r],
        "outcomes": OUTCOMES,
    }


def grading_url(loaded: LoadedAssignment, row: RegradeRequestRow) -> str:
    return f"/ta/assignments/{quote(loaded.name)}/parts/{quote(row.part)}?request={row.id}"


def _queue_row(course: CourseState, row: RegradeRequestRow, name: str) -> dict[str, Any]:
    """A request as the queue lists it ({} when its assignment is gone: an empty row)."""
    loaded = course.by_id(row.assignment_id)
    if loaded is None:
        return {}
    return {
        "row": row,
        "assignment": loaded.name,
        "zone": loaded.zone,
        "student": shown_name(loaded, name, names_hidden(loaded, "")),
        "url": grading_url(loaded, row),
    }


def beside_view(
    db: Session, loaded: LoadedAssignment, part: str, request_id: int, hidden: bool, csrf: str
) -> tuple[str, Markup]:
    """The student of request ``request_id`` (of this part; "" for none) and the panel the grading
    view shows beside their group: the reason, the points now, and the form that answers."""
    found = requests_where(db, RegradeRequestRow.id == request_id) if known_id(request_id) else []
    if not found or found[0][0].assignment_id != loaded.id or found[0][0].part != part:
        return "", Markup()
    row, name = found[0]
    grade = current_grade(db, row)
    counted_version = counted_submissions(db, loaded, [name])
    report = counted_version[0][2] if counted_version else None
    result = next((r for r in report.parts if r.id == part), None) if report else None
    now = (
        f"{shown_points(result.score)}/{shown_points(result.max_score)}"
        if result is not None
        else "not graded"
    )
    points = result.score if result is not None else (grade.points if grade is not None else None)
    return name, fragment(
        "hand/regrade_beside.html",
        row=row,
        student=shown_name(loaded, name, hidden),
        zone=loaded.zone,
        now=now,
        open=OPEN,
        outcomes=OUTCOMES,
        csrf=Markup(csrf),
        version=grade.version if grade is not None else 0,
        max_score=result.max_score if result else 0,
        points=points,
        max_text=MAX_TEXT,
    )


def changed_points(db: Session, loaded: LoadedAssignment, part: str, request_id: int) -> float | None:
    """The points request ``request_id`` (of this part) gave, when its answer changed them."""
    found = requests_where(db, RegradeRequestRow.id == request_id) if known_id(request_id) else []
    if not found or found[0][0].assignment_id != loaded.id or found[0][0].part != part:
        return None
    row = found[0][0]
    return row.points if row.status == "changed" else None
