"""SQLite writers of one database take turns by a lock file, not by SQLite's busy handler.

SQLite lets one connection write at a time. One that finds the database locked sleeps
and tries again after 1, 2, 5, 10, 15, 20, 25, 25, 25, 50, 50, 100 ms, so under
contention (uploads in several threads, the grading process writing verdicts) a
write that waits behind another's 2 ms transaction can sleep 100 ms and more. Each
connection here first takes a turn on ``<database>.writers``: an ``flock`` shared by
every process that opens the database, tried every fraction of a millisecond by one
thread of each process at a time (the others wait on a lock of the process). SQLite's
own locking still decides what is safe: a turn that cannot be had within
``WAIT_SECONDS`` (a writer stopped in a debugger) is skipped, and the write waits on
SQLite's busy timeout as before.

A turn starts with a transaction that may write (its ``BEGIN IMMEDIATE``), or before the
first INSERT, UPDATE, DELETE or REPLACE of a connection that holds none, and ends with its
commit or rollback.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections import Counter
from typing import Any

try:
    import fcntl
except ImportError:  # not on Windows: there SQLite's busy handler alone orders writers
    fcntl = None  # type: ignore[assignment]

WAIT_SECONDS = 30.0
FIRST_PAUSE_SECONDS = 0.0002
LONGEST_PAUSE_SECONDS = 0.002
WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE", "BEGIN IMMEDIATE")

_turns_held = Counter[int]()  # thread id -> turns it holds (on any connection)
_process_locks: dict[str, threading.Lock] = {}  # lock file -> the queue of this process's writers
_turns_lock = threading.Lock()


class WriterTurn:
    """One connection's claim on the lock file of its database. The threads of a process
    queue on a lock of the process first, blocking without the interpreter lock, so that
    only one thread at a time tries the lock file: waiting writers do not take turns at
    the interpreter lock the writer in hand needs to finish."""

    def __init__(self, lock_path: str):
        self.descriptor = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        with _turns_lock:
            self.in_process = _process_locks.setdefault(lock_path, threading.Lock())
        self.holder: int | None = None

    def take(self) -> None:
        if self.holder is not None or fcntl is None:
            return
        me = threading.get_ident()
        with _turns_lock:
            if _turns_held[me]:  # this thread writes on another connection: waiting would wait on itself
                return
        deadline = time.monotonic() + WAIT_SECONDS
        if not self.in_process.acquire(timeout=WAIT_SECONDS):
            return
        if not self._wait_for_file(deadline):
            self.in_process.release()
            return
        with _turns_lock:
            _turns_held[me] += 1
        self.holder = me

    def _wait_for_file(self, deadline: float) -> bool:
        pause = FIRST_PAUSE_SECONDS
        while True:
            try:
                fcntl.flock(self.descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return True
            except BlockingIOError:
                if time.monotonic() > deadline:
                    return False
                time.sleep(pause)
                pause = min(pause * 1.5, LONGEST_PAUSE_SECONDS)

    def give_back(self) -> None:
        if self.holder is None:
            return
        fcntl.flock(self.descriptor, fcntl.LOCK_UN)
        with _turns_lock:
            _turns_held[self.holder] -= 1
        self.holder = None
        self.in_process.release()

    def close(self) -> None:
        self.give_back()
        os.close(self.descriptor)


class TurnTakingConnection(sqlite3.Connection):
    """A pysqlite connection that gives its turn back when its transaction ends."""

    turn: WriterTurn | None = None

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self._turn_over()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self._turn_over()

    def close(self) -> None:
        try:
            super().close()
        finally:
            if self.turn is not None:
                self.turn.close()
                self.turn = None

    def _turn_over(self) -> None:
        if self.turn is not None and not self.in_transaction:
            self.turn.give_back()


def lock_path(database: str) -> str:
    return f"{database}.writers"


def before_write(connection: Any, statement: str) -> None:
    """Take ``connection``'s turn if ``statement`` opens a write transaction."""
    if not isinstance(connection, TurnTakingConnection) or connection.turn is None:
        return
    if connection.turn.holder is None and statement.lstrip()[:15].upper().startswith(WRITES):
        connection.turn.take()
