"""Regrade requests in pages: the student's section of their feedback page (their requests and
the form to ask), the TA's queue, and the request beside the part in the grading view.

Everything a student or TA wrote (a reason, a reply) is escaped; a student's name is their
pseudonym on a TA's page while names are hidden (anonymous grading).
"""

from __future__ import annotations

import datetime as dt
from html import escape
from urllib.parse import quote

from sqlalchemy.orm import Session

from grader.core.report import Report, shown_points
from grader.mathlang.wording import counted
from grader.service.course import CourseState, LoadedAssignment
from grader.service.db import User
from grader.service.hand.anonymous import names_hidden
from grader.service.hand.logic import counted_submissions
from grader.service.hand.requests import (
    MAX_TEXT,
    OPEN,
    RegradeRequestRow,
    current_grade,
    known_id,
    requests_where,
    shown_name,
)
from grader.service.shown import time_html
from grader.service.visibility import student_report

OUTCOMES = {OPEN: "open: a TA will answer", "changed": "points changed", "kept": "points kept"}
ANSWERED_SHOWN = 50  # answered requests the queue lists, newest first


def _text(value: str | None) -> str:
    """A reason or reply as written, escaped, its lines kept."""
    return escape(value or "").replace("\n", "<br>")


def _points(value: float | None) -> str:
    return shown_points(value) if value is not None else "–"


def feedback_section(
    db: Session, loaded: LoadedAssignment, student: User, csrf: str, now: dt.datetime, can_ask: bool
) -> str:
    """The student's requests for the assignment and, with ``can_ask`` (the student's own page),
    the form to ask: for the parts of their counted version released to them, while requests
    are taken, without an open request."""
    mine = [row for row, _ in requests_where(db, RegradeRequestRow.student_id == student.id)]
    mine = [row for row in mine if row.assignment_id == loaded.id]
    items = "".join(_student_item(row, loaded) for row in reversed(mine))
    listed = f"<ul class='regrade-requests'>{items}</ul>" if items else ""
    form = (
        _ask_form(db, loaded, student, csrf, now, {r.part for r in mine if r.status == OPEN})
        if can_ask
        else ""
    )
    if not listed and not form:
        return ""
    return f"<section class='part' id='regrade-requests'><h2>Regrade requests</h2>{listed}{form}</section>"


def _student_item(row: RegradeRequestRow, loaded: LoadedAssignment) -> str:
    answer = ""
    if row.status != OPEN:
        points = f" New points: {_points(row.points)}." if row.points is not None else ""
        answer = (
            f"<p class='reply'><strong>{escape(row.answered_by or 'A TA')}</strong> answered "
            f"{time_html(row.answered_at, loaded.zone)}:{points}</p>"
            f"<blockquote>{_text(row.reply)}</blockquote>"
        )
    return (
        f"<li id='regrade-request-{row.id}'><strong>{escape(row.part)}</strong> "
        f"<span class='status'>{escape(OUTCOMES.get(row.status, row.status))}</span> · asked "
        f"{time_html(row.created_at, loaded.zone)} (points then {_points(row.points_then)})"
        f"<blockquote class='reason'>{_text(row.reason)}</blockquote>{answer}</li>"
    )


def _ask_form(
    db: Session, loaded: LoadedAssignment, student: User, csrf: str, now: dt.datetime, open_parts: set[str]
) -> str:
    until = loaded.regrade_until
    if until is None:
        return ""
    if now > until:
        return f"<p class='muted'>Regrade requests closed {time_html(until, loaded.zone)}.</p>"
    counted_version = counted_submissions(db, loaded, [student.name])
    report: Report | None = counted_version[0][2] if counted_version else None
    if report is None:
        return ""
    shown, _ = student_report(report, loaded, now)
    parts = [r.id for r in shown.parts if r.id not in open_parts]
    if not parts:
        return ""
    options = "".join(f"<option value='{escape(p)}'>{escape(p)}</option>" for p in parts)
    version = counted_version[0][1].version
    return (
        f"<form class='stack' id='regrade-form' method='post' "
        f"action='/assignments/{escape(quote(loaded.name))}/regrade-requests'>{csrf}"
        f"<p>Think a part was graded wrongly? Ask a TA to look again, until {time_html(until, loaded.zone)}. "
        f"The request is about version {version}, the one that counts; one open request per part.</p>"
        "<p><label for='regrade-part'>Part</label><br>"  # the feedback page's stylesheet lays out no form
        f"<select id='regrade-part' name='part'>{options}</select></p>"
        "<p><label for='regrade-reason'>Why it should be graded again</label><br>"
        f"<textarea id='regrade-reason' name='reason' rows='6' cols='80' maxlength='{MAX_TEXT}' required>"
        "</textarea></p><p><button type='submit'>Ask for a regrade</button></p></form>"
    )


