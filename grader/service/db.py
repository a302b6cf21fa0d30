"""The service's database (SQLite in the course folder by default, PostgreSQL for a department):
its engine, sessions and connections, and the Alembic migrations run at start-up."""

from __future__ import annotations

import math
import os
import re
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool, QueuePool

MIGRATIONS = Path(__file__).parent / "migrations"
# SQLite's page cache, per connection (its default is 2,000 KiB): a server's pooled connections
# each filled theirs as the term's database grew, 0.3 MiB a minute of a soak for an hour; the
# pages it would keep are in the operating system's file cache anyway.
SQLITE_CACHE_KIB = 512
# The statements each connection keeps prepared (the driver's default is 128): every length of
# an IN list is a statement of its own, and 128 of them hold about 2 MiB a connection.
SQLITE_STATEMENTS_KEPT = 32
READ_ONLY = "grader_read_only"  # an execution option: this transaction writes nothing
NO_TRANSACTION = "grader_no_transaction"  # an execution option: one statement, no BEGIN (SQLite)


@dataclass(frozen=True)
class Timeouts:
    """How long a connection may take to open, and a statement to run, in seconds."""

    connect: float = 5.0
    statement: float = 15.0


def timeout_args(url: str, timeouts: Timeouts) -> dict[str, Any]:
    """The driver's connect arguments that bound a wait: PostgreSQL's ``connect_timeout`` (whole
    seconds, 2 at least) and ``statement_timeout``; SQLite's busy timeout."""
    if url.startswith("sqlite"):
        return {"timeout": timeouts.statement}
    return {
        "connect_timeout": max(2, math.ceil(timeouts.connect)),
        "options": f"-c statement_timeout={math.ceil(timeouts.statement * 1000)}",
    }


