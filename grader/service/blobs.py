"""The database's ``report`` columns as JSON text, in the batch's codec (:mod:`grader.core.plainjson`)."""

from __future__ import annotations

from typing import Any

from grader.core import plainjson


def dumps(value: Any) -> bytes:
    return plainjson.packed(value).encode("utf-8")


def loads(blob: bytes | bytearray | memoryview) -> Any:
    """The stored value, or None when it cannot be read back (another grader wrote it)."""
    return plainjson.unpacked(bytes(blob))


def read_back(blob: bytes | bytearray | memoryview) -> Any:
    """The stored value; one that cannot be read back raises, saying why."""
    value = plainjson.read_back(bytes(blob))
    if value is None:
        raise ValueError("a stored report could not be read back: it holds nothing")
    return value