def queue_body(db: Session, course: CourseState) -> str:
    """The TA's queue: the open requests, oldest first, each linked to the grading view of its
    part with the request beside it; then the last answered ones."""
    rows = requests_where(db)
    waiting = [(row, name) for row, name in rows if row.status == OPEN]
    answered = sorted(
        ((row, name) for row, name in rows if row.status != OPEN),
        key=lambda pair: pair[0].answered_at or pair[0].created_at,
        reverse=True,
    )[:ANSWERED_SHOWN]
    head = "".join(
        f"<th>{label}</th>"
        for label in ("#", "Assignment", "Part", "Student", "Asked", "Points then", "Reason", "")
    )
    head = f"<tr>{head}</tr>"
    body = "".join(_queue_row(course, row, name) for row, name in waiting)
    out = [
        "<h1>Regrade requests</h1>",
        f"<p id='regrade-count'>{counted(len(waiting), 'open request')}.</p>",
        f"<table class='summary' id='open-requests'><thead>{head}</thead><tbody>{body}</tbody></table>"
        if waiting
        else "<p class='muted'>No open request.</p>",
    ]
    if answered:
        items = "".join(_answered_row(course, row, name) for row, name in answered)
        out.append(
            "<h2>Answered</h2><table class='summary' id='answered-requests'><thead><tr><th>#</th>"
            "<th>Assignment</th><th>Part</th><th>Student</th><th>Outcome</th><th>By</th><th>Reply</th></tr></thead>"
            f"<tbody>{items}</tbody></table>"
        )
    return "".join(out)


def grading_url(loaded: LoadedAssignment, row: RegradeRequestRow) -> str:
    return f"/ta/assignments/{quote(loaded.name)}/parts/{quote(row.part)}?request={row.id}"


def _queue_row(course: CourseState, row: RegradeRequestRow, name: str) -> str:
    loaded = course.by_id(row.assignment_id)
    if loaded is None:
        return ""
    student = shown_name(loaded, name, names_hidden(loaded, ""))
    return (
        f"<tr id='request-{row.id}'><td>{row.id}</td><td>{escape(loaded.name)}</td>"
        f"<td>{escape(row.part)}</td>"
        f"<td>{escape(student)}</td><td>{time_html(row.created_at, loaded.zone)}</td>"
        f"<td>{_points(row.points_then)}</td><td class='reason'>{_text(row.reason)}</td>"
        f"<td><a href='{escape(grading_url(loaded, row))}'>Answer in the grading view</a></td></tr>"
    )


def _answered_row(course: CourseState, row: RegradeRequestRow, name: str) -> str:
    loaded = course.by_id(row.assignment_id)
    if loaded is None:
        return ""
    student = shown_name(loaded, name, names_hidden(loaded, ""))
    outcome = OUTCOMES.get(row.status, row.status) + (
        f" ({_points(row.points)})" if row.points is not None else ""
    )
    return (
        f"<tr><td>{row.id}</td><td>{escape(loaded.name)}</td><td>{escape(row.part)}</td><td>{escape(student)}</td>"
        f"<td>{escape(outcome)}</td><td>{escape(row.answered_by or '')}</td><td>{_text(row.reply)}</td></tr>"
    )


def beside_view(
    db: Session, loaded: LoadedAssignment, part: str, request_id: int, hidden: bool, csrf: str
) -> tuple[str, str]:
    """The student of request ``request_id`` (of this part; "" for none) and the panel the grading
    view shows beside their group: the reason, the points now, and the form that answers."""
    found = requests_where(db, RegradeRequestRow.id == request_id) if known_id(request_id) else []
    if not found or found[0][0].assignment_id != loaded.id or found[0][0].part != part:
        return "", ""
    row, name = found[0]
    student = shown_name(loaded, name, hidden)
    grade = current_grade(db, row)
    counted_version = counted_submissions(db, loaded, [name])
    report = counted_version[0][2] if counted_version else None
    result = next((r for r in report.parts if r.id == part), None) if report else None
    now = (
        f"{shown_points(result.score)}/{shown_points(result.max_score)}"
        if result is not None
        else "not graded"
    )
    head = (
        f"<h2>Regrade request #{row.id} from {escape(student)}</h2>"
        f"<p>Asked {time_html(row.created_at, loaded.zone)}, at {_points(row.points_then)} points; "
        f"the part has {escape(now)} now.</p><blockquote class='reason'>{_text(row.reason)}</blockquote>"
    )
    if row.status != OPEN:
        outcome = escape(OUTCOMES.get(row.status, row.status))
        return name, (
            f"<section class='warning' id='regrade-request'>{head}<p>Answered by "
            f"{escape(row.answered_by or '')}: {outcome}.</p>"
            f"<blockquote>{_text(row.reply)}</blockquote></section>"
        )
    points = result.score if result is not None else (grade.points if grade is not None else None)
    action = f"/ta/regrade-requests/{row.id}/answer"
    shown = _points(points) if points is not None else ""
    form = (
        f"<form class='stack' id='regrade-answer' method='post' action='{action}'>{csrf}"
        f"<input type='hidden' name='version' value='{grade.version if grade is not None else 0}'>"
        f"<label>New points (of {shown_points(result.max_score if result else 0)}) "
        f"<input type='text' name='points' inputmode='decimal' value='{shown}'></label>"
        "<label>Reply to the student "
        f"<textarea id='regrade-reply' name='reply' maxlength='{MAX_TEXT}' required></textarea></label>"
        "<div><button type='submit' name='outcome' value='changed' id='regrade-change'>"
        "Change the points and reply</button> "
        "<button type='submit' name='outcome' value='kept' id='regrade-keep'>"
        "Keep the points and reply</button></div>"
        "</form>"
    )
    return name, f"<section class='warning' id='regrade-request'>{head}{form}</section>"


def changed_points(db: Session, loaded: LoadedAssignment, part: str, request_id: int) -> float | None:
    """The points request ``request_id`` (of this part) gave, when its answer changed them."""
    found = requests_where(db, RegradeRequestRow.id == request_id) if known_id(request_id) else []
    if not found or found[0][0].assignment_id != loaded.id or found[0][0].part != part:
        return None
    row = found[0][0]
    return row.points if row.status == "changed" else None
