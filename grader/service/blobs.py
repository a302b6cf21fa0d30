"""The service's stored reports (its database's ``report`` columns) as JSON text, written and
read by the batch's codec (:mod:`grader.core.plainjson`): grader's data classes and plain
values, nothing else. Migration ``0014_json_reports`` converted the pickles older graders
stored."""

from __future__ import annotations

from typing import Any

from grader.core import plainjson
from grader.core.plainjson import packed, unpacked


def dumps(value: Any) -> bytes:
    return packed(value).encode("utf-8")


def loads(blob: bytes | bytearray | memoryview) -> Any:
    """The stored value, or None when it cannot be read back (another grader wrote it)."""
    return unpacked(bytes(blob))


def read_back(blob: bytes | bytearray | memoryview) -> Any:
    """The stored value; a blob that cannot be read back raises (with why) instead of reading
    as None."""
    value = plainjson.read_back(bytes(blob))
    if value is None:
        raise ValueError("a stored report could not be read back: it holds nothing")
    return value
