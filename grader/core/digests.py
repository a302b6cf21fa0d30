"""Digests of what a student handed in, keyed by content: the verdict store's answer keys
and the pins that tie a TA's hand grade to the answer it was given for."""

from __future__ import annotations

import hashlib
import json
from typing import Any


def answer_digest(answer: Any) -> str | None:
    """Digest of the answer as read (types kept: 1, 1.0 and "1" differ), or None if unreadable."""
    try:
        text = json.dumps(answer, ensure_ascii=False, allow_nan=True, default=_unserialisable)
    except (TypeError, ValueError, RecursionError):
        return None
    return text_digest(text)


def text_digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def _unserialisable(value: Any) -> Any:
    raise TypeError(f"{type(value).__name__} is not an answer value")
