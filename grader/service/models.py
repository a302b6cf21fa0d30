"""Every table of the service (SQLAlchemy 2 declarative models); the schema is made by Alembic
(``migrations/``). Rows are added, rarely changed and never deleted: every version handed in is
a row of ``submissions``, every grading of it one of ``verdicts``, every action one of ``audit_log``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any, TypeVar

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.engine import Dialect, Row
from sqlalchemy.orm import DeclarativeBase, Mapped, make_transient_to_detached, mapped_column

OPEN = "open"  # a regrade request's status until a TA answers it (crud.regrade_requests)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """A timezone-aware datetime column: stored in UTC, read back aware (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is not None and value.tzinfo is not None and dialect.name == "sqlite":
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        return value

    def process_result_value(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return value


class Base(DeclarativeBase):
    id: Mapped[int] = mapped_column(primary_key=True, sort_order=-1)  # every table's, first


class Stamped:
    """A table whose rows keep when they were added (``created_at``)."""

    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Role:
    STUDENT = "student"
    TA = "ta"
    ADMIN = "admin"
    ALL = (STUDENT, TA, ADMIN)


class Course(Stamped, Base):
    __tablename__ = "courses"
    name: Mapped[str] = mapped_column(String(200), unique=True)


class Assignment(Base):
    """One problem file; ``problem_hash`` is the digest of the text it is graded with now
    (``problem_text``). A changed file updates the row and queues regrades."""

    __tablename__ = "assignments"
    __table_args__ = (UniqueConstraint("course_id", "name"),)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id"))
    name: Mapped[str] = mapped_column(String(100))
    title: Mapped[str | None] = mapped_column(String(300))
    problem_hash: Mapped[str] = mapped_column(String(64), index=True)
    problem_text: Mapped[str] = mapped_column(Text)
    source_path: Mapped[str] = mapped_column(String(1000))
    due: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    release: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    extensions: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)  # student -> due (ISO, UTC)
    # Extensions a TA granted (grader extend, the student's page): kept when course.yaml changes.
    granted_extensions: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    # course.yaml's close, penalty, canvas link and time zone for this assignment.
    policy: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class CourseFileVersion(Base):
    """A version of a course file (``course.yaml``, or ``assignment:<name>``'s problem file) a
    course folder (``host:/path``) held: ``taken`` (put in force) from it, or found while in force.
    The newest row of a folder is what it held last; a digest with any row, a version the course had."""

    __tablename__ = "course_file_versions"
    __table_args__ = (Index("ix_course_file_versions_course_file", "course_id", "file"),)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id"))
    file: Mapped[str] = mapped_column(String(200))
    digest: Mapped[str] = mapped_column(String(64))
    folder: Mapped[str] = mapped_column(String(1000))
    taken: Mapped[bool] = mapped_column(Boolean)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


def extension_for(assignment: Assignment, student: str) -> dt.datetime | None:
    """``student``'s extension: course.yaml's or one a TA granted, the later when both."""
    sources = (assignment.extensions or {}, assignment.granted_extensions or {})
    written = [dt.datetime.fromisoformat(due) for source in sources if (due := source.get(student))]
    return max(written) if written else None


def due_for(assignment: Assignment, student: str) -> dt.datetime | None:
    """The due in force for ``student``: their extension, else the assignment's due."""
    return extension_for(assignment, student) or assignment.due


class User(Stamped, Base):
    __tablename__ = "users"
    __table_args__ = (UniqueConstraint("course_id", "name"),)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id"))
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    password_hash: Mapped[str | None] = mapped_column(String(200))
    # A removed user keeps their row (their hand-ins point at it) but no token, session or log-in.
    removed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


def is_staff(user: User) -> bool:
    return user.role in (Role.TA, Role.ADMIN)


class ApiToken(Stamped, Base):
    """A bearer token's SHA-256 (it is 256 random bits: a slow hash would add nothing)."""

    __tablename__ = "tokens"
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str] = mapped_column(String(100), default="")
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class LoginLink(Stamped, Base):
    """A one-time log-in link (its secret's SHA-256): one session, once, before ``expires_at``."""

    __tablename__ = "login_links"
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # None while minted by a roster import whose links file is not written yet
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    email: Mapped[str] = mapped_column(String(320), default="", server_default="")


