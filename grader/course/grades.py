"""A hand grade as a TA sends it (a grade, a group's grade), a stale write, an answer group as the
API shows it and the grades' audit log as CSV; the table and its writes are
:mod:`grader.service.crud.hand_grades`."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from grader.core.parts import MAX_POINTS, PartBase
from grader.core.report import PartResult, points_value
from grader.hand.apply import auto_pin
from grader.reporting.answer_groups import AnswerGroup, mistakes_entry
from grader.reporting.escape import csv_cell

AUDIT_ACTION = "hand-grade"
MAX_ID = 2**63 - 1  # the largest id a database row has (PostgreSQL's bigint, SQLite's integer)
AUDITED = ("student", "part", "old", "new")  # what an audit row of a grade says


class _Grade(BaseModel):
    """A grade as a TA sends it (points, rubric items, a comment, a reason)."""

    model_config = ConfigDict(extra="forbid")

    points: float | None = Field(None, ge=0, le=MAX_POINTS, allow_inf_nan=False)
    rubric: list[str] = Field(default_factory=list)
    comment: str = Field("", max_length=20_000)
    reason: str | None = Field(None, max_length=5_000)


class GradeBody(_Grade):
    """What a TA sends: the grade, and the version of it they saw (0: none yet)."""

    version: int = Field(0, ge=0)


class GroupBody(_Grade):
    """A grade for every student of a group: ``versions`` maps each student the TA saw in the
    group to the version of their grade the TA saw (0: none yet)."""

    versions: dict[str, int]


@dataclass(frozen=True)
class Conflict:
    """A grade changed since the TA saw it, as a 409 names it."""

    student: str
    part: str
    your_version: int
    version: int
    changed_by: str
    changed_at: str

    def describe(self) -> str:
        return (
            f"{self.student} {self.part} was changed by {self.changed_by} at {self.changed_at} (version "
            f"{self.version}; you saw version {self.your_version}): reload and grade again"
        )


class StaleWrite(Exception):
    def __init__(self, conflicts: list[Conflict]):
        super().__init__("; ".join(c.describe() for c in conflicts))
        self.conflicts = conflicts


def pinned(result: PartResult | None) -> str | None:
    """A new hand grade's ``auto`` pin: the automatic verdict it overrides (the one an earlier
    grade overrode, kept); None for a part graded by hand only."""
    if result is None:
        return None
    mark = result.hand
    if mark is not None and mark.auto_status is not None:
        return f"{mark.auto_status.value} {points_value(mark.auto_score or 0)}"
    if mark is not None or result.status.value == "manual":
        return None
    return auto_pin(result)


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


def audit_csv(rows: list[dict[str, Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["at", "who", "student", "part", "old points", "new points", "old", "new"])
    for row in rows:
        who = [_cell(row[key]) for key in ("who", "student", "part")]
        grades = [_cell(json.dumps(row[key], ensure_ascii=False)) for key in ("old", "new")]
        writer.writerow([row["at"], *who, _points(row["old"] or {}), _points(row["new"] or {}), *grades])
    return buffer.getvalue()


def _points(grade: dict[str, Any]) -> Any:
    """The points a grade gives: written by the TA, else from its rubric items (a rubric
    edit's audit row has them as ``awarded``)."""
    points = grade.get("points")
    return points if points is not None else grade.get("awarded", "")


def _cell(value: Any) -> str:
    """A CSV cell a spreadsheet will not run as a formula."""
    return csv_cell("" if value is None else str(value))
