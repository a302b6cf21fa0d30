"""Writing finished submissions into the verdict store: in the driver, or in a process of its own.

What the store keeps of a chunk of finished submissions is a :data:`StoreBatch` of plain
strings and bytes (the workers pickled and digested the blobs, see
grader.batch.worker.StoreBlobs); :func:`write_batch` seals each entry with the store's key
and inserts the batch in one transaction. A large class run hands its batches to a
:class:`StoreWriter`: a process that only writes (``python -m grader.batch.storewriter``,
which imports sqlite3 and the seal, nothing else), so that sealing and SQLite's writing of
about 27 KB a sheet take none of the driver's time while it takes in the next results
(a thread of the driver would share its interpreter lock: the driver took in half as many
sheets a second).

The writer is the store's only writer while it runs (the driver reads). It writes the
batches in the order sent. It never stops half-way through what it received: it runs in a
session of its own (Ctrl-C at the terminal stops the driver only) and ignores SIGINT and
SIGTERM; when the driver ends, stopped or killed, its input ends, and it writes every batch
it has read, then exits: a batch it was sent in full is stored, so the driver's crash loses
no finished submission. A failure to write (a full disk) ends it; the driver then says why,
as for its own writes.

The writer has SQLite's write-ahead log copied into the store's file by a process of its own
(:class:`Checkpointer`), never inside its commits, and emptied when it ends: the driver
tells it when no more batches come (:meth:`StoreWriter.end_input`) and makes ``grades.csv``
and the dashboard meanwhile.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import pickle
import queue
import select
import signal
import sqlite3
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import IO, Any

from grader.batch.blobs import read_back
from grader.batch.integrity import seal
from grader.batch.spool import Spool, SpooledEntry, SpooledVerdict

# (folder, source, problem set, answers, artefacts, made_from, report, row, report digest)
SubmissionFields = tuple[str, str, str, str, str, str, bytes, bytes, str]
VerdictFields = SpooledVerdict  # (part digest, answer digest, pickled verdict)
# Spool files of the workers (grader.batch.spool) and the folders whose entries each holds,
# with their problem-set keys: (file name, {folder: problem set})
SpooledFields = tuple[str, dict[str, str]]
# (folders whose grading failed: their entry removed, verdicts, submissions, spooled submissions)
StoreBatch = tuple[list[str], list[VerdictFields], list[SubmissionFields], list[SpooledFields]]

_HEADER = struct.Struct(">Q")
BACKLOG = 16  # batches read but not yet written, at most (then the driver's writes wait)
BUSY_SECONDS = 60.0  # another process holding the store's write lock
# A transaction stores the batches that came within this long of its first (the driver's
# crash loses none of them: the writer stores what it read), up to this many sheets.
MERGE_SECONDS = 0.25
MERGE_SUBMISSIONS = 512
CHECKPOINT_SECONDS = 0.25  # see Checkpointer
LAST_CHECKPOINT_WAIT_MS = 200  # for the store's readers, before the log is emptied
UNSTORED = "unstored "  # what the writer says at its end when spooled submissions were not stored


def connect(path: Path | str) -> sqlite3.Connection:
    """A connection to the store as every writer of it opens one."""
    db = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=BUSY_SECONDS)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    return db


class RecentKeys:
    """The keys of the verdicts a store's writer stored last, up to ``size`` of them (the
    oldest go first): a verdict that several workers decided at about the same time is written
    once. Bounded, because a server writes new verdicts all term; one written again after its
    key went out is only written twice (the same row, by its primary key)."""

    def __init__(self, size: int):
        self.size = size
        self._keys: dict[tuple[str, str], None] = {}  # in the order stored

    def __contains__(self, key: object) -> bool:
        return key in self._keys

    def __len__(self) -> int:
        return len(self._keys)

    def update(self, keys: Iterable[tuple[str, str]]) -> None:
        self._keys.update(dict.fromkeys(keys))
        for old in list(itertools.islice(self._keys, max(len(self._keys) - self.size, 0))):
            del self._keys[old]


def write_batch(
    db: sqlite3.Connection,
    key: bytes,
    saved: set[tuple[str, str]] | RecentKeys,
    batch: StoreBatch,
    spool: Spool | None = None,
) -> int:
    """Seal and insert a batch in one transaction (its spooled entries read from ``spool``, whose
    files are then removed). A verdict is keyed by its content: one this writer stored already
    (``saved``, updated once the batch is committed) is not written again. How many spooled
    submissions were not stored (their file missing or not sealed with the run's key): their
    entries are removed, so they are graded again."""
    failed, verdicts, submissions, spooled = batch
    failed, verdicts, submissions = list(failed), list(verdicts), list(submissions)
    unstored = 0
    for name, folders in spooled:
        found = spool.read(name) if spool is not None else None
        taken = _unspooled(found[1] if found else [], folders)
        verdicts += found[0] if found else []
        submissions += taken
        lost = folders.keys() - {entry[0] for entry in taken}
        failed += sorted(lost)
        unstored += len(lost)
    fresh: set[tuple[str, str]] = set()
    sealed_verdicts = []
    for part, answer, blob in verdicts:
        if (part, answer) in saved or (part, answer) in fresh:
            continue
        fresh.add((part, answer))
        sealed_verdicts.append((part, answer, blob, seal(key, part, answer, blob)))
    rows = [
        (folder, source, problem_set, answers, artefacts, made_from, report, mac, row, digest)
        for folder, source, problem_set, answers, artefacts, made_from, report, row, digest in submissions
        for mac in (seal(key, folder, source, problem_set, answers, artefacts, made_from, digest, row),)
    ]
    db.execute("BEGIN IMMEDIATE")
    try:
        # A folder is in one of the lists at most once in a run (each is graded once).
        db.executemany("DELETE FROM submissions WHERE folder = ?", [(folder,) for folder in failed])
        db.executemany("INSERT OR REPLACE INTO verdicts VALUES (?, ?, ?, ?)", sealed_verdicts)
        db.executemany(
            "INSERT OR REPLACE INTO submissions (folder, source, problem_set, answers, artefacts, "
            "made_from, report, mac, row, report_digest) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")
    saved.update(fresh)
    if spool is not None:
        for name, _ in spooled:
            spool.remove(name)
    return unstored


def _unspooled(entries: list[SpooledEntry], folders: dict[str, str]) -> list[SubmissionFields]:
    """The entries of the folders the driver took in from a spool file, with their problem-set keys."""
    return [
        (folder, source, folders[folder], answers, artefacts, made_from, report, row, digest)
        for folder, source, answers, artefacts, made_from, report, row, digest in entries
        if folder in folders
    ]


class StoreWriterFailed(sqlite3.OperationalError):
    """The store's writer process could not write (its message says why) or ended."""


class StoreWriter:
    """The driver's side of a writer process: :meth:`send` a batch (it returns once the
    process has read it, or at once when the pipe has room), :meth:`close` waits until
    every batch sent is written."""

    def __init__(self, path: Path, key: bytes, spool: Spool | None = None):
        self.process = subprocess.Popen(
            [sys.executable, "-m", "grader.batch.storewriter", str(path)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            # Out of the driver's process group: Ctrl-C at the terminal stops the driver, whose
            # input ends, and the writer ends once it has written what it read.
            start_new_session=True,
        )
        assert self.process.stdin is not None
        self._input: IO[bytes] = self.process.stdin
        with contextlib.suppress(AttributeError, OSError):  # a larger pipe: a chunk's batch fits
            import fcntl

            fcntl.fcntl(self._input.fileno(), fcntl.F_SETPIPE_SZ, 1 << 20)
        self.failure: StoreWriterFailed | None = None  # what stopped the writer, once known
        self.unstored = 0  # spooled submissions not stored (see write_batch), once it ended
        self.spool = spool
        self._send_frame(key)
        self._send_frame(pickle.dumps((str(spool.folder), spool.key) if spool else None))

    def send(self, batch: StoreBatch) -> None:
        self._send_frame(pickle.dumps(batch, protocol=pickle.HIGHEST_PROTOCOL))

    def _send_frame(self, data: bytes) -> None:
        if self.failure is not None:
            raise self.failure
        try:
            self._input.write(_HEADER.pack(len(data)))
            self._input.write(data)
            self._input.flush()
        except (BrokenPipeError, ValueError):
            self._raise_failure()

    def end_input(self) -> None:
        """Say that no more batches come: the writer stores the last ones and ends, while
        this process goes on (then :meth:`close` waits for it)."""
        if self.failure is None and self.process.stdin is not None:
            with contextlib.suppress(OSError):  # the writer ended already: close says why
                self._input.close()
            self.process.stdin = None  # communicate (in close) has no input to end

    def close(self) -> None:
        """Wait until every batch sent is written; raise what stopped the writer, if anything did."""
        if self.failure is None:
            told, error = self._finish()
            if self.process.returncode != 0:
                self.failure = _failure(told, error, self.process.returncode)
            else:
                self.unstored = int(told.decode("ascii", "replace").partition(UNSTORED)[2] or 0)
        if self.failure is not None:
            raise self.failure

    def abandon(self) -> None:
        """The run stops on an error of its own: the writer still writes what it was sent."""
        if self.failure is None:
            self._finish()

    def _finish(self) -> tuple[bytes, bytes]:
        """Close the writer's input (it writes what it read, then ends), wait for it; what it said."""
        try:
            told, error = self.process.communicate()
        except (BrokenPipeError, ValueError, OSError):
            self.process.wait()
            told, error = b"", b""
        return told or b"", error or b""

    def _raise_failure(self) -> None:
        if self.failure is None:
            told, error = self._finish()
            self.failure = _failure(told, error, self.process.returncode)
        raise self.failure


def _failure(told: bytes, error: bytes, code: int | None) -> StoreWriterFailed:
    """What stopped the writer: its own message (SQLite's), or how it ended."""
    message = told.decode("utf-8", "replace").strip()
    if message:
        return StoreWriterFailed(message)
    lines = error.decode("utf-8", "replace").strip().splitlines()
    how = lines[-1] if lines else f"exit code {code}"
    return StoreWriterFailed(f"the process writing the verdict store ended ({how})")


def _read_exactly(stream: IO[bytes], size: int) -> bytes | None:
    data = bytearray()
    while len(data) < size:
        piece = stream.read(size - len(data))
        if not piece:
            return None
        data += piece
    return bytes(data)


def _read_frame(stream: IO[bytes]) -> bytes | None:
    header = _read_exactly(stream, _HEADER.size)
    if header is None:
        return None
    return _read_exactly(stream, _HEADER.unpack(header)[0])


def _reader(stream: IO[bytes], batches: queue.Queue[Any]) -> None:
    """Read batches as they come (so the driver never waits for a transaction), then None."""
    try:
        while (frame := _read_frame(stream)) is not None:
            batches.put(read_back(frame))  # plain values only, as the store's blobs are read
    finally:
        batches.put(None)


def _merged(batches: queue.Queue[Any], wait: float = MERGE_SECONDS) -> StoreBatch | None:
    """The next batch, with those read since merged into it: one transaction for them all
    (each commit rewrites the tables' upper pages and the last leaf, 64 KB each: a chunk of
    16 sheets a transaction wrote half again as much). Batches that come within ``wait``
    seconds of the first, up to :data:`MERGE_SUBMISSIONS` sheets, are merged. None at the end
    of the input, once every batch read before it is returned."""
    first = batches.get()
    if first is None:
        return None
    failed, verdicts, submissions, spooled = (list(part) for part in first)
    until = time.monotonic() + wait
    while len(submissions) + len(failed) < MERGE_SUBMISSIONS:
        try:
            more = batches.get(timeout=max(0.0, until - time.monotonic()))
        except queue.Empty:
            break
        if more is None:
            batches.put(None)  # the end: after this batch
            break
        failed += more[0]
        verdicts += more[1]
        submissions += more[2]
        spooled += more[3]
    return failed, verdicts, submissions, spooled


def main(path: str) -> int:
    # Stopped with the driver (Ctrl-C reaches the whole process group) or on its own, the
    # writer still writes what it has read: it ends when its input does.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    stream = sys.stdin.buffer
    key, spool_frame = _read_frame(stream), _read_frame(stream)
    if key is None or spool_frame is None:
        return 0
    spool_where = read_back(spool_frame)
    spool = Spool(Path(spool_where[0]), spool_where[1]) if spool_where else None
    batches: queue.Queue[Any] = queue.Queue(BACKLOG)
    threading.Thread(target=_reader, args=(stream, batches), daemon=True).start()
    db = connect(path)
    try:
        checkpointer: Checkpointer | None = Checkpointer(path)
        db.execute("PRAGMA wal_autocheckpoint=0")  # the checkpointer's process does it
    except OSError:  # no process to be had: SQLite checkpoints inside the commits, as by default
        checkpointer = None
    saved: set[tuple[str, str]] = set()
    unstored = 0
    try:
        while (batch := _merged(batches)) is not None:
            unstored += write_batch(db, key, saved, batch, spool)
        # What the run stored, in the store's file: the driver's close has none to copy.
        checkpointer.finish() if checkpointer is not None else db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    except sqlite3.Error as exc:
        sys.stdout.write(str(exc))  # the driver's message reads it (a full disk, a read-only store)
        sys.stdout.flush()
        os._exit(1)  # the reader thread may be blocked reading: no clean exit to wait for
    finally:
        db.close()
    if unstored:
        sys.stdout.write(f"{UNSTORED}{unstored}")  # the driver's close reads it
    return 0


class Checkpointer:
    """Copies the store's write-ahead log into its file every :data:`CHECKPOINT_SECONDS`, from a
    process of its own (``python -m grader.batch.storewriter --checkpoints PATH``, started by the
    writer) with a connection of its own, while the writer inserts: a checkpoint waits for the
    disk twice (it syncs the log, then the file), and inside a commit (SQLite's automatic
    checkpoints) that wait stopped the writer, whose backlog then stopped the driver (on
    2026-11-24, 2.4 s of a 50,000-sheet run's 6.9 s of intake went to waiting so). In a thread of
    the writer (until 2026-11-25) its copying took a sixth of the writer's CPU time, on the core
    the writer's own work needs. The process ends when its input does (the writer tells it, or
    the writer ended): it copies what is left and empties the log first."""

    def __init__(self, path: str):
        self.process = subprocess.Popen(
            [sys.executable, "-m", "grader.batch.storewriter", "--checkpoints", path],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )

    def finish(self) -> None:
        """Have it copy what is left of the log and empty it, and wait until it has (raise what
        stopped a checkpoint, if anything did). Emptying it waits for the store's readers (the
        driver between two reads) at most :data:`LAST_CHECKPOINT_WAIT_MS`; a reader still in the
        log then keeps it, and the last connection to close empties it, as SQLite does. The log
        of a large run is hundreds of MB: emptied here, while the driver makes the dashboard."""
        told, error = self.process.communicate()
        if self.process.returncode != 0:
            raise _failure(told, error, self.process.returncode)


def checkpoints(path: str) -> int:
    """The checkpointer process (see :class:`Checkpointer`): a passive checkpoint every
    :data:`CHECKPOINT_SECONDS` until its input ends, then the last one, which empties the log."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # as the writer: it ends when its input does
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    db = connect(path)
    try:
        while not select.select([sys.stdin], [], [], CHECKPOINT_SECONDS)[0]:
            db.execute("PRAGMA wal_checkpoint(PASSIVE)")
        db.execute(f"PRAGMA busy_timeout = {LAST_CHECKPOINT_WAIT_MS}")
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # busy: as much as it could, no error
    except sqlite3.Error as exc:  # a full disk: the writer's own next write says so too
        sys.stdout.write(str(exc))
        return 1
    finally:
        db.close()
    return 0


if __name__ == "__main__":
    sys.exit(checkpoints(sys.argv[2]) if sys.argv[1] == "--checkpoints" else main(sys.argv[1]))