class WebSession(Stamped, Base):
    """A logged-in browser: the cookie's SHA-256 and the CSRF token its forms carry."""

    __tablename__ = "sessions"
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    session_hash: Mapped[str] = mapped_column(String(64), unique=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class Submission(Stamped, Base):
    """One version a student handed in, kept as sent; never overwritten."""

    __tablename__ = "submissions"
    __table_args__ = (UniqueConstraint("assignment_id", "user_id", "version"),)
    assignment_id: Mapped[int] = mapped_column(ForeignKey("assignments.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    filename: Mapped[str] = mapped_column(String(200))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    content_hash: Mapped[str] = mapped_column(String(64))
    late: Mapped[bool] = mapped_column(Boolean, default=False)


class VerdictRow(Stamped, Base):
    """One grading of a submission against one problem-file version: the whole ``report`` (the
    service filters what a student sees); ``job_id`` unique: a job yields at most one verdict."""

    __tablename__ = "verdicts"
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"), index=True)
    job_id: Mapped[int | None] = mapped_column(ForeignKey("jobs.id"), unique=True)
    problem_hash: Mapped[str] = mapped_column(String(64))
    score: Mapped[float] = mapped_column(Float)
    max_score: Mapped[float] = mapped_column(Float)
    report: Mapped[bytes] = mapped_column(LargeBinary)
    # The report as its student sees it with every part shown, made by the pool worker that graded
    # it (grader.batch.worker.student_view_text): what a poll answers, read with no report rebuilt
    # (None: made from the report; a TA's grade applied, or an older server's row).
    shown: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)


class JobStatus:
    QUEUED = "queued"
    GRADING = "grading"
    DONE = "done"


class Job(Stamped, Base):
    __tablename__ = "jobs"
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20), default="grade")
    status: Mapped[str] = mapped_column(String(20), default=JobStatus.QUEUED, index=True)
    owner: Mapped[str | None] = mapped_column(String(64))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claimed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    seconds: Mapped[float | None] = mapped_column(Float)


class AuditEntry(Base):
    __tablename__ = "audit_log"
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    action: Mapped[str] = mapped_column(String(50))
    detail: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)


ModelT = TypeVar("ModelT", bound=Base)


def detached(model: type[ModelT], row: Row[Any] | Mapping[str, Any]) -> ModelT:
    """The ORM object of a row read through Core, as a closed session leaves it (detached): a
    column left out cannot be read; a session it is added to updates it."""
    instance = model(**(row._mapping if isinstance(row, Row) else row))
    make_transient_to_detached(instance)
    return instance


