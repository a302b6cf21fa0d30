"""Hand grades and the reports they make: versioned writes, answer groups, export and audit."""

from __future__ import annotations

import dataclasses
from collections.abc import Collection
from functools import lru_cache, partial
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from grader.core.integrity import derived_key, seal
from grader.core.parts import PartBase
from grader.core.report import Report
from grader.core.submission import Submission as ReadSubmission
from grader.course.files import LoadedAssignment, spec_with_rubric
from grader.course.grades import AUDIT_ACTION, AUDITED, Conflict, GradeBody, GroupBody, StaleWrite, pinned
from grader.course.handed_in import read_handed_in
from grader.hand import HandGrade, answer_digests, apply_hand_grades, without_hand_grades
from grader.hand.book import entry_problems
from grader.hand.variant_groups import own_part
from grader.reporting.answer_groups import AnswerGroup, GivenAnswer, answer_groups
from grader.service.blobs import dumps, loads
from grader.service.crud import verdicts
from grader.service.crud.audit import audit, audit_entries
from grader.service.crud.verdicts import newest_verdict
from grader.service.db import lock_students
from grader.service.errors import ApiError
from grader.service.models import Assignment, HandGradeRow, Submission, User, VerdictRow, utcnow

READ_CACHE_SIZE = 1024  # versions kept read (about 20 KiB each): a large class's counted versions


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


def grade_rows(db: Session, *conditions: Any) -> list[tuple[HandGradeRow, str]]:
    """Hand grades matching ``conditions``, with their student's name, by name and part."""
    query = select(HandGradeRow, User.name).join(User, User.id == HandGradeRow.student_id).where(*conditions)
    return [(row, name) for row, name in db.execute(query.order_by(User.name, HandGradeRow.part))]


_ANY_HAND_GRADE = (
    select(HandGradeRow.id)
    .where(
        HandGradeRow.assignment_id == bindparam("assignment_id"),
        HandGradeRow.student_id == bindparam("student_id"),
    )
    .limit(1)
)


def has_hand_grades(db: Session, assignment_id: int, student_id: int) -> bool:
    """Whether the student has a hand grade in the assignment: built once and run through Core
    in the session's transaction (each verdict asks)."""
    wanted = {"assignment_id": assignment_id, "student_id": student_id}
    return db.connection().execute(_ANY_HAND_GRADE, wanted).first() is not None


def read_answers(submission: Submission, student: str) -> ReadSubmission:
    """The answers of a version as grader reads them (shared: never change it)."""
    return _read_version(submission.filename, submission.content_hash, student, submission.content)


@lru_cache(maxsize=READ_CACHE_SIZE)
def _read_version(filename: str, content_hash: str, student: str, content: bytes) -> ReadSubmission:
    """A version never changes, so the grading view reads each once (reading is most of its time)."""
    return read_handed_in(filename, content, student)


def with_hand_grades(db: Session, loaded: LoadedAssignment, submission: Submission, report: Report) -> Report:
    student = db.get(User, submission.user_id)
    report = without_hand_grades(report)
    mine = HandGradeRow.assignment_id == loaded.id, HandGradeRow.student_id == submission.user_id
    grades = [as_hand_grade(row, name) for row, name in grade_rows(db, *mine)]
    if student is None or not grades:
        return report
    parts = {address: part for address, _, part in loaded.spec.iter_parts()}
    digests = answer_digests(loaded.spec, read_answers(submission, student.name))
    return apply_hand_grades(report, grades, parts, digests)


def in_force(db: Session, loaded: LoadedAssignment) -> LoadedAssignment:
    """``loaded`` with the rubric items in force now in the database: read under the students'
    lock, a grade written just after a rubric edit is counted with the edited items."""
    row = db.get(Assignment, loaded.id)
    rubric = ((row.policy or {}).get("rubric") or {}) if row is not None else loaded.rubric
    if row is None or rubric == loaded.rubric:
        return loaded
    spec = spec_with_rubric(row.problem_text, row.source_path, row.name, rubric)
    return dataclasses.replace(loaded, spec=spec, rubric=rubric)


def refresh_verdicts(db: Session, loaded: LoadedAssignment, student: User) -> None:
    """A new verdict row, with the grades as now, for each version the student handed in."""
    for submission in db.scalars(select(Submission).filter_by(assignment_id=loaded.id, user_id=student.id)):
        latest = newest_verdict(db, submission.id)
        report = loads(latest.report) if latest is not None else None
        if latest is None or not isinstance(report, Report):
            continue
        report = with_hand_grades(db, loaded, submission, report)
        scores = {"score": report.score, "max_score": report.max_score, "report": dumps(report)}
        db.add(VerdictRow(submission_id=submission.id, problem_hash=latest.problem_hash, **scores))


def counted_submissions(
    db: Session, loaded: LoadedAssignment, students: Collection[str] | None = None
) -> list[tuple[User, Submission, Report | None]]:
    """Each student's counted version (:mod:`grader.service.crud.verdicts`; of ``students``, or of
    all) and its newest report, None while that version waits to be graded."""
    found = []
    for user, submission, verdict in verdicts.counted_submissions(db, loaded.id, loaded.due_for, students):
        report = loads(verdict.report) if verdict is not None else None
        if isinstance(report, Report):
            report.student = report.folder = user.name
        found.append((user, submission, report if isinstance(report, Report) else None))
    return found


def graded_submissions(db: Session, loaded: LoadedAssignment) -> list[tuple[User, Submission, Report]]:
    return [
        (user, submission, report) for user, submission, report in counted_submissions(db, loaded) if report
    ]


