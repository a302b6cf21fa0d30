"""Limits a worker puts around each check: memory, and a watchdog for hangs in compiled code.

The engine's time limit interrupts a check with ``SIGALRM``, which Python only
delivers between bytecodes: a check stuck inside C code (a huge integer power,
a BLAS call) never sees it. The watchdog ends such a worker process with
:data:`EXIT_CHECK_HUNG`, and the batch reports the submission it was grading.
The memory limit caps the process's address space at what it holds when the
check starts plus the part's ``memory_limit``, so one answer cannot take the
machine: allocations past it raise ``MemoryError`` inside the check.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Iterator

try:
    import resource
except ImportError:  # not on this platform: checks run without a memory cap
    resource = None  # type: ignore[assignment]

EXIT_CHECK_HUNG = 86  # a worker's exit code when the watchdog stopped it
MIB = 1 << 20


def _address_space() -> int | None:
    """Bytes of address space this process holds now (Linux), else None."""
    try:
        with open("/proc/self/statm", "rb") as stream:
            pages = int(stream.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    return pages * os.sysconf("SC_PAGE_SIZE")


@contextlib.contextmanager
def memory_limit(mebibytes: int) -> Iterator[None]:
    """Allocations past ``mebibytes`` more than the process holds now raise MemoryError."""
    held = _address_space()
    if resource is None or held is None:
        yield
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    cap = held + mebibytes * MIB
    if hard != resource.RLIM_INFINITY:
        cap = min(cap, hard)
    resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


class Watchdog:
    """Ends this process when a check runs far past its time limit (a hang in C code)."""

    def __init__(self, poll_seconds: float = 0.25):
        self._deadline: float | None = None
        self._lock = threading.Lock()
        self._poll = poll_seconds
        threading.Thread(target=self._watch, name="grader-watchdog", daemon=True).start()

    @contextlib.contextmanager
    def guard(self, seconds: float) -> Iterator[None]:
        """Arm for one check of ``seconds``; its own limit gets the first chance to stop it."""
        with self._lock:
            self._deadline = time.monotonic() + grace(seconds)
        try:
            yield
        finally:
            with self._lock:
                self._deadline = None

    def _watch(self) -> None:
        while True:
            time.sleep(self._poll)
            with self._lock:
                deadline = self._deadline
            if deadline is not None and time.monotonic() > deadline:
                os._exit(EXIT_CHECK_HUNG)


GRACE_SECONDS = 5.0


def grace(seconds: float) -> float:
    """How long a check of limit ``seconds`` may run before its worker is stopped."""
    return 2 * seconds + GRACE_SECONDS
