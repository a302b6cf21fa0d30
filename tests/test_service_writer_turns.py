"""SQLite writers take turns by a lock file: a transaction that may write holds the turn from
its BEGIN until its commit or rollback (what it read stays true until it writes), read-only
ones never take it, and many threads and another process writing at once all land, none
refused with "database is locked"."""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import func, select

from grader.service import writer_turns
from grader.service.db import AuditEntry, Database, migrate
from grader.service.writer_turns import lock_path


@pytest.fixture
def database(tmp_path: Path) -> Iterator[Database]:
    url = f"sqlite:///{tmp_path / 'grader.db'}"
    migrate(url)
    db = Database(url)
    yield db
    db.dispose()


@contextmanager
def probe(db: Database) -> Iterator[int]:
    descriptor = os.open(lock_path(str(db.engine.url.database)), os.O_RDWR | os.O_CREAT)
    try:
        yield descriptor
    finally:
        os.close(descriptor)


def turn_is_free(db: Database) -> bool:
    with probe(db) as descriptor:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        fcntl.flock(descriptor, fcntl.LOCK_UN)
        return True


def audit_rows(db: Database) -> int:
    with db.session() as session:
        return int(session.scalar(select(func.count()).select_from(AuditEntry)) or 0)


def test_a_write_holds_the_turn_until_its_commit(database: Database) -> None:
    with database.session(read_only=True) as session:
        session.scalar(select(func.count()).select_from(AuditEntry))
        assert turn_is_free(database), "a read-only transaction took the writers' turn"
    with database.read() as connection:
        connection.execute(select(func.count()).select_from(AuditEntry))
        assert turn_is_free(database), "a read took the writers' turn"
    with database.session() as session:
        session.scalar(select(func.count()).select_from(AuditEntry))
        assert not turn_is_free(database), "a transaction that may write read before taking the turn"
        session.add(AuditEntry(action="first"))
        session.flush()
        assert not turn_is_free(database), "a write transaction did not take the turn"
    assert turn_is_free(database), "the commit did not give the turn back"
    assert audit_rows(database) == 1


def test_a_rolled_back_write_gives_the_turn_back(database: Database) -> None:
    with pytest.raises(RuntimeError), database.session() as session:
        session.add(AuditEntry(action="undone"))
        session.flush()
        assert not turn_is_free(database)
        raise RuntimeError("a route fails half-way")
    assert turn_is_free(database)
    assert audit_rows(database) == 0


WRITER = """
import sys
from grader.service.db import AuditEntry, Database
db = Database(sys.argv[1])
for number in range(int(sys.argv[2])):
    with db.session() as session:
        session.add(AuditEntry(action="other process", detail={"n": number}))
db.dispose()
"""


def test_threads_and_another_process_writing_at_once_all_land(database: Database) -> None:
    other = subprocess.Popen([sys.executable, "-c", WRITER, str(database.engine.url), "150"])
    failures: list[BaseException] = []

    def write(thread: int) -> None:
        try:
            for number in range(40):
                with database.session() as session:
                    session.add(AuditEntry(action="thread", detail={"t": thread, "n": number}))
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=write, args=(t,)) for t in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert other.wait(120) == 0
    assert not failures, failures
    assert audit_rows(database) == 6 * 40 + 150
    assert turn_is_free(database)


def test_a_second_write_on_the_same_thread_does_not_wait_on_itself(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A thread that holds the turn on one connection and writes on another is not made to
    wait for itself (for ever, with no time limit on turns): the inner write goes to
    SQLite, which waits for the outer transaction and gives up, as it always did."""
    monkeypatch.setattr(writer_turns, "WAIT_SECONDS", 3600.0)
    inner = Database(str(database.engine.url))
    outcome: list[str] = []

    def nested_writes() -> None:
        with database.session() as outer:
            outer.add(AuditEntry(action="outer"))
            outer.flush()
            with inner.engine.connect() as connection:
                connection.connection.driver_connection.execute("PRAGMA busy_timeout=50")  # type: ignore[union-attr]
                try:
                    connection.exec_driver_sql(
                        "INSERT INTO audit_log (at, action, detail) VALUES ('2026-01-01', 'inner', '{}')"
                    )
                except Exception as exc:
                    outcome.append(str(exc))

    thread = threading.Thread(target=nested_writes, daemon=True)
    thread.start()
    thread.join(60)
    assert not thread.is_alive(), "the inner write waited for its own thread's turn"
    assert outcome and "locked" in outcome[0]
    inner.dispose()
    assert audit_rows(database) == 1
