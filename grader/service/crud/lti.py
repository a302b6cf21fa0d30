"""The LTI tables (:mod:`grader.service.lti`): launches' login states, LMS users and links, the
line items and members of LMS courses, and the outbox of scores."""

from __future__ import annotations

import datetime as dt
from typing import Any, TypeVar

from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from grader.service.models import (
    Base,
    LtiLineItem,
    LtiLink,
    LtiLoginState,
    LtiMember,
    LtiScore,
    LtiUser,
    ScoreStatus,
    User,
    utcnow,
)

Row = TypeVar("Row", bound=Base)


def find(db: Session, model: type[Row], *order: Any, **keys: Any) -> Row | None:
    return db.scalar(select(model).filter_by(**keys).order_by(*order).limit(1))


def find_all(db: Session, model: type[Row], *order: Any, **keys: Any) -> list[Row]:
    return list(db.scalars(select(model).filter_by(**keys).order_by(*order)))


def find_or_add(db: Session, model: type[Row], keys: dict[str, Any], **fields: Any) -> Row:
    """The row of ``model`` with ``keys``, added (with ``fields``) when there is none. Two
    requests adding it at once: the loser's insert is undone (a savepoint), it reads the winner's."""
    row = find(db, model, **keys)
    if row is not None:
        return row
    try:
        with db.begin_nested():
            row = model(**keys, **fields)
            db.add(row)
            db.flush()
    except IntegrityError:
        row = find(db, model, **keys)
        if row is None:
            raise
    return row


def forget_states_before(db: Session, cutoff: dt.datetime) -> None:
    db.execute(delete(LtiLoginState).where(LtiLoginState.created_at < cutoff))


def use_state(db: Session, state: str) -> bool:
    """Mark ``state`` used; False when it was already used, or is not known."""
    used = db.execute(
        update(LtiLoginState)
        .where(LtiLoginState.state == state, LtiLoginState.used_at.is_(None))
        .values(used_at=utcnow())
    )
    return bool(used.rowcount)  # type: ignore[attr-defined]


def roster_links(db: Session) -> list[LtiLink]:
    """The resource links that announced a memberships URL in an LMS course, oldest first."""
    announced = LtiLink.memberships_url.is_not(None), LtiLink.context_id.is_not(None)
    return list(db.scalars(select(LtiLink).where(*announced).order_by(LtiLink.updated_at)))


def linked_users(db: Session) -> dict[tuple[str, str], str]:
    """The service user name of each LMS user a launch linked, by (issuer, LMS user id)."""
    rows = db.execute(
        select(LtiUser.issuer, LtiUser.subject, User.name).join(User, User.id == LtiUser.user_id)
    )
    return {(issuer, subject): name for issuer, subject, name in rows}


def targets(db: Session, assignment: str, user_id: int | None) -> list[tuple[LtiLineItem, str, int]]:
    """(line item, LMS user id, user id) for each line item of ``assignment`` and each member of
    its LMS course a launch linked (the user ``user_id`` only, unless None)."""
    query = (
        select(LtiLineItem, LtiUser.subject, LtiUser.user_id)
        .join(LtiUser, LtiUser.issuer == LtiLineItem.issuer)
        .join(
            LtiMember,
            (LtiMember.issuer == LtiLineItem.issuer)
            & (LtiMember.context_id == LtiLineItem.context_id)
            & (LtiMember.subject == LtiUser.subject),
        )
        .where(LtiLineItem.assignment == assignment)
        .order_by(LtiLineItem.id)
    )
    return list(db.execute(query if user_id is None else query.where(LtiUser.user_id == user_id)).all())


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


def _same_target(row: LtiScore) -> Any:
    return and_(LtiScore.line_item_id == row.line_item_id, LtiScore.subject == row.subject)


def superseded(db: Session, row: LtiScore) -> bool:
    """A later score of the same line item and user exists (posted or waiting)."""
    later = LtiScore.id > row.id, LtiScore.status != ScoreStatus.SUPERSEDED
    return db.scalar(select(LtiScore.id).where(_same_target(row), *later).limit(1)) is not None


def earlier_in_flight(db: Session, row: LtiScore, now: dt.datetime) -> bool:
    """An earlier score of the same line item and user is being posted (its lease runs)."""
    sending = LtiScore.status == ScoreStatus.SENDING, LtiScore.next_attempt_at > now
    return (
        db.scalar(select(LtiScore.id).where(_same_target(row), LtiScore.id < row.id, *sending).limit(1))
        is not None
    )


def last_stamp(db: Session, row: LtiScore) -> dt.datetime:
    """The latest timestamp the LMS may have of this line item and user: those of the
    earlier scores, and this one's own when it was tried before."""
    tried = or_(LtiScore.id < row.id, and_(LtiScore.id == row.id, LtiScore.attempts > 0))
    latest = db.scalar(select(func.max(LtiScore.created_at)).where(_same_target(row), tried))
    return latest or dt.datetime.min.replace(tzinfo=dt.UTC)


def outbox_counts(db: Session) -> dict[str, int]:
    rows = db.execute(select(LtiScore.status, func.count()).group_by(LtiScore.status)).all()
    return {**dict.fromkeys(ScoreStatus.ALL, 0), **dict(rows)}


def lms_overview(db: Session, left: str, failures: int) -> dict[str, Any]:
    """What the TA's LMS page lists (``templates/lti/lms.html``)."""
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
        "items": find_all(db, LtiLineItem, LtiLineItem.context_id, LtiLineItem.assignment),
        "contexts": db.execute(
            select(LtiMember.context_id, func.count(), func.max(LtiMember.synced_at))
            .where(LtiMember.status == "Active")
            .group_by(LtiMember.context_id)
            .order_by(LtiMember.context_id)
        ).all(),
        "dropped": find_all(db, LtiMember, LtiMember.context_id, LtiMember.name, status=left),
    }
