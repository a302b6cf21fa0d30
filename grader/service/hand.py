"""Hand grades in the service: TAs grade proofs, and override verdicts, by answer group.

A hand grade is a row of ``hand_grades`` (assignment, student, part, points, rubric
items, comment, reason, who, when, the answer digest and automatic verdict it was
given for, and a version). Every write carries the version the TA saw; a write over
a newer version is refused (409) naming who changed it and when, never silently
overwritten. Every change is an ``audit_log`` row with the old and new grade.

Reports stay what every reader already reads: after a write, each version the
student handed in gets a new verdict row, the automatic report with the student's
hand grades applied (:func:`grader.hand.apply_hand_grades`, the file path's own
step); the grading workers apply them to every new verdict too. So a student's
page, the API and every export count them with no change of their own.

``grader hand export`` and ``GET /api/v1/assignments/{a}/hand?format=yaml`` write
the grades in the form ``grader grade --hand`` reads.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from html import escape
from typing import Annotated, Any

import yaml
from fastapi import APIRouter, Depends, Request
from fastapi.responses import PlainTextResponse, RedirectResponse, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import JSON, Float, ForeignKey, Integer, String, Text, UniqueConstraint, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from grader.batch.answer_groups import AnswerGroup, GivenAnswer, answer_groups, mistakes_entry
from grader.batch.blobs import dumps, loads
from grader.core.parts import MAX_POINTS, PartBase
from grader.core.report import HandMark, Report, points_value, shown_points
from grader.core.submission import Submission as ReadSubmission
from grader.hand import HandGrade, answer_digests, apply_hand_grades, without_hand_grades
from grader.hand.apply import auto_pin
from grader.hand.book import entry_problems
from grader.mathlang.wording import counted
from grader.reporting.escape import csv_cell
from grader.service import counting
from grader.service.api import latest_verdict
from grader.service.auth import allow
from grader.service.course import CourseState, LoadedAssignment
from grader.service.db import (
    AuditEntry,
    Base,
    Role,
    Submission,
    User,
    UTCDateTime,
    VerdictRow,
    lock_students,
    utcnow,
)
from grader.service.errors import ApiError
from grader.service.intake import read_handed_in

router = APIRouter()
Staff = Annotated[User, Depends(allow(Role.TA))]
AUDIT_ACTION = "hand-grade"


class HandGradeRow(Base):
    __tablename__ = "hand_grades"
    __table_args__ = (UniqueConstraint("assignment_id", "student_id", "part"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    assignment_id: Mapped[int] = mapped_column(ForeignKey("assignments.id"), index=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    part: Mapped[str] = mapped_column(String(200))
    points: Mapped[float | None] = mapped_column(Float)
    rubric: Mapped[list[str]] = mapped_column(JSON, default=list)
    comment: Mapped[str] = mapped_column(Text, default="")
    reason: Mapped[str | None] = mapped_column(Text)
    grader_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    grader: Mapped[str] = mapped_column(String(200))
    answer_hash: Mapped[str | None] = mapped_column(String(64))
    auto: Mapped[str | None] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class GradeBody(BaseModel):
    """What a TA sends: the grade, and the version of it they saw (0: none yet)."""

    model_config = ConfigDict(extra="forbid")

    points: float | None = Field(None, ge=0, le=MAX_POINTS, allow_inf_nan=False)
    rubric: list[str] = Field(default_factory=list)
    comment: str = Field("", max_length=20_000)
    reason: str | None = Field(None, max_length=5_000)
    version: int = Field(0, ge=0)


class GroupBody(BaseModel):
    """A grade for every student of a group: ``versions`` maps each student the TA saw in the
    group to the version of their grade the TA saw (0: none yet)."""

    model_config = ConfigDict(extra="forbid")

    points: float | None = Field(None, ge=0, le=MAX_POINTS, allow_inf_nan=False)
    rubric: list[str] = Field(default_factory=list)
    comment: str = Field("", max_length=20_000)
    reason: str | None = Field(None, max_length=5_000)
    versions: dict[str, int]


@dataclass(frozen=True)
class Conflict:
    student: str
    part: str
    seen: int
    version: int
    by: str
    at: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "student": self.student,
            "part": self.part,
            "your_version": self.seen,
            "version": self.version,
            "changed_by": self.by,
            "changed_at": self.at,
        }

    def describe(self) -> str:
        return (
            f"{self.student} {self.part} was changed by {self.by} at {self.at} (version {self.version}; "
            f"you saw version {self.seen}): reload and grade again"
        )


class StaleWrite(Exception):
    def __init__(self, conflicts: list[Conflict]):
        super().__init__("; ".join(c.describe() for c in conflicts))
        self.conflicts = conflicts


# ---- the grades and the reports they make -----------------------------------------------


def as_hand_grade(row: HandGradeRow, student: str) -> HandGrade:
    return HandGrade(
        student=student,
        part=row.part,
        points=row.points,
        rubric=tuple(row.rubric or ()),
        comment=row.comment or "",
        by=row.grader,
        reason=row.reason or None,
        at=row.updated_at.isoformat(),
        answer=row.answer_hash,
        auto=row.auto,
    )


def grades_of(db: Session, assignment_id: int, student: User) -> list[HandGrade]:
    rows = db.scalars(
        select(HandGradeRow).where(
            HandGradeRow.assignment_id == assignment_id, HandGradeRow.student_id == student.id
        )
    )
    return [as_hand_grade(row, student.name) for row in rows]


def read_answers(submission: Submission, student: str) -> ReadSubmission:
    return read_handed_in(submission.filename, submission.content, student)


def with_hand_grades(db: Session, loaded: LoadedAssignment, submission: Submission, report: Report) -> Report:
    """``report`` of ``submission`` with its student's hand grades as they are now."""
    student = db.get(User, submission.user_id)
    report = without_hand_grades(report)
    if student is None:
        return report
    grades = grades_of(db, loaded.id, student)
    if not grades:
        return report
    parts = {address: part for address, _, part in loaded.spec.iter_parts()}
    digests = answer_digests(loaded.spec, read_answers(submission, student.name))
    return apply_hand_grades(report, grades, parts, digests)


