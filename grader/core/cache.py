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

from collections.abc import Callable, Collection
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class PartCache(Generic[T]):
    def __init__(self, seed_fields: Collection[str], build: Callable[[Any, str], T], size: int):
        self.seed_fields = set(seed_fields)
        self.build = build
        self.size = size
        self._entries: dict[str, T] = {}

    def get(self, part: Any) -> T:
        """The prepared value for ``part``, built with ``build(part, seed_key)`` when new."""
        key: str = part.model_dump_json()
        found = self._entries.get(key)
        if found is not None:
            return found
        value = self.build(part, part.model_dump_json(include=self.seed_fields))
        if len(self._entries) >= self.size:
            self._entries.pop(next(iter(self._entries)))
        self._entries[key] = value
        return value

    def clear(self) -> None:
        self._entries.clear()

    def values(self) -> list[T]:
        """The prepared values kept now."""
        return list(self._entries.values())
