"""Writing reports so that a crash never leaves a half-written file behind."""

from __future__ import annotations

import functools
import os
import re
import tempfile
from collections.abc import Sequence
from pathlib import Path

# A file's content: text, bytes, or text in pieces (a large page, written without joining them).
Content = str | bytes | Sequence[str]
ENCODED_PIECE = 1 << 20  # characters a piece of text in pieces is encoded and written in

# ``.<name>.<random>.tmp``: what :func:`write_atomic` leaves behind if it is killed mid-write.
_TEMPORARY = re.compile(r"^\..+\.[A-Za-z0-9_]{8}\.tmp$")


def write_atomic(path: Path | str, content: Content, durable: bool = True, mode: int | None = None) -> None:
    """Write ``content`` to ``path`` through a temporary file and an atomic rename: a crash
    or a kill never leaves a half-written file. ``durable`` also waits for the disk (fsync),
    so a power cut cannot either; a batch skips that for its many student files, whose
    digests it checks on the next run instead. ``mode``: the file's permissions (0600 for a
    secret); by default those of a file written in place (0644 under the usual umask)."""
    _write_encoded(Path(path), _encoded(content), durable, mode)


def _write_encoded(path: Path, data: list[bytes], durable: bool, mode: int | None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(handle, _mode_for(path) if mode is None else mode)  # mkstemp's 0600 hides reports
        with os.fdopen(handle, "wb") as stream:
            stream.writelines(data)
            stream.flush()
            if durable:
                os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _mode_for(path: Path) -> int:
    """The mode a file written in place would get: the file's own when it exists, else
    0666 less the umask (0644 under the usual 022)."""
    try:
        return path.stat().st_mode & 0o777
    except OSError:
        return 0o666 & ~_umask()


@functools.cache
def _umask() -> int:
    current = os.umask(0o022)  # reading the umask sets it: put it back at once
    os.umask(current)
    return current


def write_if_changed(path: Path | str, content: Content, durable: bool = True) -> bool:
    """Write ``content`` atomically unless ``path`` already holds exactly it; True if written."""
    path = Path(path)
    data = _encoded(content)
    try:
        if path.stat().st_size == sum(map(len, data)) and _holds(path.read_bytes(), data):
            return False
    except OSError:
        pass
    _write_encoded(path, data, durable, None)
    return True


def _encoded(content: Content) -> list[bytes]:
    """The content's bytes, in pieces of about :data:`ENCODED_PIECE` characters: a large page
    is never copied whole (each copy of tens of MB is as many fresh pages of memory), nor
    encoded and written a small piece at a time (a dashboard has a piece per student)."""
    if isinstance(content, bytes):
        return [content]
    if isinstance(content, str):
        return [content.encode("utf-8")]
    encoded, batch, length = [], [], 0
    for piece in content:
        batch.append(piece)
        length += len(piece)
        if length >= ENCODED_PIECE:
            encoded.append("".join(batch).encode("utf-8"))
            batch, length = [], 0
    encoded.append("".join(batch).encode("utf-8"))
    return encoded


def _holds(old: bytes, pieces: list[bytes]) -> bool:
    """Whether ``old`` is the pieces joined (of the same length)."""
    view, start = memoryview(old), 0
    for piece in pieces:
        if view[start : start + len(piece)] != piece:
            return False
        start += len(piece)
    return True


def remove_stale_temporaries(folder: Path | str) -> list[Path]:
    """Delete the temporary files an interrupted :func:`write_atomic` left in ``folder``
    (not in its subfolders); the removed paths. Run it before a batch writes there, never
    while another run writes to the same folder."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    removed = []
    for entry in folder.iterdir():
        if _TEMPORARY.match(entry.name) and entry.is_file() and not entry.is_symlink():
            entry.unlink(missing_ok=True)
            removed.append(entry)
    return sorted(removed)


_UNSAFE_IN_NAMES = re.compile(r"[^A-Za-z0-9._-]+")  # compiled once: a class's plan names every folder


def safe_filename(name: str) -> str:
    """A student id as a file name: letters, digits, ``.``, ``-`` and ``_`` only."""
    cleaned = _UNSAFE_IN_NAMES.sub("_", name).strip("._")
    return cleaned[:100] or "student"