def hand_graded_report(db: Session, course: CourseState, submission_id: int, report: Report) -> Report:
    """The grading workers' hook: a new verdict carries the student's hand grades, read under
    the lock a TA's write takes (:func:`lock_students`), so a grade committed before this
    verdict is never left out of it."""
    submission = db.get(Submission, submission_id)
    loaded = next((a for a in course.all() if submission and a.id == submission.assignment_id), None)
    if submission is None or loaded is None:
        return report
    lock_students(db, loaded.id, [submission.user_id])
    return with_hand_grades(db, loaded, submission, report)


def refresh_verdicts(db: Session, loaded: LoadedAssignment, student: User) -> None:
    """A new verdict row for each version the student handed in, with the grades as now."""
    submissions = db.scalars(
        select(Submission).where(Submission.assignment_id == loaded.id, Submission.user_id == student.id)
    )
    for submission in submissions:
        latest = latest_verdict(db, submission.id)
        report = loads(latest.report) if latest is not None else None
        if latest is None or not isinstance(report, Report):
            continue
        report = with_hand_grades(db, loaded, submission, report)
        db.add(
            VerdictRow(
                submission_id=submission.id,
                job_id=None,
                problem_hash=latest.problem_hash,
                score=report.score,
                max_score=report.max_score,
                report=dumps(report),
            )
        )


def counted_submissions(
    db: Session, loaded: LoadedAssignment, students: Collection[str] | None = None
) -> list[tuple[User, Submission, Report | None]]:
    """Each student's counted version (:mod:`grader.service.counting`; of ``students``, or of
    all) and its newest report, None while that version waits to be graded."""
    found = []
    for user, submission, verdict in counting.counted_submissions(db, loaded.id, loaded.due_for, students):
        report = loads(verdict.report) if verdict is not None else None
        if isinstance(report, Report):
            report.student = report.folder = user.name
        found.append((user, submission, report if isinstance(report, Report) else None))
    return found


def graded_submissions(db: Session, loaded: LoadedAssignment) -> list[tuple[User, Submission, Report]]:
    """The counted versions that have a report."""
    return [
        (user, submission, report) for user, submission, report in counted_submissions(db, loaded) if report
    ]


