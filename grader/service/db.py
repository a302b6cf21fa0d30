"""The service's database: SQLAlchemy 2 models, one engine per app, Alembic migrations.

SQLite in the course folder by default, PostgreSQL for a department. The schema is
made by Alembic (``migrations/``), never by ``create_all``, so a database made by
an older grader is upgraded in place at start-up. Rows are added, rarely changed
and never deleted: every version a student hands in is a row of ``submissions``,
every grading of it a row of ``verdicts``, every action of a user a row of
``audit_log``.
"""

from __future__ import annotations

import datetime as dt
import math
import os
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar

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
    create_engine,
    event,
    text,
)
from sqlalchemy.engine import Connection, Dialect, Engine, Row
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    Session,
    make_transient_to_detached,
    mapped_column,
    sessionmaker,
)
from sqlalchemy.pool import QueuePool

MIGRATIONS = Path(__file__).parent / "migrations"
READ_ONLY = "grader_read_only"  # an execution option: this transaction writes nothing


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
    pass


class Role:
    STUDENT = "student"
    TA = "ta"
    ADMIN = "admin"
    ALL = (STUDENT, TA, ADMIN)


class Course(Base):
    __tablename__ = "courses"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Assignment(Base):
    """One problem file; ``problem_hash`` is the digest of the text it is graded with now
    (``problem_text``). A changed file updates the row and queues regrades."""

    __tablename__ = "assignments"
    __table_args__ = (UniqueConstraint("course_id", "name"),)
    id: Mapped[int] = mapped_column(primary_key=True)
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
    """A version of a course file (``course.yaml``, or an assignment's problem file, ``file``
    ``assignment:<name>``) as the database has seen it: ``taken`` (put in force) from a course
    folder, or found in a folder while it was the version in force. Appended, never changed:
    the newest row of a folder is what that folder held last; a digest with any row is a
    version the course has had. ``folder`` is ``host:/path`` ("" for what a database made
    before this table held)."""

    __tablename__ = "course_file_versions"
    __table_args__ = (Index("ix_course_file_versions_course_file", "course_id", "file"),)
    id: Mapped[int] = mapped_column(primary_key=True)
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


