"""Rubric items edited or added from the grading view, applied to every grade given with them.

A hand grade keeps the ids of its rubric items and, when the TA left the points empty, takes
its points from them as the rubric says now: an item whose points change moves every such
score. :func:`moves` lists them for the TA to confirm; :func:`apply_edit` puts the edit in force
in one transaction under the lock every hand-grade write takes (all the assignment's students):
the items in force (``assignments.policy``), a new verdict for each student graded with the
item, an audit row for each of those grades and one for the edit. The items live in
``problems/rubric.yaml`` (in git with the problem files), written just before the commit.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from grader.core.parts import PartBase, RubricItem
from grader.core.report import points_value
from grader.course.files import LoadedAssignment, spec_with_rubric
from grader.course.grades import AUDIT_ACTION
from grader.course.rubric import ItemEdit, Move, awarded, edited
from grader.loading import (
    RUBRIC_FILE,
    ProblemFileError,
    parse_problem_set,
    with_rubric_item,
    write_rubric_item,
)
from grader.service.crud.audit import audit
from grader.service.crud.hand_grades import (
    as_hand_grade,
    grade_dict,
    grade_rows,
    in_force,
    of_part,
    part_of,
    refresh_verdicts,
)
from grader.service.db import lock_students
from grader.service.errors import ApiError
from grader.service.models import Assignment, Submission, User, utcnow

RUBRIC_AUDIT = "rubric-edit"
FILE_SOURCE = f"problems/{RUBRIC_FILE}"  # the audit's source of an edit the file put in force


def moves(db: Session, loaded: LoadedAssignment, part_id: str, item: RubricItem) -> list[Move]:
    """Every grade of the part given with ``item``, its points now and with ``item`` as edited."""
    return _moves(db, loaded.id, part_id, part_of(loaded, part_id), item)


def _moves(db: Session, assignment_id: int, part_id: str, part: PartBase, item: RubricItem) -> list[Move]:
    after = edited(part, item)
    found = []
    for row, name in grade_rows(db, *of_part(assignment_id, part_id)):
        if item.id in (row.rubric or ()):
            grade = as_hand_grade(row, name)
            found.append(Move(name, awarded(grade, part), awarded(grade, after), row.points is not None))
    return found


def read_edit(form: dict[str, str]) -> ItemEdit:
    """The edit a form sends (id, points, text, was_points, was_text); 422 when not valid."""
    try:
        was = form.get("was_points", "").strip()
        return ItemEdit(
            item=RubricItem(
                id=form.get("id", "").strip(), points=float(form.get("points", "")), text=form["text"]
            ),
            was_points=float(was) if was else None,
            was_text=form.get("was_text") if was else None,
        )
    except (KeyError, ValueError, ValidationError) as exc:
        raise ApiError(422, f"the rubric item is not valid: {exc}") from None


def check_seen(loaded: LoadedAssignment, part_id: str, edit: ItemEdit) -> RubricItem | None:
    """The item in force now, when it is the one the TA saw (409 when it changed meanwhile)."""
    now = next((i for i in part_of(loaded, part_id).rubric if i.id == edit.item.id), None)
    if edit.was_points is None:
        if now is not None:
            raise ApiError(409, f"{part_id} has an item {now.id} already: edit it, or choose another id")
        return None
    if now is None or (points_value(now.points), now.text) != (points_value(edit.was_points), edit.was_text):
        raise ApiError(409, f"item {edit.item.id} of {part_id} changed meanwhile: reload and edit it again")
    return now


def apply_edit(db: Session, loaded: LoadedAssignment, part_id: str, edit: ItemEdit, by: User) -> list[Move]:
    """Put the edit in force (see the module's text); the grades it applies to."""
    students = db.scalars(select(Submission.user_id).where(Submission.assignment_id == loaded.id)).all()
    lock_students(db, loaded.id, students)  # what write_grades takes: no grade is given meanwhile
    loaded = in_force(db, loaded)
    before = check_seen(loaded, part_id, edit)
    row = db.get(Assignment, loaded.id)
    if row is None:
        raise ApiError(404, f"no assignment {loaded.name} any more")
    new = edit.item.model_dump()
    rubric = {part: list(items) for part, items in (loaded.rubric or {}).items()}
    rubric[part_id] = with_rubric_item(rubric.get(part_id, []), new)
    try:
        spec = parse_problem_set(row.problem_text, row.source_path, {loaded.name: rubric})
    except ProblemFileError as exc:
        raise ApiError(422, f"the rubric item does not load: {exc.problems[0].message}") from None
    found = moves(db, loaded, part_id, edit.item)
    row.policy = {**(row.policy or {}), "rubric": rubric}
    row.updated_at = utcnow()
    after = dataclasses.replace(loaded, spec=spec, rubric=rubric)
    change = {"item": edit.item.id, "old": before.model_dump() if before else None, "new": new}
    for user in db.scalars(select(User).where(User.name.in_([m.student for m in found]))):
        refresh_verdicts(db, after, user)  # a new verdict for each student graded with the item
    _audit_moves(db, by.id, row, part_id, found, change)
    db.flush()
    try:
        write_rubric_item(Path(row.source_path).parent, loaded.name, part_id, new)
    except ProblemFileError as exc:  # edited by hand: its items are not known, so none is written
        message = f"problems/{RUBRIC_FILE} does not load ({exc.problems[0].message}): fix it, then edit again"
        raise ApiError(409, message) from None
    return found


def _audit_moves(
    db: Session, by_id: int | None, row: Assignment, part_id: str, found: list[Move], change: dict[str, Any]
) -> None:
    """An audit row for each grade the edit moves (its points before and after), then the
    edit's own row."""
    grades = {name: grade for grade, name in grade_rows(db, *of_part(row.id, part_id))}
    for move in found:
        grade = grade_dict(grades[move.student])
        audit(
            db,
            by_id,
            AUDIT_ACTION,
            assignment=row.name,
            student=move.student,
            part=part_id,
            old={**grade, "awarded": move.old},
            new={**grade, "awarded": move.new},
            rubric_edit=change,
        )
    moved = sum(1 for m in found if m.moved)
    audit(
        db, by_id, RUBRIC_AUDIT, assignment=row.name, part=part_id, **change, grades=len(found), moved=moved
    )


def audit_file_edit(
    db: Session, row: Assignment, before: Mapping[str, Any], after: Mapping[str, Any]
) -> None:
    """The audit rows of rubric items put in force from problems/rubric.yaml (edited by hand, or
    by a server stopped before its commit), as the page's edit writes them, by nobody but the file."""
    spec = spec_with_rubric(row.problem_text, row.source_path, row.name, before)
    parts = {address: part for address, _, part in spec.iter_parts()}
    for part_id, items in after.items():
        was = {item.get("id"): item for item in before.get(part_id, [])}
        for written in items:
            if part_id not in parts or was.get(written.get("id")) == written:
                continue
            item = RubricItem.model_validate(written)
            found = _moves(db, row.id, part_id, parts[part_id], item)
            change = {
                "item": item.id,
                "old": was.get(item.id),
                "new": item.model_dump(),
                "source": FILE_SOURCE,
            }
            _audit_moves(db, None, row, part_id, found, change)
