"""Per-part preparation, done once per part in a batch.

Checkers parse a part's reference or model once and reuse it for every student.
The cache is keyed by the part fields the preparation depends on (so two parts
with the same formula share it), bounded, and drops the oldest entry first.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class PartCache(Generic[T]):
    def __init__(self, fields: Collection[str], build: Callable[[Any, str], T], size: int):
        self.fields = set(fields)
        self.build = build
        self.size = size
        self._entries: dict[str, T] = {}

    def get(self, part: Any) -> T:
        """The prepared value for ``part``, built with ``build(part, key)`` when new."""
        key: str = part.model_dump_json(include=self.fields)
        found = self._entries.get(key)
        if found is not None:
            return found
        value = self.build(part, key)
        if len(self._entries) >= self.size:
            self._entries.pop(next(iter(self._entries)))
        self._entries[key] = value
        return value

    def clear(self) -> None:
        self._entries.clear()