class User(Base):
    __tablename__ = "users"
    __table_args__ = (UniqueConstraint("course_id", "name"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id"))
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    password_hash: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # A removed user keeps their row (their hand-ins point at it) but no token, session or log-in.
    removed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class ApiToken(Base):
    """A bearer token; only its SHA-256 is kept (it is 256 random bits, so a slow hash adds nothing)."""

    __tablename__ = "tokens"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class LoginLink(Base):
    """A one-time log-in link: only the SHA-256 of its secret is kept; it starts one session,
    once, before ``expires_at``, and is void after."""

    __tablename__ = "login_links"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # None while minted by a roster import whose links file is not written yet
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    email: Mapped[str] = mapped_column(String(320), default="", server_default="")


class WebSession(Base):
    """A logged-in browser: the cookie's SHA-256 and the CSRF token its forms carry."""

    __tablename__ = "sessions"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    session_hash: Mapped[str] = mapped_column(String(64), unique=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class Submission(Base):
    """One version a student handed in, kept as sent; never overwritten."""

    __tablename__ = "submissions"
    __table_args__ = (UniqueConstraint("assignment_id", "user_id", "version"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    assignment_id: Mapped[int] = mapped_column(ForeignKey("assignments.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    filename: Mapped[str] = mapped_column(String(200))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    content_hash: Mapped[str] = mapped_column(String(64))
    late: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class VerdictRow(Base):
    """One grading of one submission against one problem-file version. ``report`` is the
    whole report (the service filters what a student sees), ``job_id`` is unique: a job
    yields at most one verdict, whatever restarts happen."""

    __tablename__ = "verdicts"
    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"), index=True)
    job_id: Mapped[int | None] = mapped_column(ForeignKey("jobs.id"), unique=True)
    problem_hash: Mapped[str] = mapped_column(String(64))
    score: Mapped[float] = mapped_column(Float)
    max_score: Mapped[float] = mapped_column(Float)
    report: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class JobStatus:
    QUEUED = "queued"
    GRADING = "grading"
    DONE = "done"


class Job(Base):
    __tablename__ = "jobs"
    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20), default="grade")
    status: Mapped[str] = mapped_column(String(20), default=JobStatus.QUEUED, index=True)
    owner: Mapped[str | None] = mapped_column(String(64))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    claimed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    seconds: Mapped[float | None] = mapped_column(Float)


class AuditEntry(Base):
    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    action: Mapped[str] = mapped_column(String(50))
    detail: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)


def audit(db: Session, user_id: int | None, action: str, **detail: object) -> None:
    """An ``audit_log`` row, in the transaction of the change it records."""
    db.add(AuditEntry(user_id=user_id, action=action, detail=detail))


@dataclass(frozen=True)
class Timeouts:
    """How long a connection may take to open, and a statement to run, in seconds."""

    connect: float = 5.0
    statement: float = 15.0


class TimeoutSettings(Protocol):
    """What :func:`database_timeouts` reads of the service's Settings (not imported here: they
    need pydantic, and `grader users` opens a database without them)."""

    @property
    def db_connect_timeout(self) -> float: ...

    @property
    def db_statement_timeout(self) -> float: ...


def database_timeouts(settings: TimeoutSettings) -> Timeouts:
    return Timeouts(settings.db_connect_timeout, settings.db_statement_timeout)


def timeout_args(url: str, timeouts: Timeouts) -> dict[str, Any]:
    """The driver's connect arguments that bound a wait on the database. PostgreSQL: libpq's
    ``connect_timeout`` (whole seconds, 2 at least) and the server's ``statement_timeout`` (a
    statement running, or waiting for a lock, past it is cancelled: QueryCanceled, an
    OperationalError); SQLite: the busy timeout, how long a write waits for another's lock."""
    if url.startswith("sqlite"):
        return {"timeout": timeouts.statement}
    return {
        "connect_timeout": max(2, math.ceil(timeouts.connect)),
        "options": f"-c statement_timeout={math.ceil(timeouts.statement * 1000)}",
    }


def make_engine(url: str, checkpoints: bool = True, timeouts: Timeouts = Timeouts()) -> Engine:
    """``checkpoints=False``: this process's commits never copy SQLite's write-ahead log back
    into the database (a checkpoint syncs the file to disk, tens of milliseconds a request
    would wait for); the grading loop does it (:meth:`Database.checkpoint`), outside any write."""
    if url.startswith("sqlite"):
        # Connections are kept (each new one costs its PRAGMAs); SQLite allows one writer at
        # a time however many there are, and waits up to ``timeout`` for it.
        engine = create_engine(
            url,
            connect_args={
                "check_same_thread": False,
                **timeout_args(url, timeouts),
            },
            poolclass=QueuePool,
            pool_size=8,
            max_overflow=24,
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(connection, _record):
            connection.isolation_level = None  # the driver begins nothing: see _begin
            cursor = connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            if not checkpoints:
                cursor.execute("PRAGMA wal_autocheckpoint=0")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _begin(connection: Connection) -> None:
            # SQLAlchemy's recipe for SQLite transactions that are transactions: by default the
            # driver begins one only before a write, so what a transaction read came from
            # another moment, and a SAVEPOINT outside one commits at its RELEASE. A transaction
            # that may write takes the write lock at its BEGIN, so what it reads stays true
            # until its commit; one marked read-only (``Database.read``) takes none.
            read_only = connection.get_execution_options().get(READ_ONLY, False)
            connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")

        return engine
    return create_engine(
        url, pool_pre_ping=True, pool_size=10, max_overflow=20, connect_args=timeout_args(url, timeouts)
    )


def private_folder(folder: Path, files: list[Path]) -> None:
    """``folder`` (0700) and ``files`` in it (0600), made so or made private if they are not:
    the database and the verdict store hold every reference answer. SQLite gives its journal
    files the database's mode."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    folder.chmod(0o700)
    for path in files:
        os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
        path.chmod(0o600)


def migrate(url: str) -> None:
    """Bring the database at ``url`` to the newest schema (Alembic ``upgrade head``)."""
    from alembic import command  # here: a command that finds the schema current never loads Alembic
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    command.upgrade(config, "head")


ModelT = TypeVar("ModelT", bound=Base)


class Database:
    def __init__(self, url: str, checkpoints: bool = True, timeouts: Timeouts = Timeouts()):
        self.url = url
        self.engine = make_engine(url, checkpoints, timeouts)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        self.reading_sessions = sessionmaker(
            self.engine.execution_options(**{READ_ONLY: True}), expire_on_commit=False
        )

    @contextmanager
    def session(self, read_only: bool = False) -> Iterator[Session]:
        """One transaction through the ORM, committed at the end (rolled back on an error).
        On SQLite a transaction that may write holds the write lock from its start: pass
        ``read_only`` for one that only reads (a page), so writers do not wait for it."""
        with (self.reading_sessions if read_only else self.sessions)() as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A connection for the reads every request makes (its token, a submission's state):
        statements built once and run through SQLAlchemy's Core take a third of the time the
        ORM's query building and loading take. Nothing written here is kept."""
        with self.engine.connect().execution_options(**{READ_ONLY: True}) as connection:
            yield connection

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """One transaction through Core, committed at the end (rolled back on an error)."""
        with self.engine.begin() as connection:
            yield connection

    def checkpoint(self) -> None:
        """Copy SQLite's write-ahead log back into the database file, waiting for no reader or
        writer (PASSIVE); for a process whose connections leave it to this call."""
        if self.engine.url.get_backend_name() == "sqlite":
            connection = self.engine.raw_connection()  # outside any transaction, as a checkpoint must be
            try:
                connection.cursor().execute("PRAGMA wal_checkpoint(PASSIVE)").close()
            finally:
                connection.close()

    def dispose(self) -> None:
        self.engine.dispose()


def lock_students(db: Session | Connection, assignment_id: int, student_ids: Iterable[int]) -> None:
    """Hold, until the transaction ends, the lock on each student's work in an assignment: their
    hand-ins' version numbers, hand grades and the verdicts that carry them. Every transaction
    that writes one of these takes it before it reads what it writes from, in the order of the
    students' ids, so two never wait on each other. On SQLite the transaction's write lock,
    taken at its BEGIN, already holds the whole database."""
    bind = db.get_bind() if isinstance(db, Session) else db
    if bind.dialect.name != "postgresql":
        return
    for student_id in sorted(set(student_ids)):
        db.execute(
            text("SELECT pg_advisory_xact_lock(:assignment, :student)"),
            {"assignment": assignment_id, "student": student_id},
        )


def detached(model: type[ModelT], row: Row[Any] | Mapping[str, Any]) -> ModelT:
    """The ORM object of a row read or written through Core, as a session would have handed it
    out and closed (detached): its attributes are the row's (one left out cannot be read), and
    a session it is added to updates it."""
    instance = model(**(row._mapping if isinstance(row, Row) else row))
    make_transient_to_detached(instance)
    return instance
