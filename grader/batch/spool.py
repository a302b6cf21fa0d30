"""The store's entries of a chunk, written by the worker that graded it, read by the store's writer.

In a large class run the driver takes in every graded sheet, and most of a sheet's bytes are
what the verdict store keeps (the pickled report, the fresh verdicts: about 34 KB of a sheet's
42 KB), which the driver only passes on to the store's writer process. A worker that writes
its students' files in ``--out`` (see grader.batch.studentfiles) therefore writes those entries
there too, one spool file a chunk in :data:`SPOOL_FOLDER`, and sends the driver the sheets'
rows and the file's name; the driver tells the writer which file holds which folders' entries
(and the problem-set key of each, which only the driver knows), and the writer reads the file
and stores them, then deletes it.

A spool file is sealed with a key of the run (an HMAC over its name and its bytes): the writer
stores nothing from a file that is missing, altered, or another run's; those folders' entries
are removed from the store (so they are graded again next run) and counted. A file is
referenced only after its worker closed it, so a worker that dies while writing one leaves a
file that no one reads; a run removes what an earlier, interrupted run left
(:func:`clear_spool`), and its own files once the writer has stored them.

The writer process imports this: nothing of grader but the blobs' reader.
"""

from __future__ import annotations

import contextlib
import hmac
import os
import pickle
import re
import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path

from grader.batch.blobs import read_back  # grader's own classes and plain values only

SPOOL_FOLDER = ".grader-spool"  # in --out
SUFFIX = ".entries"
_NAME = re.compile(r"[0-9a-f]{32}")
_MAC_BYTES = 32

# (folder, source, answers, artefacts, made_from, report, row, report digest): a submission's
# entry as the store keeps it, but its problem-set key (the driver's)
SpooledEntry = tuple[str, str, str, str, str, bytes, bytes, str]
SpooledVerdict = tuple[str, str, bytes]  # (part digest, answer digest, pickled verdict)


def spool_folder(out: Path | str) -> Path:
    return Path(out) / SPOOL_FOLDER


def write_spool(folder: Path, key: bytes, verdicts: list[SpooledVerdict], entries: list[SpooledEntry]) -> str:
    """Write a chunk's entries in a new file of ``folder``, sealed with ``key``; its name."""
    name = secrets.token_hex(16)
    write_sealed(folder, key, name, pickle.dumps((verdicts, entries), protocol=pickle.HIGHEST_PROTOCOL))
    return name


def write_sealed(folder: Path, key: bytes, name: str, payload: bytes) -> None:
    """Write spool file ``name`` (never one that exists) with ``payload``, sealed with ``key``."""
    folder.mkdir(exist_ok=True)
    descriptor = os.open(folder / f"{name}{SUFFIX}", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as stream:
        stream.write(_mac(key, name, payload))
        stream.write(payload)


@dataclass(frozen=True)
class Spool:
    """A run's spool folder and key, as the store's writer reads them."""

    folder: Path
    key: bytes

    def read(self, name: str) -> tuple[list[SpooledVerdict], list[SpooledEntry]] | None:
        """The verdicts and entries of spool file ``name``; None when it is missing, unreadable,
        or not sealed with this key under that name (nothing of it is then stored)."""
        if not _NAME.fullmatch(name):
            return None
        try:
            with (self.folder / f"{name}{SUFFIX}").open("rb") as stream:
                mac, payload = stream.read(_MAC_BYTES), stream.read()
        except OSError:
            return None
        if not hmac.compare_digest(mac, _mac(self.key, name, payload)):
            return None
        try:
            verdicts, entries = read_back(payload)
        except Exception:
            return None
        # What is in the lists a worker of the run wrote: the seal says so.
        return (verdicts, entries) if type(verdicts) is list and type(entries) is list else None

    def remove(self, name: str) -> None:
        if _NAME.fullmatch(name):
            with contextlib.suppress(OSError):
                (self.folder / f"{name}{SUFFIX}").unlink()


def clear_spool(out: Path | str) -> None:
    """Remove ``out``'s spool folder and what is in it: what an interrupted run left, or at a
    run's end the files never referenced (a chunk graded twice after its worker died, a
    worker's whose results never came)."""
    shutil.rmtree(spool_folder(out), ignore_errors=True)


def _mac(key: bytes, name: str, payload: bytes | memoryview) -> bytes:
    sealed = hmac.new(key, name.encode("ascii"), "sha256")
    sealed.update(payload)
    return sealed.digest()
