"""Deadlines inside a check, and a record of when one cut a check short.

Some steps of a check stop at a share of the part's time limit and hand over to a
cheaper method (a region walk to sampling, a bound to probes). Whether such a deadline
passes depends on the machine's load, not on the answer, so a verdict reached after one
passed is not a function of (part, answer): the verdict store must not keep it, or a
loaded machine's "could not decide" would be served for good. Every such deadline is
asked through :func:`past`, which counts the cuts; the batch's check compares the count
before and after (:func:`cuts`).
"""

from __future__ import annotations

import threading
import time

_lock = threading.Lock()
_cuts = 0  # deadlines found passed in this process (any thread: a cut anywhere counts)


def deadline_in(seconds: float) -> float:
    return time.monotonic() + seconds


def past(deadline: float | None) -> bool:
    """``deadline`` (a :func:`time.monotonic` time, or None for none) has passed; counted."""
    global _cuts
    if deadline is None or time.monotonic() <= deadline:
        return False
    with _lock:
        _cuts += 1
    return True


def cuts() -> int:
    """How many deadlines have passed so far in this process."""
    return _cuts