# ---- versioned writes -----------------------------------------------------------------------


def write_grades(
    db: Session,
    loaded: LoadedAssignment,
    part_id: str,
    grade: GradeBody | GroupBody,
    seen: dict[str, int],
    by: User,
) -> list[HandGradeRow]:
    """Write one grade for each student of ``seen`` (name -> version seen), all or none:
    :class:`StaleWrite` when any was changed since, with who changed it. The students' work is
    locked first (:func:`lock_students`), so the verdicts written here and by the grading
    workers carry every grade committed before them."""
    part = _part(loaded, part_id)
    students = db.execute(select(User.name, User.id).where(User.name.in_(seen))).all()
    lock_students(db, loaded.id, [student_id for _, student_id in students])
    counted = {
        user.name: (user, submission, report)
        for user, submission, report in counted_submissions(db, loaded, list(seen))
    }
    unknown = [name for name in seen if name not in counted]
    if unknown:
        raise ApiError(404, f"no submission of {', '.join(unknown)} for {loaded.name}")
    candidate = HandGrade(
        student="-",
        part=part_id,
        points=grade.points,
        rubric=tuple(grade.rubric),
        comment=grade.comment,
        by=by.name,
        reason=grade.reason or None,
    )
    problems = entry_problems(candidate, part)
    if problems:
        raise ApiError(422, f"{part_id}: {'; '.join(problems)}")
    conflicts, written = [], []
    for name, version in seen.items():
        student, submission, report = counted[name]
        result = next((r for r in report.parts if r.id == part_id), None) if report else None
        digests = answer_digests(loaded.spec, read_answers(submission, name))
        values = {
            "points": grade.points,
            "rubric": list(grade.rubric),
            "comment": grade.comment,
            "reason": grade.reason or None,
            "grader_id": by.id,
            "grader": by.name,
            "answer_hash": digests.get(part_id),
            "auto": _auto_pin(result),
            "updated_at": utcnow(),
        }
        row, conflict = _write_one(db, loaded, student, part_id, version, values)
        if conflict is not None:
            conflicts.append(conflict)
        elif row is not None:
            written.append(row)
    if conflicts:
        raise StaleWrite(conflicts)
    for name in seen:
        refresh_verdicts(db, loaded, counted[name][0])
    return written


def _auto_pin(result: Any) -> str | None:
    if result is None:
        return None
    mark = result.hand
    if mark is not None and mark.auto_status is not None:
        return f"{mark.auto_status.value} {points_value(mark.auto_score or 0)}"
    if mark is not None or result.status.value == "manual":
        return None
    return auto_pin(result)


def _write_one(
    db: Session, loaded: LoadedAssignment, student: User, part_id: str, seen: int, values: dict[str, Any]
) -> tuple[HandGradeRow | None, Conflict | None]:
    current = db.scalar(
        select(HandGradeRow).where(
            HandGradeRow.assignment_id == loaded.id,
            HandGradeRow.student_id == student.id,
            HandGradeRow.part == part_id,
        )
    )
    old = _grade_dict(current) if current is not None else None
    if current is None:
        if seen != 0:
            return None, Conflict(student.name, part_id, seen, 0, "nobody (it was removed)", "")
        row = HandGradeRow(assignment_id=loaded.id, student_id=student.id, part=part_id, version=1, **values)
        try:
            with db.begin_nested():
                db.add(row)
                db.flush()
        except IntegrityError:  # another TA created it just now
            db.expire_all()
            return None, _conflict_with(db, loaded, student, part_id, seen)
    else:
        changed = db.execute(
            update(HandGradeRow)
            .where(HandGradeRow.id == current.id, HandGradeRow.version == seen)
            .values(version=seen + 1, **values)
            .execution_options(synchronize_session=False)
        )
        if changed.rowcount != 1:  # type: ignore[attr-defined]
            db.expire_all()
            return None, _conflict_with(db, loaded, student, part_id, seen)
        db.expire(current)
        row = current
    db.add(
        AuditEntry(
            user_id=values["grader_id"],
            action=AUDIT_ACTION,
            detail={
                "assignment": loaded.name,
                "student": student.name,
                "part": part_id,
                "old": old,
                "new": _grade_dict(row),
            },
        )
    )
    return row, None


