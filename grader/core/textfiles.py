"""Reading a file a TA or a student wrote: bounded in size, UTF-8, never binary."""

from __future__ import annotations

import codecs
from pathlib import Path


def read_text(path: Path, limit: int) -> str:
    """The file as UTF-8 text; ValueError with a plain reason otherwise."""
    size = path.stat().st_size
    if size > limit:
        raise ValueError(f"file is too large ({size:,} bytes; the limit is {limit:,})")
    raw = path.read_bytes()
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):  # and UTF-32, which starts alike
        raise ValueError("file is UTF-16 or UTF-32 text; save it as UTF-8")
    if b"\x00" in raw:
        raise ValueError("file is binary, not text")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ValueError(f"file is not UTF-8 text (byte {exc.start + 1}, line {line})") from None
    return text
