"""Which of a student's versions counts, which were late, and what the late policy takes off.

All are derived when asked, from when each version was handed in and the due in force
then: a due moved for the class, or for one student, moves them for every page, export
and score made after it. Nothing decided at hand-in time is kept for them.

The late policy (course.yaml, per assignment): ``close``, after which hand-ins are refused
(a student's extension moves their close by as much as their due), and ``penalty``, a share
of the points possible taken off per day or per hour late (each started day or hour counts),
or a fixed share, never below ``floor`` (a share of the points possible; a score already
below it stays): Canvas's own late policy, so a TA used to it reads the same numbers.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Collection, Sequence
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from sqlalchemy import bindparam, func, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from grader.core.report import HandIn, Report, points_value
from grader.service.models import Submission, User, VerdictRow, detached

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


def counted_submissions(
    db: Session,
    assignment_id: int,
    due_for: Callable[[str], dt.datetime | None],
    students: Collection[str] | None = None,
) -> list[tuple[User, Submission, VerdictRow | None]]:
    """Each student's counted version (of ``students``, or of all), by name, with its newest
    verdict (None while it waits to be graded). ``due_for(student)``: the due in force."""
    query = (
        select(Submission, User)
        .join(User, User.id == Submission.user_id)
        .where(Submission.assignment_id == assignment_id)
        .order_by(User.name, Submission.version)
    )
    if students is not None:
        query = query.where(User.name.in_(students))
    rows = db.execute(query).all()
    by_student: dict[str, tuple[User, list[Submission]]] = {}
    for submission, user in rows:
        by_student.setdefault(user.name, (user, []))[1].append(submission)
    chosen = []
    for name, (user, versions) in sorted(by_student.items()):
        counted = counted_version(versions, lambda version: version.created_at, due_for(name))
        if counted is not None:
            chosen.append((user, counted))
    verdicts = newest_verdicts(db, [submission.id for _, submission in chosen])
    return [(user, submission, verdicts.get(submission.id)) for user, submission in chosen]


VERDICTS_A_QUERY = 500  # submissions whose newest verdicts one query reads


def newest_verdicts(db: Session, submission_ids: Sequence[int]) -> dict[int, VerdictRow]:
    """The newest verdict of each of ``submission_ids`` that has one: two queries for each
    :data:`VERDICTS_A_QUERY` of them, not one for each (a class's grading view reads them all)."""
    found: dict[int, VerdictRow] = {}
    for start in range(0, len(submission_ids), VERDICTS_A_QUERY):
        chunk = submission_ids[start : start + VERDICTS_A_QUERY]
        newest = db.scalars(
            select(func.max(VerdictRow.id))
            .where(VerdictRow.submission_id.in_(chunk))
            .group_by(VerdictRow.submission_id)
        ).all()
        if newest:
            found.update(
                (row.submission_id, row)
                for row in db.scalars(select(VerdictRow).where(VerdictRow.id.in_(newest)))
            )
    return found


def newest_verdict(db: Session, submission_id: int) -> VerdictRow | None:
    return db.scalar(
        select(VerdictRow)
        .where(VerdictRow.submission_id == submission_id)
        .order_by(VerdictRow.id.desc())
        .limit(1)
    )


_LATEST_VERDICT = (
    select(*VerdictRow.__table__.columns)
    .where(VerdictRow.submission_id == bindparam("submission_id"))
    .order_by(VerdictRow.id.desc())
    .limit(1)
)


def latest_verdict(db: Session | Connection, submission_id: int) -> VerdictRow | None:
    row = db.execute(_LATEST_VERDICT, {"submission_id": submission_id}).first()
    return None if row is None else detached(VerdictRow, row)