class RosterEntry(Base):
    """A student's LMS identity as the imported roster gives it (the keys of
    :data:`grader.reporting.lms.IDENTITY_KEYS`), for the Canvas and Moodle exports."""

    __tablename__ = "roster_entries"
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), unique=True)
    identity: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    imported_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class HandGradeRow(Base):
    __tablename__ = "hand_grades"
    __table_args__ = (UniqueConstraint("assignment_id", "student_id", "part"),)
    assignment_id: Mapped[int] = mapped_column(ForeignKey("assignments.id"), index=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    part: Mapped[str] = mapped_column(String(200))
    points: Mapped[float | None] = mapped_column(Float)
    rubric: Mapped[list[str]] = mapped_column(JSON, default=list)
    comment: Mapped[str] = mapped_column(Text, default="")
    reason: Mapped[str | None] = mapped_column(Text)
    grader_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    grader: Mapped[str] = mapped_column(String(200))
    answer_hash: Mapped[str | None] = mapped_column(String(64))
    auto: Mapped[str | None] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class RegradeRequestRow(Stamped, Base):
    __tablename__ = "regrade_requests"
    __table_args__ = (
        Index(
            "uq_regrade_requests_open",
            "assignment_id",
            "student_id",
            "part",
            unique=True,
            sqlite_where=text("status = 'open'"),
            postgresql_where=text("status = 'open'"),
        ),
    )
    assignment_id: Mapped[int] = mapped_column(ForeignKey("assignments.id"), index=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    part: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default=OPEN, index=True)
    points_then: Mapped[float | None] = mapped_column(Float)  # the part's points when asked
    reply: Mapped[str | None] = mapped_column(Text)
    points: Mapped[float | None] = mapped_column(Float)  # the points the answer gave
    hand_version: Mapped[int | None] = mapped_column(Integer)  # the hand grade's version it wrote
    answered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    answered_by: Mapped[str | None] = mapped_column(String(200))
    answered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class SimilarityResult(Base):
    """An assignment's similar sheets as last computed (one row an assignment, updated)."""

    __tablename__ = "similarity_results"
    assignment_id: Mapped[int] = mapped_column(ForeignKey("assignments.id"), unique=True)
    handins_key: Mapped[str] = mapped_column(String(64), default="")  # digest of the hand-ins' set
    handins: Mapped[int] = mapped_column(Integer, default=0)
    graded: Mapped[int] = mapped_column(Integer, default=0)
    body: Mapped[str] = mapped_column(Text, default="")  # the page's pairs, rendered (autoescaped)
    seconds: Mapped[float] = mapped_column(Float, default=0.0)
    computed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    requested_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())  # a TA asked again

    @property
    def pending(self) -> bool:
        """A TA asked to compute it again, and it has not been since."""
        return self.requested_at is not None and (
            self.computed_at is None or self.requested_at > self.computed_at
        )


class LtiLoginState(Stamped, Base):
    """An OIDC login initiation (``state``, ``nonce``); a launch uses it up: an ``id_token`` counts once."""

    __tablename__ = "lti_login_states"
    state: Mapped[str] = mapped_column(String(64), unique=True)
    nonce: Mapped[str] = mapped_column(String(64), unique=True)
    issuer: Mapped[str] = mapped_column(String(500))
    client_id: Mapped[str] = mapped_column(String(200))
    used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class LtiUser(Stamped, Base):
    __tablename__ = "lti_users"
    __table_args__ = (UniqueConstraint("issuer", "subject"),)
    issuer: Mapped[str] = mapped_column(String(500))
    subject: Mapped[str] = mapped_column(String(255))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)


class LtiLink(Base):
    """A resource link (one placement of the tool in a course) with the scores (AGS) and roster
    (NRPS) endpoints its last launch announced."""

    __tablename__ = "lti_links"
    __table_args__ = (UniqueConstraint("issuer", "deployment_id", "resource_link_id"),)
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
    """Where one assignment's scores go in one LMS course: its launches' AGS endpoints and,
    once known, the line item (gradebook column) the link gives or the tool finds or makes."""

    __tablename__ = "lti_line_items"
    __table_args__ = (UniqueConstraint("issuer", "client_id", "context_id", "assignment"),)
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
    """A member of an LMS course, seen in a launch or listed by its roster (NRPS: ``synced_at``);
    ``subject``: the ``sub`` of their launches; ``sourcedid``: the student number, where given."""

    __tablename__ = "lti_members"
    __table_args__ = (UniqueConstraint("issuer", "context_id", "subject"),)
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


class LtiScore(Stamped, Base):
    """The grade-passback outbox: a score for one line item and LMS user, written with the verdict
    (or hand grade) it comes from, posted with retries. ``created_at``, its AGS timestamp, moves
    past every one sent before for the same target (an LMS takes only a later one, Moodle a later second)."""

    __tablename__ = "lti_scores"
    __table_args__ = (
        Index("ix_lti_scores_due", "status", "next_attempt_at"),
        Index("ix_lti_scores_target", "line_item_id", "subject"),
    )
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
    delivered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
