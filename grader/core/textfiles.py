"""Reading a file a TA or a student wrote: bounded in size, UTF-8, never binary."""

from __future__ import annotations

import codecs
import re
from pathlib import Path
from typing import Any

# C0 controls, DEL and C1 controls; bidirectional overrides and isolates, which reorder
# what a reader sees; lone surrogates, which no UTF-8 output can hold.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
_CONTROL_BUT_LINES = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
_SURROGATE = re.compile("[\ud800-\udfff]")
MAX_NAME_CHARACTERS = 200  # a student's shown name


def read_text(path: Path, limit: int) -> str:
    """The file as UTF-8 text; ValueError with a plain reason otherwise."""
    size = path.stat().st_size
    if size > limit:
        raise file_too_large(size, limit)
    return decode_text(path.read_bytes())


def file_too_large(size: int, limit: int) -> ValueError:
    return ValueError(f"file is too large ({size:,} bytes; the limit is {limit:,})")


def decode_text(raw: bytes) -> str:
    """A file's bytes as UTF-8 text; ValueError with a plain reason otherwise."""
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):  # and UTF-32, which starts alike
        raise ValueError("file is UTF-16 or UTF-32 text; save it as UTF-8")
    if b"\x00" in raw:
        raise ValueError("file is binary, not text")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ValueError(f"file is not UTF-8 text (byte {exc.start + 1}, line {line})") from None


def _visible(match: re.Match[str]) -> str:
    """A control character as something a reader sees and no device obeys: ␛ for ESC."""
    code = ord(match.group())
    if code < 0x20:
        return chr(0x2400 + code)  # the Control Pictures block
    if code == 0x7F:
        return "\u2421"
    return "\ufffd"


def plain_text(text: str, keep_newlines: bool = False) -> str:
    """``text`` with every control character shown as a symbol (line breaks kept, as is, when
    ``keep_newlines``)."""
    pattern = _CONTROL_BUT_LINES if keep_newlines else _CONTROL
    return pattern.sub(_visible, text)


def shown_name(value: object) -> str:
    """A ``student:`` value as a name to show: one line, no control character, at most
    :data:`MAX_NAME_CHARACTERS` characters (the folder is the student's identity)."""
    name = plain_text(" ".join(str(value).split())).strip()
    return name if len(name) <= MAX_NAME_CHARACTERS else name[: MAX_NAME_CHARACTERS - 1] + "\u2026"


def without_surrogates(value: Any) -> Any:
    """``value`` (answers as read: strings, lists, mappings) with every lone surrogate, which
    JSON's ``\\ud800`` can give and no UTF-8 file can hold, as U+FFFD."""
    if isinstance(value, str):
        return _SURROGATE.sub("\ufffd", value) if _SURROGATE.search(value) else value
    if isinstance(value, list):
        return [without_surrogates(item) for item in value]
    if isinstance(value, dict):
        return {without_surrogates(key): without_surrogates(item) for key, item in value.items()}
    return value
