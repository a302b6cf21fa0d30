"""The late policy of course.yaml: which version counts, whether it is late, what ``penalty``
takes off (Canvas's own policy: a share of the points possible per day or hour begun, or fixed,
never below ``floor``), and when ``close`` refuses a student's hand-ins (moved by their extension)."""

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


def with_hand_in(
    report: Report, version: int, handed_in: dt.datetime, due: dt.datetime | None, penalty: Penalty | None
) -> Report:
    """``report`` of a counted version, carrying its :class:`HandIn` (its score after the penalty)."""
    late_by = handed_in - due if due is not None and is_late(handed_in, due) else dt.timedelta(0)
    report.hand_in = HandIn(
        version=version,
        handed_in=handed_in.astimezone(dt.UTC).isoformat(),
        late_seconds=late_by.total_seconds(),
        penalty=penalty_points(penalty, late_by, report.points_given, report.max_score),
        rule=penalty.describe() if penalty is not None else "",
    )
    return report


def counted_version(
    versions: Sequence[VersionT], handed_in: Callable[[VersionT], dt.datetime], due: dt.datetime | None
) -> VersionT | None:
    """Of ``versions`` (oldest first): the newest handed in by ``due``; the newest when all are late."""
    on_time = [version for version in versions if not is_late(handed_in(version), due)]
    chosen = on_time or versions
    return chosen[-1] if chosen else None
