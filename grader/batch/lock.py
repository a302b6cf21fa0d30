"""One run at a time writes an output folder.

Two runs on the same ``--out`` (a TA grading one late folder while the class batch
runs) would each rewrite ``grades.csv`` from the gradebook they read when they
started, and the later one would drop the row the other wrote. So a run holds
``<out>/.grader.lock`` while it writes there; a second run waits for it, says
that it waits, and then merges its rows into the gradebook the first one left.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path

import filelock

LOCK_FILE = ".grader.lock"


@contextlib.contextmanager
def output_lock(out: Path | None, on_wait: Callable[[str], None] | None = None) -> Iterator[None]:
    """Hold ``out``'s lock (waiting for another run that holds it); nothing without ``out``."""
    if out is None:
        yield
        return
    out.mkdir(parents=True, exist_ok=True)
    lock = filelock.FileLock(out / LOCK_FILE)
    try:
        lock.acquire(timeout=0)
    except filelock.Timeout:
        if on_wait is not None:
            on_wait(f"waiting for another grader run that is writing to {out} to finish")
        lock.acquire()
    try:
        yield
    finally:
        lock.release()
