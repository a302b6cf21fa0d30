"""The LTI tables: login states with their single-use nonces and the link from an LMS user
(issuer, subject) to a service user (migration 0003_lti); resource links (0004_lti_links);
and for LTI Advantage (0005_lti_advantage) the line items scores go to, the members of each
LMS course, and the outbox of scores waiting to be posted."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from grader.service.db import Base, UTCDateTime, utcnow


class LtiLoginState(Base):
    """One OIDC login initiation: the ``state`` and ``nonce`` sent to the platform. A launch
    consumes it (``used_at``), so an ``id_token`` is accepted once."""

    __tablename__ = "lti_login_states"
    id: Mapped[int] = mapped_column(primary_key=True)
    state: Mapped[str] = mapped_column(String(64), unique=True)
    nonce: Mapped[str] = mapped_column(String(64), unique=True)
    issuer: Mapped[str] = mapped_column(String(500))
    client_id: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class LtiUser(Base):
    __tablename__ = "lti_users"
    __table_args__ = (UniqueConstraint("issuer", "subject"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    issuer: Mapped[str] = mapped_column(String(500))
    subject: Mapped[str] = mapped_column(String(255))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class LtiLink(Base):
    """A resource link of a platform (one placement of the tool in a course), with the
    Advantage endpoints its last launch announced: where scores go (AGS) and the roster
    (NRPS). Kept up to date on every launch; the grade passback reads it."""

    __tablename__ = "lti_links"
    __table_args__ = (UniqueConstraint("issuer", "deployment_id", "resource_link_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    issuer: Mapped[str] = mapped_column(String(500))
    client_id: Mapped[str] = mapped_column(String(200))
    deployment_id: Mapped[str] = mapped_column(String(255))
    resource_link_id: Mapped[str] = mapped_column(String(255))
    context_id: Mapped[str | None] = mapped_column(String(255))
    assignment: Mapped[str | None] = mapped_column(String(100))
    lineitems_url: Mapped[str | None] = mapped_column(String(1000))
    lineitem_url: Mapped[str | None] = mapped_column(String(1000))
    ags_scopes: Mapped[list[str]] = mapped_column(JSON, default=list)
    memberships_url: Mapped[str | None] = mapped_column(String(1000))
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class LtiLineItem(Base):
    """Where one assignment's scores go in one LMS course (platform, context): the AGS
    endpoints its launches announce, and the line item (the gradebook column) once known,
    given by the link (a deep-linked one carries it) or found or made by the tool."""

    __tablename__ = "lti_line_items"
    __table_args__ = (UniqueConstraint("issuer", "client_id", "context_id", "assignment"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    issuer: Mapped[str] = mapped_column(String(500))
    client_id: Mapped[str] = mapped_column(String(200))
    deployment_id: Mapped[str] = mapped_column(String(255))
    context_id: Mapped[str] = mapped_column(String(255))
    assignment: Mapped[str] = mapped_column(String(100))
    lineitems_url: Mapped[str | None] = mapped_column(String(1000))
    lineitem_url: Mapped[str | None] = mapped_column(String(1000))
    scopes: Mapped[list[str]] = mapped_column(JSON, default=list)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class LtiMember(Base):
    """A member of an LMS course: seen in a launch, or listed by the platform's roster
    (Names and Role Provisioning; ``synced_at`` is set then). ``subject`` is the LMS user
    id (the ``sub`` of their launches); ``sourcedid`` the student number, where given."""

    __tablename__ = "lti_members"
    __table_args__ = (UniqueConstraint("issuer", "context_id", "subject"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    issuer: Mapped[str] = mapped_column(String(500))
    context_id: Mapped[str] = mapped_column(String(255))
    subject: Mapped[str] = mapped_column(String(255))
    name: Mapped[str | None] = mapped_column(String(300))
    email: Mapped[str | None] = mapped_column(String(320))
    sourcedid: Mapped[str | None] = mapped_column(String(255))
    roles: Mapped[list[str]] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(20), default="Active")
    synced_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ScoreStatus:
    PENDING = "pending"
    SENDING = "sending"  # claimed by a server, which posts it (until ``next_attempt_at``: its lease)
    DELIVERED = "delivered"
    SUPERSEDED = "superseded"  # a later score of the same line item and user was made
    REFUSED = "refused"  # the LMS refused it for a reason a retry cannot change (``last_error``)
    ALL = (PENDING, SENDING, DELIVERED, SUPERSEDED, REFUSED)


class LtiScore(Base):
    """The grade-passback outbox: one score for one line item and LMS user, written in the
    transaction of the verdict (or hand grade) it comes from, and posted by the passback
    thread with retries. ``created_at`` is the score's AGS timestamp: when it was made, moved
    on each attempt to post it past every timestamp sent before for the same line item and
    user (an LMS takes a score only with a later timestamp, Moodle a later second)."""

    __tablename__ = "lti_scores"
    __table_args__ = (
        Index("ix_lti_scores_due", "status", "next_attempt_at"),
        Index("ix_lti_scores_target", "line_item_id", "subject"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    line_item_id: Mapped[int] = mapped_column(ForeignKey("lti_line_items.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"))
    subject: Mapped[str] = mapped_column(String(255))
    score_given: Mapped[float] = mapped_column(Float)
    score_maximum: Mapped[float] = mapped_column(Float)
    activity_progress: Mapped[str] = mapped_column(String(20))
    grading_progress: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20), default=ScoreStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    delivered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
