"""Per-part preparation, done once per part in a batch.

Checkers parse a part's reference or model once and reuse it for every student.
A prepared value is kept for the part exactly as it is written: the cache is
keyed by every field of the part, so two parts that differ in anything (a
tolerance, a time limit, a domain) never share one, whichever is graded first.
It is bounded and drops the oldest entry first.

``seed_fields`` name the fields a sampling seed is derived from: ``build(part,
seed_key)`` receives them as text, so parts that differ only in points, wording
or tolerance still draw the same sample points.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class PartCache(Generic[T]):
    def __init__(self, seed_fields: Collection[str], build: Callable[[Any, str], T], size: int):
        self.seed_fields = set(seed_fields)
        self.build = build
        self.size = size
        self._entries: dict[str, T] = {}
        # The service's request threads share a cache: without the lock two of them dropping the
        # oldest entry at once raised KeyError (a TA's dashboard answered 500 under load).
        self._lock = threading.Lock()

    def get(self, part: Any) -> T:
        """The prepared value for ``part``, built with ``build(part, seed_key)`` when new."""
        key: str = part.model_dump_json()
        found = self._entries.get(key)
        if found is not None:
            return found
        value = self.build(part, part.model_dump_json(include=self.seed_fields))
        with self._lock:
            kept = self._entries.setdefault(key, value)  # a value another thread built first wins
            while len(self._entries) > self.size:
                self._entries.pop(next(iter(self._entries)))
        return kept

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def values(self) -> list[T]:
        """The prepared values kept now."""
        with self._lock:
            return list(self._entries.values())
