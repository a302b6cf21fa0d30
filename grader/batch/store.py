"""The verdict store: an SQLite file that lets a re-run regrade only what changed.

Two tables, both keyed by content:

* ``verdicts``: (part digest, answer digest) -> verdict. The part digest covers
  every field of the part as graded (the problem set's defaults merged in) and
  grader's code version, so editing any field of a part, or upgrading grader,
  can never serve an old verdict. Only verdicts a re-run would reproduce are
  stored: not a wall-clock stop, a memory limit or a crash; a CPU-time limit
  reached is (the part digest holds the limit, so raising it regrades).
* ``submissions``: folder -> what its last grading read and wrote: the digest
  of the folder's files, the digest of the problem set, each answer's digest,
  the report, its summary row (grader.core.summary: what grades.csv and the
  dashboard read), and a digest of every file written. A run reads the rows; a
  report is read only where a whole one is wanted (:meth:`VerdictStore.report`). A re-run whose folder and
  problem set are unchanged and whose files are intact on disk sends nothing to
  a worker; a submission whose finished row is here survives an interrupted run.

Verdicts, reports and rows are JSON text (grader.core.plainjson.packed), each entry sealed
with the store's MAC: ``sqlite3 .grader-store.sqlite 'SELECT verdict FROM verdicts'`` reads
them; a store of an older schema is started anew (its submissions regraded), never misread.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from grader.batch.reading import VerdictKey
from grader.batch.studentfiles import STORE_FILE as STORE_FILE  # where it was
from grader.batch.studentfiles import content_digest as content_digest  # where it was
from grader.batch.worker import Graded, blob_digest, records_text
from grader.core.integrity import intact, seal, store_key
from grader.core.plainjson import unpacked as _loads
from grader.core.report import Report
from grader.core.summary import SheetRow
from grader.core.verdict import Verdict
from grader.versions import code_version as code_version  # where it was

# A submission's entry is about 27 KB (its report, its row): in pages of 64 KiB most fit one page,
# where pages of 4 KiB (SQLite's default) chain eight, and a class is stored in half the time.
# Only a new store of a class run is made so (an existing file keeps its pages; the contents are
# the same either way); the service, which stores one submission a transaction, keeps 4 KiB.
CLASS_PAGE_BYTES = 65536
SCHEMA_VERSION = "5"  # 5: JSON entries (4 and older: pickles, never read)
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS verdicts (
    part TEXT NOT NULL, answer TEXT NOT NULL, verdict TEXT NOT NULL, mac TEXT NOT NULL,
    PRIMARY KEY (part, answer)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS submissions (
    folder TEXT PRIMARY KEY, source TEXT NOT NULL, problem_set TEXT NOT NULL,
    answers TEXT NOT NULL, artefacts TEXT NOT NULL, made_from TEXT NOT NULL, report TEXT NOT NULL,
    mac TEXT NOT NULL, row TEXT NOT NULL, report_digest TEXT NOT NULL
);
"""


# A submission's sealed columns but its report (covered by the report's digest), as selected.
_SEALED = "source, problem_set, answers, artefacts, made_from, mac, row, report_digest"

# (folder, source, problem set, answers, artefacts, made_from, report, row, report digest)
SubmissionFields = tuple[str, str, str, str, str, str, str, str, str]


@dataclass(frozen=True)
class StoredSubmission:
    folder: str
    source: str  # digest of the folder's files
    problem_set: str  # digest of the problem set, the rendering options and the file stem
    answers: dict[str, str]  # part address -> answer digest
    artefacts: dict[str, str]  # file name -> digest of its content, then its size, time and inode
    made_from: str  # digest of the report the files were made from
    row: SheetRow  # the report's summary row (the report itself: VerdictStore.report)


# (graded, source digest, problem-set digest, file records: by name, or as the store keeps them)
Finished = tuple[Graded, str, str, dict[str, str] | str]


