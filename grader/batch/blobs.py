"""Verdicts and reports as stored blobs: pickles read back by an unpickler that only builds
grader's own data classes and plain values, whatever the file holds; and a read-only view of a
verdict store for the workers on the same machine."""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import io
import json
import pickle
import sqlite3
import zlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from grader.batch.integrity import intact, store_key

# A blob that starts so is a compressed pickle (a pickle of protocol 2 or later starts with b"\x80").
PACKED = b"zlib:"


def dumps(value: Any) -> bytes:
    return pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)


def packed(value: Any) -> bytes:
    """A report or a summary row as the store keeps it: pickled and compressed (zlib's fastest
    level: about a third of the bytes, for 0.15 ms of the worker's time a sheet; a large
    class's storing is bounded by the bytes it writes: a row of 45 parts, 5.7 KB, becomes
    2 KB). Read back by :func:`loads` as any blob."""
    return PACKED + zlib.compress(dumps(value), 1)


def blob_digest(blob: bytes | str) -> str:
    """What a stored submission's seal covers of its report blob: its SHA-256 (kept beside it,
    so a run that reads rows only never reads a report's bytes)."""
    return hashlib.sha256(blob if isinstance(blob, bytes) else blob.encode()).hexdigest()


def records_text(records: Mapping[str, str]) -> str:
    """A submission's answer digests or file records (by name) as the store keeps them."""
    return json.dumps(records, sort_keys=True)


_SAFE_GLOBALS = {
    ("copyreg", "_reconstructor"),
    ("builtins", "object"),
    ("builtins", "set"),
    ("builtins", "frozenset"),
    ("builtins", "complex"),
    ("fractions", "Fraction"),
    ("numpy", "dtype"),
    ("numpy", "ndarray"),
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "scalar"),
}


class _GraderUnpickler(pickle.Unpickler):
    """Builds grader's classes and plain values only, whatever the file holds."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _SAFE_GLOBALS:
            return super().find_class(module, name)
        if module.startswith("grader."):
            found = super().find_class(module, name)
            # Data classes and enums only: no function, no class whose constructor acts.
            if isinstance(found, type) and (dataclasses.is_dataclass(found) or issubclass(found, enum.Enum)):
                return found
        raise pickle.UnpicklingError(f"{module}.{name} is not stored by grader")


def loads(blob: bytes) -> Any:
    """The stored value, or None when it cannot be read back (another grader wrote it)."""
    try:
        return read_back(blob)
    except Exception:
        return None


def read_back(blob: bytes | bytearray | memoryview) -> Any:
    """The value, built by the same unpickler (grader's data classes and plain values only);
    a blob it cannot build raises instead of reading as None."""
    if blob[: len(PACKED)] == PACKED:
        blob = zlib.decompress(memoryview(blob)[len(PACKED) :])
    return _GraderUnpickler(io.BytesIO(blob)).load()


class StoredVerdicts:
    """Read-only lookups in a verdict store by (part digest, answer digest), for a worker:
    what another worker (or an earlier run) decided is not decided again."""

    def __init__(self, path: Path | str):
        self.path = Path(path)
        self._db: sqlite3.Connection | None = None
        self._unreadable = False
        self._key: bytes | None = None  # the store's key (read where the store is read)

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    def get(self, part: str, answer: str) -> Any:
        """The stored verdict, or None (none stored, or the store cannot be read here)."""
        if self._unreadable:
            return None
        try:
            if self._db is None:  # opened in the worker process, after it was forked
                self._db = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=1)
                self._key = store_key()
            row = self._db.execute(
                "SELECT verdict, mac FROM verdicts WHERE part = ? AND answer = ?", (part, answer)
            ).fetchone()
        except sqlite3.Error:  # not on this machine (a Dask worker elsewhere), or not there yet
            self._unreadable = self._db is None
            return None
        if row is None or self._key is None or not intact(self._key, row[1], part, answer, row[0]):
            return None  # absent, or not sealed by this store's key: decided anew
        return loads(row[0])
