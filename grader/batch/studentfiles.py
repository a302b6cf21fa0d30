"""Writing a student's files into ``--out``: by the driver, or by the worker that graded them.

A worker writes its students' files itself when it can see the run's output
folder (every local worker; a Dask worker when ``--out`` is on a shared path it
reaches), and sends back only what the driver needs: the report and a record of
each file written. To know that the folder it sees is the driver's, and not a
folder of the same name on its own disk, a worker reads the run's marker
(:data:`OUT_MARKER`, a random token the driver writes when the run starts); a
worker that cannot read it sends the files' bytes and the driver writes them.
Either way the same bytes are written the same way: atomically, and only when
they changed.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path

from grader.core.files import write_atomic, write_if_changed

OUT_MARKER = ".grader-run"  # in --out while a run writes there: the run's token
STORE_FILE = ".grader-store.sqlite3"  # the verdict store (grader.batch.store) in --out
GRADEBOOK = "grades.csv"
CHANGES = "changes.csv"
DASHBOARD = "index.html"
# The gradebook as it was before a run that has not finished yet: a resumed run
# compares scores with it, not with the half-updated grades.csv.
PREVIOUS_GRADEBOOK = ".grades-before-run.csv"
# What a batch writes itself in --out, never a student's file (not removed as one).
BATCH_FILES = frozenset({GRADEBOOK, CHANGES, DASHBOARD, PREVIOUS_GRADEBOOK})


def content_digest(data: bytes) -> str:
    import hashlib  # here, not at the top: `grader check` names STORE_FILE and digests nothing

    return hashlib.sha256(data).hexdigest()[:32]


def write_student_files(
    out: Path, artefacts: Mapping[str, bytes], earlier: Iterable[str] = ()
) -> dict[str, str]:
    """Write a student's files (those that changed); remove files of theirs no longer made
    (a plot of a part now right). The record of every file, by name (see :func:`file_record`)."""
    for name, data in artefacts.items():
        write_if_changed(out / name, data, durable=False)  # digests are checked on re-runs
    for name in set(earlier) - set(artefacts) - BATCH_FILES:
        (out / name).unlink(missing_ok=True)
    return {name: file_record(out / name, data) for name, data in artefacts.items()}


def file_identity(path: Path) -> str:
    info = path.stat()
    return f"{info.st_size} {info.st_mtime_ns} {info.st_ino}"


def file_record(path: Path, data: bytes) -> str:
    """What the store keeps of a file written: its content's digest, and its size, time and
    inode on disk (a re-run trusts those before reading the file)."""
    try:
        return f"{content_digest(data)} {file_identity(path)}"
    except OSError:
        return content_digest(data)


def mark_output(out: Path) -> str:
    """Write a new token in ``out``'s marker for the run that starts; the token."""
    import secrets

    token = secrets.token_hex(16)
    write_atomic(out / OUT_MARKER, token, durable=False)
    return token


def unmark_output(out: Path) -> None:
    (out / OUT_MARKER).unlink(missing_ok=True)


def reachable_output(out: str | None, token: str) -> Path | None:
    """``out`` if this process sees the driver's output folder there (its marker holds
    ``token``) and may write in it, else None (the driver writes this worker's files)."""
    if not out or not token:
        return None
    folder = Path(out)
    try:
        if (folder / OUT_MARKER).read_text(encoding="utf-8") != token:
            return None
    except (OSError, UnicodeDecodeError):
        return None
    return folder if os.access(folder, os.W_OK | os.X_OK) else None