# A grade with neither points nor a rubric item: nothing to save (the grading view says so).
NOTHING_GIVEN = "nothing saved: give points (0 for none) or tick a rubric item"


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
    lock_students(db, loaded.id, db.scalars(select(User.id).where(User.name.in_(seen))).all())
    loaded = in_force(db, loaded)
    part = part_of(loaded, part_id)
    counted = {
        user.name: (user, submission, report)
        for user, submission, report in counted_submissions(db, loaded, list(seen))
    }
    unknown = [name for name in seen if name not in counted]
    if unknown:
        raise ApiError(404, f"no submission of {', '.join(unknown)} for {loaded.name}")
    if grade.points is None and not grade.rubric:
        raise ApiError(422, NOTHING_GIVEN)
    given = {**grade.model_dump(include={"points", "rubric", "comment"}), "reason": grade.reason or None}
    problems = entry_problems(HandGrade(student="-", part=part_id, by=by.name, **given), part)
    if problems:
        raise ApiError(422, f"{part_id}: {'; '.join(problems)}")
    conflicts, written = [], []
    for name, version in seen.items():
        student, submission, report = counted[name]
        result = next((r for r in report.parts if r.id == part_id), None) if report else None
        digests = answer_digests(loaded.spec, read_answers(submission, name))
        values = {**given, "grader_id": by.id, "grader": by.name, "answer_hash": digests.get(part_id)}
        values |= {"auto": pinned(result), "updated_at": utcnow()}
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


def hand_grade(db: Session, assignment_id: int, student_id: int, part: str) -> HandGradeRow | None:
    return db.scalar(
        select(HandGradeRow).filter_by(assignment_id=assignment_id, student_id=student_id, part=part)
    )


def _write_one(
    db: Session, loaded: LoadedAssignment, student: User, part_id: str, seen: int, values: dict[str, Any]
) -> tuple[HandGradeRow | None, Conflict | None]:
    current = hand_grade(db, loaded.id, student.id, part_id)
    old = grade_dict(current) if current is not None else None
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
    audit(
        db,
        values["grader_id"],
        AUDIT_ACTION,
        assignment=loaded.name,
        student=student.name,
        part=part_id,
        old=old,
        new=grade_dict(row),
    )
    return row, None


def _conflict_with(db: Session, loaded: LoadedAssignment, student: User, part_id: str, seen: int) -> Conflict:
    row = hand_grade(db, loaded.id, student.id, part_id)
    if row is None:
        return Conflict(student.name, part_id, seen, 0, "nobody", "")
    return Conflict(student.name, part_id, seen, row.version, row.grader, row.updated_at.isoformat())


def grade_dict(row: HandGradeRow) -> dict[str, Any]:
    return {
        "points": row.points,
        "rubric": list(row.rubric or ()),
        "comment": row.comment,
        "reason": row.reason,
        "by": row.grader,
        "version": row.version,
        "at": row.updated_at.isoformat() if row.updated_at else None,
    }


def part_of(loaded: LoadedAssignment, part_id: str) -> PartBase:
    part = next((p for address, _, p in loaded.spec.iter_parts() if address == part_id), None)
    if part is None:
        known = ", ".join(address for address, _, _ in loaded.spec.iter_parts())
        raise ApiError(404, f"{loaded.name} has no part {part_id!r} ({known})")
    return part


def part_groups(
    db: Session,
    loaded: LoadedAssignment,
    part_id: str,
    graded: list[tuple[User, Submission, Report]] | None = None,
) -> tuple[list[AnswerGroup], dict[str, int]]:
    """The part's answer groups over the counted versions (``graded``, when the caller has
    read them already), and each student's grade version."""
    part = part_of(loaded, part_id)
    spec = loaded.spec
    given = []
    for user, submission, report in graded if graded is not None else graded_submissions(db, loaded):
        result = next((r for r in report.parts if r.id == part_id), None)
        if result is None:
            continue
        read = read_answers(submission, user.name)
        matched = read.matched_to(address for address, _, _ in loaded.spec.iter_parts())
        answer = None if read.load_error else matched.answers.get(part_id)
        variant = report.variant
        given.append(
            GivenAnswer(user.name, user.name, result, answer, own_part(spec, part_id, variant), variant)
        )
    versions = {name: row.version for row, name in grade_rows(db, *of_part(loaded.id, part_id))}
    # a ``page`` group's id seals the student's name (as anonymous grading's pseudonyms do)
    key = derived_key("whose pages an answer group is")
    sealed = partial(seal, key, str(loaded.id), loaded.name)  # not from the roster
    return answer_groups(part, given, written=spec.raw_parts().get(part_id), sealed=sealed), versions


def of_part(assignment_id: int, part_id: str) -> tuple[Any, ...]:
    return HandGradeRow.assignment_id == assignment_id, HandGradeRow.part == part_id


def group_grades(db: Session, loaded: LoadedAssignment, part_id: str) -> dict[str, dict[str, Any]]:
    return {name: grade_dict(row) for row, name in grade_rows(db, *of_part(loaded.id, part_id))}


def export_grades(db: Session, assignment_id: int) -> list[HandGrade]:
    return [
        as_hand_grade(row, name) for row, name in grade_rows(db, HandGradeRow.assignment_id == assignment_id)
    ]


def audit_rows(db: Session, assignment: str) -> list[dict[str, Any]]:
    found = []
    for entry, name in audit_entries(db, AUDIT_ACTION):
        detail = entry.detail or {}
        if detail.get("assignment") != assignment:
            continue
        row = {"at": entry.at.isoformat(), "who": name, **{key: detail.get(key) for key in AUDITED}}
        if detail.get("rubric_edit"):  # the grade's points moved with its rubric item's edit
            row["rubric_edit"] = detail["rubric_edit"]
        found.append(row)
    return found
