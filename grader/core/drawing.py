"""The seed of the inputs a check draws for one answer (code trials), from a grader's secret.

Trials drawn from a part's own ``seed`` are the same for every student and every run:
``/check`` then reads them, and code that only looks up their outputs scores full marks
(issue 45, item 2). A grading run (``grader grade``, the service: see
:func:`grader.core.integrity.draw_secret`) installs a secret, held where the verdict
store's key is and never shown to a student; each answer's inputs are then drawn from a
keyed digest of that secret, the part's seed and the answer's text. The same answer draws
the same inputs again (a re-run, a regrade, the verdict store's key: see
:func:`fingerprint`); any change to it draws others. Without a secret (a test table,
``grader validate``, the library) the part's own seed is used.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

# The grading in progress's: set around one submission's grading (a context variable, so a
# thread grading for another run, or a library call after it, never draws with it).
_secret: ContextVar[bytes] = ContextVar("grader_draw_secret", default=b"")


@contextmanager
def drawing_with(secret: bytes) -> Iterator[None]:
    """Draw every answer's inputs with ``secret`` inside the block (empty: the parts' own seeds)."""
    token = _secret.set(secret)
    try:
        yield
    finally:
        _secret.reset(token)


def answer_seed(part_seed: int, answer_text: str) -> int:
    """The seed of one answer's draws: the part's own without a secret, else a 32-bit keyed
    digest of the part's seed and the answer's text."""
    secret = _secret.get()
    if not secret:
        return part_seed
    message = f"{part_seed}\n{answer_text}".encode("utf-8", "surrogatepass")
    return int.from_bytes(hmac.digest(secret, message, "sha256")[:4], "big")


def fingerprint(secret: bytes) -> str:
    """What a verdict's key holds of the secret: a digest that tells secrets apart, and
    tells nothing of them ("" without one)."""
    return hashlib.sha256(b"grader draw secret\n" + secret).hexdigest()[:16] if secret else ""
