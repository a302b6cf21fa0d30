"""A hand grade as a TA sends it (a grade, a group's grade) and a stale write; the table and its
writes are :mod:`grader.service.crud.hand_grades`."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field

from grader.core.parts import MAX_POINTS

AUDIT_ACTION = "hand-grade"


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