def _conflict_with(db: Session, loaded: LoadedAssignment, student: User, part_id: str, seen: int) -> Conflict:
    row = db.scalar(
        select(HandGradeRow).where(
            HandGradeRow.assignment_id == loaded.id,
            HandGradeRow.student_id == student.id,
            HandGradeRow.part == part_id,
        )
    )
    if row is None:
        return Conflict(student.name, part_id, seen, 0, "nobody", "")
    return Conflict(student.name, part_id, seen, row.version, row.grader, row.updated_at.isoformat())


def _grade_dict(row: HandGradeRow) -> dict[str, Any]:
    return {
        "points": row.points,
        "rubric": list(row.rubric or ()),
        "comment": row.comment,
        "reason": row.reason,
        "by": row.grader,
        "version": row.version,
        "at": row.updated_at.isoformat() if row.updated_at else None,
    }


def _part(loaded: LoadedAssignment, part_id: str) -> PartBase:
    part = next((p for address, _, p in loaded.spec.iter_parts() if address == part_id), None)
    if part is None:
        known = ", ".join(address for address, _, _ in loaded.spec.iter_parts())
        raise ApiError(404, f"{loaded.name} has no part {part_id!r} ({known})")
    return part


# ---- groups ---------------------------------------------------------------------------------


def part_groups(
    db: Session, loaded: LoadedAssignment, part_id: str
) -> tuple[list[AnswerGroup], dict[str, int]]:
    """The part's answer groups over the counted versions, and each student's grade version."""
    part = _part(loaded, part_id)
    given = []
    for user, submission, report in graded_submissions(db, loaded):
        result = next((r for r in report.parts if r.id == part_id), None)
        if result is None:
            continue
        read = read_answers(submission, user.name)
        matched = read.matched_to(address for address, _, _ in loaded.spec.iter_parts())
        answer = None if read.load_error else matched.answers.get(part_id)
        given.append(GivenAnswer(user.name, user.name, result, answer))
    versions = {
        name: version
        for name, version in db.execute(
            select(User.name, HandGradeRow.version)
            .join(User, User.id == HandGradeRow.student_id)
            .where(HandGradeRow.assignment_id == loaded.id, HandGradeRow.part == part_id)
        ).all()
    }
    return answer_groups(part, given), versions


def group_json(group: AnswerGroup, versions: dict[str, int], part: PartBase, part_id: str) -> dict[str, Any]:
    data = group.to_dict()
    snippet = mistakes_entry(part_id, group, part.points)
    if snippet:
        data["mistakes_yaml"] = snippet
    data["members"] = [
        {
            "student": m.student,
            "status": m.result.status.value,
            "score": points_value(m.result.score),
            "version": versions.get(m.student, 0),
            "hand": m.result.hand.to_dict() if m.result.hand is not None else None,
        }
        for m in group.members
    ]
    return data


# ---- export ---------------------------------------------------------------------------------


def export_grades(db: Session, assignment_id: int) -> list[HandGrade]:
    rows = db.execute(
        select(HandGradeRow, User.name)
        .join(User, User.id == HandGradeRow.student_id)
        .where(HandGradeRow.assignment_id == assignment_id)
        .order_by(User.name, HandGradeRow.part)
    ).all()
    return [as_hand_grade(row, name) for row, name in rows]


def grades_yaml(grades: Sequence[HandGrade], assignment: str) -> str:
    """The grades in the form ``grader grade --hand`` reads (docs/formats.md §10)."""
    entries = [g.model_dump(mode="json", exclude_none=True, exclude_defaults=True) for g in grades]
    for entry, grade in zip(entries, grades, strict=True):
        entry.setdefault("student", grade.student)
        entry.setdefault("by", grade.by)
    header = f"# hand grades of {assignment}, exported from the grading service\n"
    return header + (
        yaml.safe_dump(entries, sort_keys=False, allow_unicode=True, width=100) if entries else "[]\n"
    )


