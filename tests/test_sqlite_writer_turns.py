"""SQLite: a process's writers take turns on a lock of the process from their BEGIN IMMEDIATE to
the end of their commit or rollback (grader.service.db._WriterTurns), on a real database file."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from grader.service.db import Database, Timeouts


@pytest.fixture
def database(tmp_path: Path) -> Database:
    db = Database(f"sqlite:///{tmp_path / 'turns.db'}", timeouts=Timeouts(statement=1.0))
    with db.write() as connection:
        connection.execute(text("CREATE TABLE marks (who TEXT)"))
    return db


@contextmanager
def _write_held(db: Database, who: str) -> Iterator[None]:
    """A write of ``who`` in progress on another thread (its turn and SQLite's lock held) while
    the block runs; committed at its end."""
    holding, done = threading.Event(), threading.Event()

    def hold() -> None:
        with db.write() as connection:
            connection.execute(text("INSERT INTO marks VALUES (:who)"), {"who": who})
            holding.set()
            done.wait(30)

    thread = threading.Thread(target=hold)
    thread.start()
    holding.wait(10)
    try:
        yield
    finally:
        done.set()
        thread.join(10)


def _marks(db: Database) -> list[str]:
    with db.read() as connection:
        return [row[0] for row in connection.execute(text("SELECT who FROM marks ORDER BY rowid"))]


def test_a_writer_waits_for_the_one_writing_and_then_writes(database: Database) -> None:
    first_began, order = threading.Event(), []

    def first() -> None:
        with database.write() as connection:
            connection.execute(text("INSERT INTO marks VALUES ('first')"))
            first_began.set()
            time.sleep(0.3)
            order.append("first")

    thread = threading.Thread(target=first)
    thread.start()
    first_began.wait(10)
    with database.write() as connection:
        connection.execute(text("INSERT INTO marks VALUES ('second')"))
        order.append("second")
    thread.join(10)
    assert order == ["first", "second"]
    assert _marks(database) == ["first", "second"]


def test_a_session_holds_no_turn_before_its_first_statement(database: Database) -> None:
    """SQLite locks at BEGIN, which SQLAlchemy sends with the first statement: a write made
    meanwhile (in the same thread, as the LTI outbox's test does) does not wait for it."""
    with database.session() as outer:
        with database.write() as inner:  # would wait for the outer session's turn, then fail
            inner.execute(text("INSERT INTO marks VALUES ('inner')"))
        outer.execute(text("INSERT INTO marks VALUES ('outer')"))
    assert _marks(database) == ["inner", "outer"]


def test_a_connection_lost_mid_transaction_gives_its_turn_back(database: Database) -> None:
    with database.engine.connect() as connection:
        connection.begin()
        connection.execute(text("INSERT INTO marks VALUES ('lost')"))
        connection.invalidate()  # its DBAPI connection closed: no commit, no rollback call
    with database.write() as connection:  # not "database is locked" after the busy timeout
        connection.execute(text("INSERT INTO marks VALUES ('kept')"))
    assert _marks(database) == ["kept"]


def test_a_writer_that_waits_past_the_busy_timeout_is_told_the_database_is_locked(
    database: Database,
) -> None:
    refused = pytest.raises(OperationalError, match="database is locked")
    with _write_held(database, "holder"), refused, database.write() as connection:
        connection.execute(text("INSERT INTO marks VALUES ('refused')"))
    assert _marks(database) == ["holder"]  # nothing of the refused write was kept


def test_a_single_read_is_one_statement_and_leaves_transactions_as_they_were(database: Database) -> None:
    """Every request reads its token with :meth:`Database.read_one`: the read alone reaches
    SQLite (a transaction's BEGIN and ROLLBACK were two more waits for the interpreter's lock
    on a busy server), it sees what was committed, it takes no writer's turn while a write holds
    one, and the pooled connection's transactions afterwards are as before (BEGIN IMMEDIATE)."""
    sent: list[str] = []
    with database.write() as connection:
        connection.execute(text("INSERT INTO marks VALUES ('kept')"))
    with _write_held(database, "held"), database.read_one() as connection:
        connection.connection.dbapi_connection.set_trace_callback(sent.append)  # type: ignore[union-attr]
        seen = [row[0] for row in connection.execute(text("SELECT who FROM marks ORDER BY rowid"))]
    assert seen == ["kept"]  # the write in progress not seen, and not waited for
    assert sent == ["SELECT who FROM marks ORDER BY rowid"]
    for _ in range(3):  # whichever pooled connection a write takes: the driver begins nothing
        with database.write() as connection:
            dbapi = connection.connection.dbapi_connection
            assert dbapi.isolation_level is None and dbapi.in_transaction  # type: ignore[union-attr]
            connection.execute(text("INSERT INTO marks VALUES ('after')"))
    assert _marks(database) == ["kept", "held", "after", "after", "after"]
