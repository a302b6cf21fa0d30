"""Verdicts, reports and rows as the verdict store keeps them (JSON naming grader's own data
classes and enums, built back from nothing else); the service's pickles, read back by an
unpickler that only builds grader's data classes and plain values; and a read-only view of a
verdict store for the workers on the same machine."""

from __future__ import annotations

import base64
import dataclasses
import enum
import hashlib
import importlib
import io
import json
import math
import pickle
import sqlite3
import sys
import zlib
from collections.abc import Mapping
from fractions import Fraction
from pathlib import Path
from typing import Any

from grader.batch.integrity import intact, store_key

# A blob that starts so is a compressed pickle (a pickle of protocol 2 or later starts with b"\x80").
PACKED = b"zlib:"


def dumps(value: Any) -> bytes:
    return pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)


def packed(value: Any) -> str:
    """A verdict, report or summary row as the verdict store keeps it: JSON text (grader's data
    classes and enums named by their class), read back by :func:`unpacked`."""
    return json.dumps(_plain(value), separators=(",", ":"), allow_nan=False)


def unpacked(text: str | bytes) -> Any:
    """The value :func:`packed` wrote, or None when it cannot be read back (another grader
    wrote it, or it names a class that is not grader's data class or enum)."""
    try:
        return json.loads(text, object_hook=_built)
    except (ValueError, TypeError, KeyError, AttributeError, ImportError, RecursionError):
        return None


_BIG_INT_BITS = 12_000  # past about 3,600 digits JSON's readers refuse an integer: kept in hex


def _plain(value: Any) -> Any:  # noqa: PLR0911 (one case a type)
    """``value`` as JSON's plain values; what JSON has no value for is a one-key object."""
    kind = type(value)
    if value is None or kind is str or kind is bool:
        return value
    if kind is int:
        return value if value.bit_length() < _BIG_INT_BITS else {"$int": hex(value)}
    if kind is float:
        return value if math.isfinite(value) else {"$float": repr(value)}
    if kind is list:
        return [_plain(item) for item in value]
    if kind is dict:
        if all(type(key) is str and not key.startswith("$") for key in value):
            return {key: _plain(item) for key, item in value.items()}
        return {"$dict": [[_plain(key), _plain(item)] for key, item in value.items()]}
    if kind is tuple:
        return {"$tuple": [_plain(item) for item in value]}
    if isinstance(value, enum.Enum):
        return {"$enum": _class_name(kind), "name": value.name}
    if dataclasses.is_dataclass(value):
        fields = (
            vars(value)
            if hasattr(value, "__dict__")
            else {field.name: getattr(value, field.name) for field in dataclasses.fields(value)}
        )
        return {"$class": _class_name(kind), "fields": {name: _plain(item) for name, item in fields.items()}}
    return _other(value)


def _other(value: Any) -> Any:
    """Sets, complex numbers, fractions, bytes and numpy's values, as plain values."""
    if isinstance(value, set | frozenset):
        return {"$set" if type(value) is set else "$frozenset": [_plain(item) for item in value]}
    if type(value) is complex:
        return {"$complex": [_plain(value.real), _plain(value.imag)]}
    if type(value) is Fraction:
        return {"$fraction": [_plain(value.numerator), _plain(value.denominator)]}
    if type(value) is bytes:
        return {"$bytes": base64.b64encode(value).decode()}
    numpy = sys.modules.get("numpy")
    if numpy is not None and isinstance(value, numpy.ndarray) and value.dtype.kind in "biufc":
        return {
            "$array": value.dtype.str,
            "shape": list(value.shape),
            "items": _plain(value.ravel().tolist()),
        }
    if numpy is not None and isinstance(value, numpy.generic) and value.dtype.kind in "biufc":
        return {"$scalar": value.dtype.str, "item": _plain(value.item())}
    # Nothing grader stores; written so it reads back as nothing (decided again), never wrongly.
    return {"$unreadable": type(value).__qualname__}


def _class_name(kind: type) -> str:
    return f"{kind.__module__}:{kind.__qualname__}"


def _grader_class(name: str, enumeration: bool) -> Any:
    """Grader's data class (or enum) named so; anything else raises."""
    module, _, qualname = name.partition(":")
    if module != "grader" and not module.startswith("grader."):
        raise TypeError(f"{name} is not stored by grader")
    found: Any = importlib.import_module(module)
    for part in qualname.split("."):
        found = getattr(found, part)
    wanted = issubclass(found, enum.Enum) if enumeration else dataclasses.is_dataclass(found)
    if not isinstance(found, type) or not wanted:
        raise TypeError(f"{name} is not stored by grader")
    return found


def _built(plain: dict[str, Any]) -> Any:
    """The value a one-key object of :func:`_plain` stands for (a plain object as it is)."""
    if not plain or not next(iter(plain)).startswith("$"):
        return plain
    tag, content = next(iter(plain.items()))
    if tag == "$class":
        instance = object.__new__(_grader_class(content, enumeration=False))
        for name, item in plain["fields"].items():
            object.__setattr__(instance, name, item)
        return instance
    if tag == "$enum":
        return _grader_class(content, enumeration=True)[plain["name"]]
    if tag == "$tuple":
        return tuple(content)
    if tag == "$dict":
        return {_hashable(key): item for key, item in content}
    if tag in ("$set", "$frozenset"):
        return (set if tag == "$set" else frozenset)(_hashable(item) for item in content)
    return _number(tag, plain)


def _number(tag: str, plain: dict[str, Any]) -> Any:
    content = plain[tag]
    if tag == "$int":
        return int(content, 16)
    if tag == "$float":
        return float(content)
    if tag == "$complex":
        return complex(*content)
    if tag == "$fraction":
        return Fraction(*content)
    if tag == "$bytes":
        return base64.b64decode(content)
    import numpy

    if tag == "$array":
        return numpy.array(plain["items"], dtype=numpy.dtype(content)).reshape(plain["shape"])
    if tag == "$scalar":
        return numpy.dtype(content).type(plain["item"])
    raise TypeError(f"{tag} is not stored by grader")


def _hashable(value: Any) -> Any:
    return tuple(_hashable(item) for item in value) if type(value) is list else value


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
        return unpacked(row[0])