class VerdictStore:
    """The store; every entry sealed with a keyed MAC (see integrity), checked on every read:
    an entry that fails is never served (its submission or verdict is regraded) and counted
    in ``rejected``."""

    def __init__(self, path: Path | str, key: bytes | None = None, page_bytes: int = 0):
        """Open (or make) the store at ``path``; ``page_bytes``: the page size of a new file
        (a class run's: :data:`CLASS_PAGE_BYTES`; else SQLite's default)."""
        self.path = Path(path)
        self.key = store_key() if key is None else key
        self.rejected = 0
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        if page_bytes and self._db.execute("PRAGMA page_count").fetchone()[0] == 0:  # a new file
            self._db.execute(f"PRAGMA page_size = {int(page_bytes)}")
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        if self.meta("schema") != SCHEMA_VERSION:  # new, or written by another grader: start anew
            self.clear()

    def meta(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        self._db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    def clear(self) -> None:
        with self._transaction():
            for table in ("verdicts", "submissions", "meta"):
                self._db.execute(f"DROP TABLE IF EXISTS {table}")
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    self._db.execute(statement)
            self._db.execute("INSERT INTO meta VALUES ('schema', ?)", (SCHEMA_VERSION,))

    def counts(self) -> tuple[int, int]:
        """(stored verdicts, stored submissions)."""
        verdicts = self._db.execute("SELECT count(*) FROM verdicts").fetchone()[0]
        submissions = self._db.execute("SELECT count(*) FROM submissions").fetchone()[0]
        return int(verdicts), int(submissions)

    def submissions(self) -> dict[str, StoredSubmission]:
        """Every stored submission's record and summary row (not its report)."""
        rows = self._db.execute(f"SELECT folder, {_SEALED} FROM submissions")
        found = {}
        for folder, source, problem_set, answers, artefacts, made_from, mac, row, digest in rows:
            sealed = (folder, source, problem_set, answers, artefacts, made_from, digest, row)
            if not intact(self.key, mac, *sealed):
                self.rejected += 1
                continue
            loaded = _loads(row)
            if isinstance(loaded, SheetRow):
                found[folder] = StoredSubmission(
                    folder, source, problem_set, json.loads(answers), json.loads(artefacts), made_from, loaded
                )
        return found

    def report(self, folder: str) -> Report | None:
        """The stored report of a submission folder (None: none, or not intact)."""
        found = self._db.execute(
            f"SELECT {_SEALED}, report FROM submissions WHERE folder = ?", (folder,)
        ).fetchone()
        if found is None:
            return None
        source, problem_set, answers, artefacts, made_from, mac, row, digest, report = found
        sealed = (folder, source, problem_set, answers, artefacts, made_from, digest, row)
        if not intact(self.key, mac, *sealed) or blob_digest(report) != digest:
            self.rejected += 1
            return None
        loaded = _loads(report)
        return loaded if isinstance(loaded, Report) else None

    def verdicts(self, keys: Sequence[VerdictKey]) -> dict[VerdictKey, Verdict]:
        """The stored verdicts among ``keys`` (one primary-key lookup each)."""
        found = {key: _loads(blob) for key, blob in self.verdict_blobs(keys).items()}
        return {key: verdict for key, verdict in found.items() if isinstance(verdict, Verdict)}

    def save_verdicts(self, verdicts: Iterable[tuple[str, str, str]]) -> None:
        """Store (part digest, answer digest, verdict as JSON) rows alone, in one transaction."""
        self._write([], verdicts, [])

    def verdict_blobs(self, keys: Iterable[VerdictKey]) -> dict[VerdictKey, str]:
        """The stored verdicts among ``keys``, as stored (intact ones only)."""
        found: dict[VerdictKey, str] = {}
        query = "SELECT verdict, mac FROM verdicts WHERE part = ? AND answer = ?"
        for key in keys:
            row = self._db.execute(query, key).fetchone()
            if row is None:
                continue
            if intact(self.key, row[1], *key, row[0]):
                found[key] = str(row[0])
            else:
                self.rejected += 1
        return found

    def rekey(self, kept: Iterable[tuple[str, str, str]]) -> None:
        """Give each (folder, problem-set digest, row) its new problem-set digest and row, and
        a new seal, in one transaction: a sheet kept as it is after an edit of the problem
        file (see grader.batch.edits). An entry that fails its check is left as it is."""
        with self._transaction():
            for folder, problem_set, row in kept:
                self._rekey_one(folder, problem_set, row)

    def _rekey_one(self, folder: str, problem_set: str, row: str) -> None:
        found = self._db.execute(f"SELECT {_SEALED} FROM submissions WHERE folder = ?", (folder,)).fetchone()
        if found is None:
            return
        source, old_key, answers, artefacts, made_from, mac, old_row, digest = found
        if not intact(self.key, mac, folder, source, old_key, answers, artefacts, made_from, digest, old_row):
            self.rejected += 1
            return
        mac = seal(self.key, folder, source, problem_set, answers, artefacts, made_from, digest, row)
        self._db.execute(
            "UPDATE submissions SET problem_set = ?, row = ?, mac = ? WHERE folder = ?",
            (problem_set, row, mac, folder),
        )

    def save(self, finished: Iterable[Finished]) -> None:
        """Store each (graded, source digest, problem-set digest, file records) in one transaction:
        a failed submission's entry is removed (it is graded again)."""
        failed: list[str] = []
        verdicts: list[tuple[str, str, str]] = []
        submissions = []
        for graded, source, problem_set, artefacts in finished:
            if graded.failed:
                failed.append(graded.task.key)
                continue
            verdicts += [(*key, blob) for key, blob in graded.verdicts.items()]
            submissions.append(self._submission(graded, source, problem_set, artefacts))
        self._write(failed, verdicts, submissions)

    def _write(
        self,
        failed: list[str],
        verdicts: Iterable[tuple[str, str, str]],
        submissions: list[SubmissionFields],
    ) -> None:
        """Seal and insert in one transaction (a verdict decided twice is written once)."""
        fresh: dict[VerdictKey, tuple[str, str, str, str]] = {}
        for part, answer, blob in verdicts:
            fresh.setdefault((part, answer), (part, answer, blob, seal(self.key, part, answer, blob)))
        rows = [
            (folder, source, problem_set, answers, files, made_from, report, mac, row, digest)
            for folder, source, problem_set, answers, files, made_from, report, row, digest in submissions
            for mac in (seal(self.key, folder, source, problem_set, answers, files, made_from, digest, row),)
        ]
        with self._transaction():
            self._db.executemany("DELETE FROM submissions WHERE folder = ?", [(folder,) for folder in failed])
            self._db.executemany("INSERT OR REPLACE INTO verdicts VALUES (?, ?, ?, ?)", fresh.values())
            self._db.executemany(
                "INSERT OR REPLACE INTO submissions (folder, source, problem_set, answers, artefacts, "
                "made_from, report, mac, row, report_digest) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )

    def _submission(
        self, graded: Graded, source: str, problem_set: str, artefacts: dict[str, str] | str
    ) -> SubmissionFields:
        """The submission's entry (its entries written and digested by the worker), unsealed."""
        if not graded.settled:  # keep its answers' digests, but never serve the report as it is
            source = ""
        blobs = graded.blobs
        assert blobs is not None, f"{graded.task.key}: a graded sheet carries what the store keeps"
        files = artefacts if isinstance(artefacts, str) else records_text(artefacts)
        key, made_from = graded.task.key, graded.made_from
        return (
            key,
            source,
            problem_set,
            blobs.answers,
            files,
            made_from,
            blobs.report,
            blobs.row,
            blobs.digest,
        )

    def _transaction(self) -> _Transaction:
        return _Transaction(self._db)

    def close(self) -> None:
        self._db.close()


class _Transaction:
    def __init__(self, db: sqlite3.Connection):
        self.db = db

    def __enter__(self) -> None:
        self.db.execute("BEGIN IMMEDIATE")

    def __exit__(self, kind: object, value: object, traceback: object) -> None:
        self.db.execute("COMMIT" if kind is None else "ROLLBACK")


def remove_store(path: Path) -> bool:
    """Delete the store file and SQLite's companions; True if there was one."""
    existed = path.exists()
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return existed
