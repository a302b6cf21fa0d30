"""The LTI tables, read and written: the login states of launches, the LMS users and resource
links a launch records, the line items and members of LMS courses, and the outbox of scores
the grade passback posts (:mod:`grader.service.lti`)."""

from __future__ import annotations

import datetime as dt
from typing import Any, TypeVar

from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from grader.service.models import (
    Assignment,
    Base,
    LtiLineItem,
    LtiLink,
    LtiLoginState,
    LtiMember,
    LtiScore,
    LtiUser,
    ScoreStatus,
    Submission,
    User,
    utcnow,
)

Row = TypeVar("Row", bound=Base)


def find_or_add(db: Session, model: type[Row], keys: dict[str, Any], **fields: Any) -> Row:
    """The row of ``model`` with ``keys``, added (with ``fields``) when there is none. Two
    requests adding the same row at once: the loser's insert is undone (a savepoint) and it
    reads the winner's."""
    statement = select(model).filter_by(**keys)
    row = db.scalar(statement)
    if row is not None:
        return row
    try:
        with db.begin_nested():
            row = model(**keys, **fields)
            db.add(row)
            db.flush()
    except IntegrityError:
        row = db.scalar(statement)
        if row is None:
            raise
    return row


# Launches: their login states, the LMS users and resource links they record


def forget_states_before(db: Session, cutoff: dt.datetime) -> None:
    db.execute(delete(LtiLoginState).where(LtiLoginState.created_at < cutoff))


def login_state(db: Session, state: str) -> LtiLoginState | None:
    return db.scalar(select(LtiLoginState).where(LtiLoginState.state == state))


def use_state(db: Session, state: str) -> bool:
    """Mark ``state`` used; False when it was already used, or is not known."""
    used = db.execute(
        update(LtiLoginState)
        .where(LtiLoginState.state == state, LtiLoginState.used_at.is_(None))
        .values(used_at=utcnow())
    )
    return bool(used.rowcount)  # type: ignore[attr-defined]


def lti_user(db: Session, issuer: str, subject: str) -> LtiUser | None:
    """The link of an LMS user to their service user, made by their first launch."""
    return db.scalar(select(LtiUser).where(LtiUser.issuer == issuer, LtiUser.subject == subject))


def name_taken(db: Session, course_id: int, name: str) -> bool:
    return db.scalar(select(User.id).where(User.course_id == course_id, User.name == name)) is not None


def resource_link(db: Session, issuer: str, deployment_id: str, link_id: str) -> LtiLink | None:
    return db.scalar(
        select(LtiLink).where(
            LtiLink.issuer == issuer,
            LtiLink.deployment_id == deployment_id,
            LtiLink.resource_link_id == link_id,
        )
    )


# The LMS courses' rosters


def roster_links(db: Session) -> list[LtiLink]:
    """The resource links that announced a memberships URL in an LMS course, oldest first."""
    return list(
        db.scalars(
            select(LtiLink)
            .where(LtiLink.memberships_url.is_not(None), LtiLink.context_id.is_not(None))
            .order_by(LtiLink.updated_at)
        )
    )


def members_not_listed(
    db: Session, issuer: str, context_id: str, now: dt.datetime, left: str
) -> list[LtiMember]:
    """The members of the LMS course a fetch at ``now`` did not list, not yet marked ``left``."""
    return list(
        db.scalars(
            select(LtiMember).where(
                LtiMember.issuer == issuer,
                LtiMember.context_id == context_id,
                or_(LtiMember.synced_at.is_(None), LtiMember.synced_at < now),
                LtiMember.status != left,
            )
        )
    )


def synced_members(db: Session) -> list[LtiMember]:
    """The members of the LMS courses whose roster was fetched, oldest news first."""
    synced = set(
        db.execute(
            select(LtiMember.issuer, LtiMember.context_id).where(LtiMember.synced_at.is_not(None)).distinct()
        ).all()
    )
    members = db.scalars(select(LtiMember).order_by(LtiMember.updated_at, LtiMember.id))
    return [member for member in members if (member.issuer, member.context_id) in synced]


def linked_users(db: Session) -> dict[tuple[str, str], str]:
    """The service user name of each LMS user a launch linked, by (issuer, LMS user id)."""
    rows = db.execute(
        select(LtiUser.issuer, LtiUser.subject, User.name).join(User, User.id == LtiUser.user_id)
    )
    return {(issuer, subject): name for issuer, subject, name in rows}


def user_names(db: Session) -> set[str]:
    return set(db.scalars(select(User.name)))


# The scores each LMS student has, and where they go


def line_items_of(db: Session, assignment: str) -> list[LtiLineItem]:
    return list(db.scalars(select(LtiLineItem).where(LtiLineItem.assignment == assignment)))


def last_score(db: Session, line_item_id: int, subject: str) -> LtiScore | None:
    """The newest score of the line item and LMS user in the outbox (posted or not)."""
    return db.scalar(
        select(LtiScore)
        .where(LtiScore.line_item_id == line_item_id, LtiScore.subject == subject)
        .order_by(LtiScore.id.desc())
        .limit(1)
    )


def versions_of(db: Session, assignment_id: int, user_id: int) -> list[Any]:
    """(id, created_at) of each version the user handed in for the assignment, oldest first."""
    return list(
        db.execute(
            select(Submission.id, Submission.created_at)
            .where(Submission.assignment_id == assignment_id, Submission.user_id == user_id)
            .order_by(Submission.version)
        ).all()
    )


def assignments(db: Session) -> list[Assignment]:
    return list(db.scalars(select(Assignment)))