def audit_rows(db: Session, assignment: str) -> list[dict[str, Any]]:
    found = []
    for entry, name in db.execute(
        select(AuditEntry, User.name)
        .join(User, User.id == AuditEntry.user_id, isouter=True)
        .where(AuditEntry.action == AUDIT_ACTION)
        .order_by(AuditEntry.id)
    ).all():
        detail = entry.detail or {}
        if detail.get("assignment") != assignment:
            continue
        found.append(
            {
                "at": entry.at.isoformat(),
                "who": name,
                "student": detail.get("student"),
                "part": detail.get("part"),
                "old": detail.get("old"),
                "new": detail.get("new"),
            }
        )
    return found


def audit_csv(rows: list[dict[str, Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["at", "who", "student", "part", "old points", "new points", "old", "new"])
    for row in rows:
        old, new = row["old"] or {}, row["new"] or {}
        writer.writerow(
            [
                row["at"],
                _cell(row["who"]),
                _cell(row["student"]),
                _cell(row["part"]),
                old.get("points", ""),
                new.get("points", ""),
                _cell(json.dumps(row["old"], ensure_ascii=False)),
                _cell(json.dumps(row["new"], ensure_ascii=False)),
            ]
        )
    return buffer.getvalue()


def _cell(value: Any) -> str:
    """A CSV cell a spreadsheet will not run as a formula."""
    return csv_cell("" if value is None else str(value))


# ---- routes ---------------------------------------------------------------------------------


def _service(request: Request) -> Any:
    return request.app.state.service


def _assignment(request: Request, name: str) -> LoadedAssignment:
    found = _service(request).course.get(name)
    if found is None:
        raise ApiError(404, f"no assignment {name!r} in this course")
    return found


def _stale_response(exc: StaleWrite) -> ApiError:
    return ApiError(409, str(exc), conflicts=[c.to_dict() for c in exc.conflicts])


@router.get("/api/v1/assignments/{assignment}/parts/{part}/groups")
def api_groups(assignment: str, part: str, request: Request, user: Staff) -> dict[str, Any]:
    loaded = _assignment(request, assignment)
    with _service(request).db.session(read_only=True) as db:
        groups, versions = part_groups(db, loaded, part)
    spec_part = _part(loaded, part)
    data = [group_json(g, versions, spec_part, part) for g in groups]
    return {"assignment": loaded.name, "part": part, "groups": data}


@router.put("/api/v1/assignments/{assignment}/hand/{student}/{part}")
def api_grade(
    assignment: str, student: str, part: str, body: GradeBody, request: Request, user: Staff
) -> dict[str, Any]:
    loaded = _assignment(request, assignment)
    try:
        with _service(request).db.session() as db:
            rows = write_grades(db, loaded, part, body, {student: body.version}, user)
            return {"student": student, "part": part, "version": rows[0].version}
    except StaleWrite as exc:
        raise _stale_response(exc) from None


@router.post("/api/v1/assignments/{assignment}/parts/{part}/groups/{group_id}")
def api_grade_group(
    assignment: str, part: str, group_id: str, body: GroupBody, request: Request, user: Staff
) -> dict[str, Any]:
    loaded = _assignment(request, assignment)
    with _service(request).db.session(read_only=True) as db:  # the groups: read, not under the write lock
        groups, _ = part_groups(db, loaded, part)
    group = next((g for g in groups if g.id == group_id), None)
    if group is None:
        raise ApiError(404, f"no group {group_id} in {part} any more: reload the groups")
    outside = sorted(set(body.versions) - {m.student for m in group.members})
    if outside:
        raise ApiError(409, f"not in group {group_id} any more: {', '.join(outside)}; reload the groups")
    try:
        with _service(request).db.session() as db:
            rows = write_grades(db, loaded, part, body, dict(body.versions), user)
            return {
                "group": group_id,
                "graded": len(rows),
                "versions": {s: v for s, v in zip(body.versions, (r.version for r in rows), strict=False)},
            }
    except StaleWrite as exc:
        raise _stale_response(exc) from None


@router.get("/api/v1/assignments/{assignment}/hand")
def api_export(assignment: str, request: Request, user: Staff, format: str = "json") -> Response:
    loaded = _assignment(request, assignment)
    with _service(request).db.session(read_only=True) as db:
        grades = export_grades(db, loaded.id)
    if format == "yaml":
        return PlainTextResponse(
            grades_yaml(grades, loaded.name),
            media_type="application/yaml",
            headers={"Content-Disposition": f'attachment; filename="{loaded.name}-hand.yaml"'},
        )
    if format != "json":
        raise ApiError(422, f"unknown format {format!r}; use json or yaml")
    return PlainTextResponse(
        json.dumps(
            {"assignment": loaded.name, "grades": [g.model_dump(mode="json") for g in grades]},
            ensure_ascii=False,
        ),
        media_type="application/json",
    )


@router.get("/api/v1/assignments/{assignment}/hand/audit")
def api_audit(assignment: str, request: Request, user: Staff, format: str = "json") -> Response:
    loaded = _assignment(request, assignment)
    with _service(request).db.session(read_only=True) as db:
        rows = audit_rows(db, loaded.name)
    if format == "csv":
        return PlainTextResponse(
            audit_csv(rows),
            media_type="text/csv",
            headers={"Content-Disposition": f'attachment; filename="{loaded.name}-hand-audit.csv"'},
        )
    if format != "json":
        raise ApiError(422, f"unknown format {format!r}; use json or csv")
    return PlainTextResponse(
        json.dumps({"assignment": loaded.name, "changes": rows}, ensure_ascii=False),
        media_type="application/json",
    )


# ---- the TA's page of a part ----------------------------------------------------------------


@router.get("/ta/assignments/{assignment}/parts", include_in_schema=False)
def ta_parts_page(assignment: str, request: Request, user: Staff) -> Response:
    """Every part, with how many of the counted answers a TA has graded: where to grade next."""
    from grader.service.pages import shell

    loaded = _assignment(request, assignment)
    with _service(request).db.session(read_only=True) as db:
        counted = graded_submissions(db, loaded)
        graded: dict[str, int] = {}
        for _, _, report in counted:
            for result in report.parts:
                if result.hand is not None:
                    graded[result.id] = graded.get(result.id, 0) + 1
    rows = "".join(
        f"<tr><td><a href='/ta/assignments/{escape(loaded.name)}/parts/{escape(address)}'>"
        f"{escape(address)}</a></td><td>{escape(part.type)}</td><td>{shown_points(part.points)}</td>"
        f"<td>{graded.get(address, 0)} of {len(counted)}</td></tr>"
        for address, _, part in loaded.spec.iter_parts()
    )
    body = (
        f"<h1>{escape(loaded.name)}: grade by question</h1>"
        "<table class='summary'><thead><tr><th>Part</th><th>Type</th><th>Points</th>"
        f"<th>Graded by hand</th></tr></thead><tbody>{rows}</tbody></table>"
    )
    return shell(request, user, f"{loaded.name}: grade by question", body)


@router.get("/ta/assignments/{assignment}/parts/{part}", include_in_schema=False)
def ta_part_page(assignment: str, part: str, request: Request, user: Staff) -> Response:
    return part_page(assignment, part, request, user)


def part_page(assignment: str, part: str, request: Request, user: User, message: str = "") -> Response:
    """The TA's page of a part; ``message``: what the server has to say of the last grade (never
    text from the link, which anyone can write).
    """
    from grader.service.pages import csrf_field, shell

    loaded = _assignment(request, assignment)
    spec_part = _part(loaded, part)
    with _service(request).db.session(read_only=True) as db:
        groups, versions = part_groups(db, loaded, part)
    answered = [g for g in groups if g.kind != "missing"]
    graded = sum(g.graded for g in answered)
    total = sum(len(g.members) for g in answered)
    body = [
        f"<h1>{escape(loaded.name)} · {escape(part)}</h1>",
        f"<p class='prompt'>{escape(spec_part.prompt or '')}</p>",
        f"<p id='progress'>{graded} of {counted(total, 'answer')} graded by hand, in "
        f"{counted(len(answered), 'group')} ({escape(spec_part.type)}, "
        f"{counted(spec_part.points, 'point')}).</p>",
    ]
    if message:
        body.append(f"<p class='warning' role='alert'>{escape(message)}</p>")
    for group in groups:
        body.append(_group_section(request, loaded, spec_part, part, group, versions, csrf_field(request)))
    return shell(request, user, f"{loaded.name} {part}: grade by group", "\n".join(body))


def _to_review(mark: HandMark | None) -> bool:
    """The answer, or the verdict under an override, changed since the TA graded it."""
    return mark is not None and (mark.stale or mark.auto_changed)


def _grade_button(answers: int) -> str:
    return "Grade this answer" if answers == 1 else f"Grade these {answers}"


def _group_section(
    request: Request,
    loaded: LoadedAssignment,
    part: PartBase,
    part_id: str,
    group: AnswerGroup,
    versions: dict[str, int],
    csrf: str,
) -> str:
    members = "".join(
        f"<li>{escape(m.student)}: {escape(m.result.status.value)} "
        f"{shown_points(m.result.score)}/{shown_points(m.result.max_score)}"
        + (f" <em>(graded by {escape(m.result.hand.by)})</em>" if m.result.hand is not None else "")
        + (" <strong class='review'>to review</strong>" if _to_review(m.result.hand) else "")
        + "</li>"
        for m in group.members
    )
    slip = (
        f"<p class='slip'>Known slip: {escape(group.misconception.name)}</p>" if group.misconception else ""
    )
    out = [
        f"<section class='group' id='group-{group.id}'>",
        f"<h2>{escape(group.kind)} · {counted(len(group.members), 'answer')}</h2>",
        f"<pre class='answer'>{escape(group.answer) or '(no answer)'}</pre>",
        slip,
        f"<ul>{members}</ul>",
    ]
    hidden = "".join(
        f"<input type='hidden' name='student' value='{escape(m.student)}'>"
        f"<input type='hidden' name='version' value='{versions.get(m.student, 0)}'>"
        for m in group.members
    )
    rubric = "".join(
        f"<label><input type='checkbox' name='rubric' value='{escape(item.id)}'> "
        f"{'+' if item.points >= 0 else ''}{shown_points(item.points)} {escape(item.text)}</label>"
        for item in part.rubric
    )
    reason = (
        "<label>Reason for overriding the automatic verdict "
        "<input type='text' name='reason' required></label>"
        if group.kind not in ("text", "single", "missing")
        else ""
    )
    action = f"/ta/assignments/{escape(loaded.name)}/parts/{escape(part_id)}/groups/{group.id}"
    out.append(
        f"<form class='stack' method='post' action='{action}'>{csrf}{hidden}"
        f"<label>Points (of {shown_points(part.points)}) "
        "<input type='text' name='points' inputmode='decimal'></label>"
        f"{rubric}<label>Comment to the students <textarea name='comment'></textarea></label>{reason}"
        f"<button type='submit'>{_grade_button(len(group.members))}</button></form>"
    )
    out.append("</section>")
    return "\n".join(piece for piece in out if piece)


@router.post("/ta/assignments/{assignment}/parts/{part}/groups/{group_id}", include_in_schema=False)
async def ta_grade_group(
    assignment: str, part: str, group_id: str, request: Request, user: Staff
) -> Response:
    from grader.service.pages import check_csrf

    form = await request.form(max_fields=2000)
    check_csrf(request, str(form.get("csrf") or ""))
    students = [str(s) for s in form.getlist("student")]
    seen = [str(v) for v in form.getlist("version")]
    points_text = str(form.get("points") or "").strip()
    try:
        body = GroupBody(
            points=float(points_text) if points_text else None,
            rubric=[str(r) for r in form.getlist("rubric")],
            comment=str(form.get("comment") or ""),
            reason=str(form.get("reason") or "") or None,
            versions={s: int(v) for s, v in zip(students, seen, strict=True)},
        )
    except (ValueError, ValidationError) as exc:
        raise ApiError(422, f"the grade is not valid: {exc}") from None
    from starlette.concurrency import run_in_threadpool

    page = f"/ta/assignments/{assignment}/parts/{part}"
    try:
        await run_in_threadpool(api_grade_group, assignment, part, group_id, body, request, user)
    except ApiError as exc:
        if exc.status != 409:
            raise
        shown = await run_in_threadpool(part_page, assignment, part, request, user, exc.message)
        shown.status_code = 409
        return shown
    return RedirectResponse(page, status_code=303)
