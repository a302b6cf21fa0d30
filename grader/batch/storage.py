"""What a TA is told when ``--out`` or the verdict store fails: one line, never a traceback.

Every report is written atomically and every finished student is in the store before
the next is written, so a run stopped by a full disk, a read-only folder or a damaged
store has lost nothing it finished: the message says so, and what to do.
"""

from __future__ import annotations

import errno
import sqlite3
from pathlib import Path

_FULL = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)
_READ_ONLY = (errno.EROFS, errno.EACCES, errno.EPERM)
KEPT = "every report finished before it is kept"


def storage_failure(exc: OSError | sqlite3.Error, out: Path | None, store: Path | None) -> str:
    """The one-line message for a failure to write ``out`` or to read or write ``store``."""
    where = str(out) if out is not None else "the output folder"
    if isinstance(exc, sqlite3.Error):
        text = str(exc)
        if "full" in text:
            return f"error: no space left on the disk of {store}; {KEPT}; free space and run again"
        if "readonly" in text or "unable to open" in text:
            return (
                f"error: cannot write the verdict store {store} ({text}); {KEPT}; "
                "use --cache PATH or --no-cache"
            )
        return (
            f"error: the verdict store {store} is damaged ({text}); nothing in it was trusted; "
            f"remove it (grader cache clear {out or store}) or run with --no-cache; {KEPT}"
        )
    name = exc.filename or where
    if exc.errno in _FULL:
        return f"error: no space left to write {name}; {KEPT}; free space and run again to go on from there"
    if exc.errno in _READ_ONLY:
        return f"error: cannot write to {where} ({exc.strerror}: {name}); {KEPT}; choose another --out"
    return f"error: cannot write or read {name} ({exc.strerror or exc}); {KEPT}"