def targets(db: Session, user_id: int, assignment: str) -> list[tuple[LtiLineItem, str]]:
    """(line item, LMS user id) for each LMS course the user is in that links ``assignment``."""
    rows = db.execute(
        select(LtiLineItem, LtiUser.subject)
        .join(LtiUser, LtiUser.issuer == LtiLineItem.issuer)
        .join(
            LtiMember,
            (LtiMember.issuer == LtiLineItem.issuer)
            & (LtiMember.context_id == LtiLineItem.context_id)
            & (LtiMember.subject == LtiUser.subject),
        )
        .where(LtiUser.user_id == user_id, LtiLineItem.assignment == assignment)
        .order_by(LtiLineItem.id)
    ).all()
    return [(item, subject) for item, subject in rows]


def students_of(db: Session, item: LtiLineItem) -> list[tuple[str, int]]:
    """(LMS user id, service user id) of the members of the line item's LMS course."""
    rows = db.execute(
        select(LtiUser.subject, LtiUser.user_id)
        .join(
            LtiMember,
            (LtiMember.issuer == LtiUser.issuer) & (LtiMember.subject == LtiUser.subject),
        )
        .where(LtiUser.issuer == item.issuer, LtiMember.context_id == item.context_id)
    ).all()
    return [(subject, user_id) for subject, user_id in rows]


# The grade passback's outbox


def due_scores(db: Session, now: dt.datetime, limit: int) -> list[int]:
    """The scores to post now (waiting, or whose posting's lease ran out), oldest first."""
    return list(
        db.scalars(
            select(LtiScore.id)
            .where(
                LtiScore.status.in_((ScoreStatus.PENDING, ScoreStatus.SENDING)),
                LtiScore.next_attempt_at <= now,
            )
            .order_by(LtiScore.id)
            .limit(limit)
        )
    )


def claim_score(
    db: Session, row: LtiScore, now: dt.datetime, stamp: dt.datetime, lease_until: dt.datetime
) -> bool:
    """Mark the score being posted, unless another server took it since ``row`` was read."""
    claimed = db.execute(
        update(LtiScore)
        .where(LtiScore.id == row.id, LtiScore.status == row.status, LtiScore.next_attempt_at <= now)
        .values(status=ScoreStatus.SENDING, created_at=stamp, next_attempt_at=lease_until)
    )
    return claimed.rowcount == 1  # type: ignore[attr-defined]


def superseded(db: Session, row: LtiScore) -> bool:
    """A later score of the same line item and user exists (posted or waiting)."""
    later = db.scalar(
        select(func.count())
        .select_from(LtiScore)
        .where(
            LtiScore.line_item_id == row.line_item_id,
            LtiScore.subject == row.subject,
            LtiScore.id > row.id,
            LtiScore.status != ScoreStatus.SUPERSEDED,
        )
    )
    return bool(later)


def _same_target(row: LtiScore) -> Any:
    return and_(LtiScore.line_item_id == row.line_item_id, LtiScore.subject == row.subject)


def earlier_in_flight(db: Session, row: LtiScore, now: dt.datetime) -> bool:
    """An earlier score of the same line item and user is being posted (its lease runs)."""
    found = db.scalar(
        select(LtiScore.id)
        .where(
            _same_target(row),
            LtiScore.id < row.id,
            LtiScore.status == ScoreStatus.SENDING,
            LtiScore.next_attempt_at > now,
        )
        .limit(1)
    )
    return found is not None


def last_stamp(db: Session, row: LtiScore) -> dt.datetime:
    """The latest timestamp the LMS may have of this line item and user: those of the
    earlier scores, and this one's own when it was tried before."""
    tried = or_(LtiScore.id < row.id, and_(LtiScore.id == row.id, LtiScore.attempts > 0))
    latest = db.scalar(select(func.max(LtiScore.created_at)).where(_same_target(row), tried))
    return latest or dt.datetime.min.replace(tzinfo=dt.UTC)


def outbox_counts(db: Session) -> dict[str, int]:
    """Scores by status, for the TA's LMS page."""
    rows = db.execute(select(LtiScore.status, func.count()).group_by(LtiScore.status)).all()
    found = {status: 0 for status in ScoreStatus.ALL}
    found.update({status: int(count) for status, count in rows})
    return found


def lms_overview(db: Session, left: str, failures: int) -> dict[str, Any]:
    """What the TA's LMS page lists: the last ``failures`` scores the LMS did not take (with the
    student and the assignment), the line items, each LMS course's active members (how many,
    last fetched) and the members who left (status ``left``)."""
    failing = db.execute(
        select(LtiScore, User.name, LtiLineItem.assignment)
        .join(User, User.id == LtiScore.user_id)
        .join(LtiLineItem, LtiLineItem.id == LtiScore.line_item_id)
        .where(
            LtiScore.status.in_((ScoreStatus.PENDING, ScoreStatus.REFUSED)), LtiScore.last_error.is_not(None)
        )
        .order_by(LtiScore.id.desc())
        .limit(failures)
    ).all()
    return {
        "failing": list(failing),
        "items": db.scalars(
            select(LtiLineItem).order_by(LtiLineItem.context_id, LtiLineItem.assignment)
        ).all(),
        "contexts": db.execute(
            select(LtiMember.context_id, func.count(), func.max(LtiMember.synced_at))
            .where(LtiMember.status == "Active")
            .group_by(LtiMember.context_id)
            .order_by(LtiMember.context_id)
        ).all(),
        "dropped": db.scalars(
            select(LtiMember).where(LtiMember.status == left).order_by(LtiMember.context_id, LtiMember.name)
        ).all(),
    }