def make_engine(url: str, checkpoints: bool = True, timeouts: Timeouts = Timeouts()) -> Engine:
    """``checkpoints=False``: this process's commits never checkpoint SQLite's log (it syncs the
    file, tens of milliseconds a request would wait for); the grading loop does, outside any write."""
    if url.startswith("sqlite"):
        # Connections are kept (each new one costs its PRAGMAs); SQLite allows one writer at
        # a time however many there are, and waits up to ``timeout`` for it.
        connect_args = {
            "check_same_thread": False,
            "cached_statements": SQLITE_STATEMENTS_KEPT,
            **timeout_args(url, timeouts),
        }
        no_checkpoints = () if checkpoints else ("wal_autocheckpoint=0",)
        engine = create_engine(
            url, connect_args=connect_args, poolclass=QueuePool, pool_size=8, max_overflow=24
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(connection, _record):
            connection.isolation_level = None  # the driver begins nothing: see _begin
            cursor = connection.cursor()
            pragmas = (
                "journal_mode=WAL",
                "synchronous=NORMAL",
                "foreign_keys=ON",
                f"cache_size=-{SQLITE_CACHE_KIB}",
            )
            for pragma in (*pragmas, *no_checkpoints):
                cursor.execute(f"PRAGMA {pragma}")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _begin(connection: Connection) -> None:
            # SQLAlchemy's recipe for SQLite transactions that are transactions: by default the
            # driver begins one only before a write, so what a transaction read came from
            # another moment, and a SAVEPOINT outside one commits at its RELEASE. A transaction
            # that may write takes the write lock at its BEGIN, so what it reads stays true
            # until its commit; one marked read-only (``Database.read``) takes none.
            options = connection.get_execution_options()
            if options.get(NO_TRANSACTION, False):  # Database.read_one
                return
            if options.get(READ_ONLY, False):
                connection.exec_driver_sql("BEGIN")
                return
            turns.take(connection.info)
            try:
                connection.exec_driver_sql("BEGIN IMMEDIATE")
            except BaseException:
                turns.give_back(connection.info)
                raise

        turns = _WriterTurns(timeouts.statement)
        dialect = engine.dialect
        dialect.do_commit = turns.given_back_after(dialect.do_commit)  # type: ignore[method-assign,assignment]
        dialect.do_rollback = turns.given_back_after(dialect.do_rollback)  # type: ignore[method-assign,assignment]
        for ending in ("checkin", "invalidate", "close"):  # a connection gone mid-transaction
            event.listen(engine, ending, lambda _dbapi, record, *_: turns.give_back(record.info))
        return engine
    return create_engine(
        url, pool_pre_ping=True, pool_size=10, max_overflow=20, connect_args=timeout_args(url, timeouts)
    )


class _WriterTurns:
    """SQLite: a process's writers take turns here before SQLite's write lock, from their
    ``BEGIN IMMEDIATE`` until their commit or rollback has ended. SQLite's own wait for its
    lock sleeps between tries (up to 100 ms a sleep), so under a class's hand-ins writers slept
    while the lock was free; here the next one is woken when the last one ends. Other processes
    (``--worker``, a second server) still meet at SQLite's lock. A wait past the busy timeout is
    SQLite's own "database is locked": a 503, nothing kept."""

    def __init__(self, seconds: float):
        self._lock = threading.Lock()
        self._seconds = seconds

    def take(self, info: dict[Any, Any]) -> None:
        if not self._lock.acquire(timeout=self._seconds):
            locked = sqlite3.OperationalError("database is locked (by this process's other writers)")
            raise OperationalError("BEGIN IMMEDIATE", None, locked)
        info[_TURN] = True

    def give_back(self, info: dict[Any, Any]) -> None:
        if info.pop(_TURN, False):
            self._lock.release()

    def given_back_after(self, end: Callable[[Any], None]) -> Callable[[Any], None]:
        """The dialect's commit or rollback ``end``, then the turn given back."""

        def ended(dbapi_connection: Any) -> None:
            try:
                end(dbapi_connection)
            finally:
                self.give_back(_info(dbapi_connection))

        return ended


_TURN = "grader: holds this process's writer turn"


def _info(connection: Any) -> dict[Any, Any]:
    """A pooled connection's info (none for the pool's own ad hoc proxy of a connection being
    reset: the checkin that follows gives the turn back then)."""
    try:
        return connection.info
    except NotImplementedError:
        return {}


def private_folder(folder: Path, files: list[Path]) -> None:
    """``folder`` (0700) and ``files`` in it (0600), made so or made private: they hold every
    reference answer (SQLite gives its journal files the database's mode)."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    folder.chmod(0o700)
    for path in files:
        os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
        path.chmod(0o600)


def migrate(url: str) -> None:
    # Alembic only when a migration is left: finding none cost every start 0.4 s of CPU
    head = newest_revision()
    if head is not None and schema_revision(url) == head:
        return
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    command.upgrade(config, "head")


def newest_revision() -> str | None:
    """The head of the migrations, read from their files as Alembic does (None: not one head)."""
    texts = "\n".join(path.read_text() for path in (MIGRATIONS / "versions").glob("*.py"))
    heads = set(re.findall(r'^revision = "([^"]+)"$', texts, re.M))
    heads -= set(re.findall(r'^down_revision = "([^"]+)"$', texts, re.M))
    return heads.pop() if len(heads) == 1 else None


def schema_revision(url: str) -> str | None:
    """The migration the database is at (None: none yet, or a database that cannot say)."""
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            rows = connection.execute(text("SELECT version_num FROM alembic_version")).all()
    except DBAPIError:
        return None
    finally:
        engine.dispose()
    return str(rows[0][0]) if len(rows) == 1 else None


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
        """One transaction through the ORM, committed at the end. On SQLite one that may write
        holds the write lock from its start: ``read_only`` for one that only reads (a page)."""
        with (self.reading_sessions if read_only else self.sessions)() as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A connection for the reads every request makes (its token, a submission's state): built
        once and run through Core, they take a third of the ORM's time. Nothing written is kept."""
        with self.engine.connect().execution_options(**{READ_ONLY: True}) as connection:
            yield connection

    @contextmanager
    def read_one(self) -> Iterator[Connection]:
        """A connection for a single statement read outside any transaction (a statement sees one
        moment by itself): every request's token, one statement where a transaction takes three
        (BEGIN, the read, its end), each a wait for the interpreter's lock on a busy server."""
        # PostgreSQL's AUTOCOMMIT is the driver's flag; SQLite's would give the driver back its own
        # BEGINs at the connection's reset (and a PRAGMA each time): there the BEGIN is only not sent
        sqlite = self.engine.url.get_backend_name() == "sqlite"
        options = {NO_TRANSACTION: True} if sqlite else {"isolation_level": "AUTOCOMMIT"}
        with self.engine.connect().execution_options(**options) as connection:
            yield connection

    @contextmanager
    def write(self) -> Iterator[Connection]:
        with self.engine.begin() as connection:
            yield connection

    def checkpoint(self) -> None:
        """Copy SQLite's write-ahead log back into the database file, waiting for nobody (PASSIVE)."""
        if self.engine.url.get_backend_name() == "sqlite":
            connection = self.engine.raw_connection()  # outside any transaction, as a checkpoint must be
            try:
                connection.cursor().execute("PRAGMA wal_checkpoint(PASSIVE)").close()
            finally:
                connection.close()

    def dispose(self) -> None:
        self.engine.dispose()


def lock_students(db: Session | Connection, assignment_id: int, student_ids: Iterable[int]) -> None:
    """Hold, until the transaction ends, the lock on each student's work in an assignment (version
    numbers, hand grades, verdicts), taken before reading what is written from, in the order of the
    ids so two never wait on each other. On SQLite the write lock taken at BEGIN holds it all."""
    bind = db.get_bind() if isinstance(db, Session) else db
    if bind.dialect.name != "postgresql":
        return
    for student_id in sorted(set(student_ids)):
        db.execute(
            text("SELECT pg_advisory_xact_lock(:assignment, :student)"),
            {"assignment": assignment_id, "student": student_id},
        )
