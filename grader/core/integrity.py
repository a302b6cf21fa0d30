"""The verdict store is evidence, not trust: every entry carries a keyed MAC.

The key lives outside the store and outside ``--out`` (``~/.config/grader/store.key``,
or the file ``$GRADER_STORE_KEY`` names), made on first use, readable by its owner
only. Someone who can edit the store but not read the key cannot forge an entry: an
entry edited to say ``correct``, copied from another store, or written under another
key fails its check, is never served, and is regraded; the run says how many.
"""

from __future__ import annotations

import functools
import hmac
import os
import secrets
from pathlib import Path

KEY_VARIABLE = "GRADER_STORE_KEY"
KEY_BYTES = 32


def key_path() -> Path:
    named = os.environ.get(KEY_VARIABLE)
    if named:
        return Path(named)
    config = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return config / "grader" / "store.key"


@functools.cache
def _key_at(path: Path) -> bytes:
    try:
        key = path.read_bytes()
        if len(key) >= KEY_BYTES:
            return key
    except OSError:
        pass
    key = secrets.token_bytes(KEY_BYTES)
    try:
        return _keep_first(path, key)
    except OSError:  # nowhere to keep a key: this run's own, so nothing stored is trusted later
        return key


def _keep_first(path: Path, key: bytes) -> bytes:
    """Keep the key at path unless another process kept one first; the key kept there.

    The key is written whole under a name of its own, then linked into place: a process
    that starts at the same moment reads either no file or the whole key, never a part.
    A key file cut short (an empty one, left by a crash) is replaced.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    written = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    descriptor = os.open(written, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "wb") as stream:
            stream.write(key)
        os.link(written, path)
    except FileExistsError:  # another process kept one first: use theirs, unless cut short
        kept = path.read_bytes()
        if len(kept) >= KEY_BYTES:
            return kept
        os.replace(written, path)  # a key anyone could guess: entries sealed with it are regraded
    finally:
        written.unlink(missing_ok=True)
    return key


def store_key() -> bytes:
    """The key of this user's verdict stores (made on first use)."""
    return _key_at(key_path())


def draw_secret() -> bytes:
    """The secret code trials are drawn with (grader.core.drawing): kept with the store's key,
    never shown to a student, and the same for every run of this user, so a re-run of an
    answer draws its trials again identically."""
    return derived_key("the seed of each answer's code trials")


def derived_key(purpose: str) -> bytes:
    """A key of its own for ``purpose``, derived from the store's key."""
    return hmac.digest(store_key(), f"grader: {purpose}".encode(), "sha256")


def seal(key: bytes, *fields: str | bytes) -> str:
    """HMAC-SHA256 of the fields (each length-prefixed, so no two lists of fields collide)."""
    message: list[bytes] = []
    for value in fields:
        data = value.encode("utf-8", "surrogatepass") if isinstance(value, str) else value
        message += (len(data).to_bytes(8, "big"), data)
    return hmac.digest(key, b"".join(message), "sha256").hex()  # one call: the same MAC, sooner


def intact(key: bytes, mac: str, *fields: str | bytes) -> bool:
    return hmac.compare_digest(seal(key, *fields), mac or "")
