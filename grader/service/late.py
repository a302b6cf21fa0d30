"""The late policy (course.yaml, per assignment), worked out from when a version was handed in
and the due in force: which version counts, whether it is late, and what ``penalty`` takes off.

``close``: hand-ins are refused after it (a student's extension moves their close by as much
as their due). ``penalty``: a share of the points possible taken off per day or per hour late
(each started day or hour counts), or a fixed share, never below ``floor`` (a share of the
points possible; a score already below it stays): Canvas's own late policy, so a TA used to it
reads the same numbers. Nothing here reads the database (:mod:`grader.service.crud.verdicts` does).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from grader.core.report import HandIn, Report, points_value

VersionT = TypeVar("VersionT")


def is_late(handed_in: dt.datetime, due: dt.datetime | None) -> bool:
    return due is not None and handed_in > due


class Penalty(BaseModel):
    """course.yaml's ``penalty:`` of an assignment, in percent of the points possible:
    ``{per_day: 10%, floor: 50%}``, ``{per_hour: 1%}`` or ``{fixed: 20%}``."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    per_day: float | None = Field(None, ge=0, le=100)
    per_hour: float | None = Field(None, ge=0, le=100)
    fixed: float | None = Field(None, ge=0, le=100)
    floor: float = Field(0, ge=0, le=100)

    @field_validator("per_day", "per_hour", "fixed", "floor", mode="before")
    @classmethod
    def _percent(cls, value: Any) -> Any:
        """``10%`` or ``10``: ten percent."""
        if isinstance(value, str) and value.strip().endswith("%"):
            return value.strip()[:-1].strip()
        return value

    @model_validator(mode="after")
    def _one_rule(self) -> Penalty:
        given = [name for name in ("per_day", "per_hour", "fixed") if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError("give one of per_day, per_hour or fixed (a percentage of the points possible)")
        return self

    def share(self, late_by: dt.timedelta) -> float:
        """The percentage of the points possible taken off a hand-in ``late_by`` late."""
        if late_by <= dt.timedelta(0):
            return 0.0
        if self.per_day is not None:
            return min(100.0, self.per_day * math.ceil(late_by / dt.timedelta(days=1)))
        if self.per_hour is not None:
            return min(100.0, self.per_hour * math.ceil(late_by / dt.timedelta(hours=1)))
        return self.fixed or 0.0

    def describe(self) -> str:
        if self.per_day is not None:
            rule = f"{points_value(self.per_day)}% of the points a day late (each day begun)"
        elif self.per_hour is not None:
            rule = f"{points_value(self.per_hour)}% of the points an hour late (each hour begun)"
        else:
            rule = f"{points_value(self.fixed or 0)}% of the points when late"
        return rule + (f", down to {points_value(self.floor)}% at least" if self.floor else "")


def penalty_points(
    penalty: Penalty | None, late_by: dt.timedelta, points_given: float, possible: float
) -> float:
    """The points taken off ``points_given`` (of ``possible``) for a hand-in ``late_by`` late."""
    if penalty is None or late_by <= dt.timedelta(0):
        return 0.0
    after = max(points_given - penalty.share(late_by) / 100 * possible, penalty.floor / 100 * possible)
    return round(max(0.0, points_given - after), 6)


def close_for(
    close: dt.datetime | None, due: dt.datetime | None, students_due: dt.datetime | None
) -> dt.datetime | None:
    """A student's close: the assignment's, moved by as much as their extension moves their due."""
    if close is None or due is None or students_due is None or students_due <= due:
        return close
    return close + (students_due - due)


def hand_in_mark(
    version: int,
    handed_in: dt.datetime,
    due: dt.datetime | None,
    penalty: Penalty | None,
    points_given: float,
    possible: float,
) -> HandIn:
    """The counted version's :class:`HandIn`: its lateness and the penalty the policy takes."""
    late_by = handed_in - due if due is not None and is_late(handed_in, due) else dt.timedelta(0)
    return HandIn(
        version=version,
        handed_in=handed_in.astimezone(dt.UTC).isoformat(),
        late_seconds=late_by.total_seconds(),
        penalty=penalty_points(penalty, late_by, points_given, possible),
        rule=penalty.describe() if penalty is not None else "",
    )


def with_hand_in(
    report: Report, version: int, handed_in: dt.datetime, due: dt.datetime | None, penalty: Penalty | None
) -> Report:
    """``report`` of a counted version, carrying its :class:`HandIn` (so its score is after the penalty)."""
    report.hand_in = hand_in_mark(version, handed_in, due, penalty, report.points_given, report.max_score)
    return report


def counted_version(
    versions: Sequence[VersionT], handed_in: Callable[[VersionT], dt.datetime], due: dt.datetime | None
) -> VersionT | None:
    """Of ``versions`` (oldest first): the newest handed in by ``due``; the newest when all are late."""
    on_time = [version for version in versions if not is_late(handed_in(version), due)]
    chosen = on_time or versions
    return chosen[-1] if chosen else None
