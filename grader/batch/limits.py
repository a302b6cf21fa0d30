"""Limits a worker puts around each check: memory, and a watchdog for hangs in compiled code.

The engine's CPU-time limit interrupts a check with a signal or an exception, which Python only
delivers between bytecodes: a check stuck inside C code (a huge integer power,
a BLAS call) never sees it. The watchdog ends such a worker process with
:data:`EXIT_CHECK_HUNG`, and the batch reports the submission it was grading.
The memory limit caps the process's address space at what it holds when the
check starts plus the part's ``memory_limit``, so one answer cannot take the
machine: allocations past it raise ``MemoryError`` inside the check.
"""

from __future__ import annotations

import contextlib
import functools
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import grader
from grader.core.timelimit import wall_backstop

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
    """Ends this process when a check runs far past its time limit (a hang in C code): past
    twice its CPU-time limit in CPU time (plus a grace), or past :func:`grace` in wall-clock time."""

    def __init__(self, poll_seconds: float = 0.25):
        self._deadlines: tuple[float, float] | None = None  # (process CPU time, monotonic)
        self._lock = threading.Lock()
        self._poll = poll_seconds
        threading.Thread(target=self._watch, name="grader-watchdog", daemon=True).start()

    @contextlib.contextmanager
    def guard(self, seconds: float) -> Iterator[None]:
        """Arm for one check of ``seconds``; its own limit gets the first chance to stop it."""
        with self._lock:
            self._deadlines = (
                time.process_time() + 2 * seconds + GRACE_SECONDS,
                time.monotonic() + grace(seconds),
            )
        try:
            yield
        finally:
            with self._lock:
                self._deadlines = None

    def _watch(self) -> None:
        while True:
            time.sleep(self._poll)
            with self._lock:
                deadlines = self._deadlines
            if deadlines is not None and (
                time.process_time() > deadlines[0] or time.monotonic() > deadlines[1]
            ):
                os._exit(EXIT_CHECK_HUNG)


GRACE_SECONDS = 5.0


def grace(seconds: float) -> float:
    """Wall-clock seconds a check of CPU-time limit ``seconds`` may take before its worker is
    stopped: twice the check's own wall-clock backstop, plus a grace."""
    return 2 * wall_backstop(seconds) + GRACE_SECONDS


# ---------------------------------------------------------------------------
# Limits a TA sets with GRADER_MAX_* environment variables


Limits = tuple[tuple[str, int], ...]  # (variable, value) in name order


def limits_in_force() -> Limits:
    """Every ``GRADER_MAX_*`` limit as this process reads it (set when grader was imported)."""
    import grader.core.yamlio
    import grader.loading  # noqa: F401
    from grader.mathlang.limits import LIMITS_IN_FORCE

    return tuple(sorted(LIMITS_IN_FORCE.items()))


def limits_text(limits: Limits) -> str:
    return ", ".join(f"{name}={value}" for name, value in limits) or "none"


def verdict_version(code: str, limits: Limits) -> str:
    """What a stored verdict is keyed by besides the part and the answer: the deciding code and
    the limits it ran under (a larger GRADER_MAX_NUMBER_DIGITS may decide what a smaller refused)."""
    import hashlib  # here: `grader check` never keys a verdict (OpenSSL is slow to load)

    digest = hashlib.sha256(limits_text(limits).encode()).hexdigest()[:12]
    return f"{code}+limits-{digest}"


def export_limits(limits: Limits) -> None:
    """Set the limits in this process's environment, for the processes it starts from now on."""
    for name, value in limits:
        os.environ[name] = str(value)


# Packages whose code writes files but never decides a verdict.
NOT_DECIDING = ("batch", "cli.py", "reporting")


@functools.cache
def code_version(deciding_only: bool = False) -> str:
    """grader's version and a digest of its source and of the libraries its checks use:
    all of it (what a report is made from), or only the code that decides verdicts."""
    import hashlib  # here: `grader check` imports this module, never the digest
    import importlib.metadata
    import platform

    digest = hashlib.sha256(f"{grader.__version__} {platform.python_version()}".encode())
    for name in ("numpy", "sympy", "mpmath", "pydantic", "pyyaml"):
        try:
            digest.update(f" {name} {importlib.metadata.version(name)}".encode())
        except importlib.metadata.PackageNotFoundError:
            digest.update(f" {name} -".encode())
    root = Path(grader.__file__).parent
    for path in sorted(root.rglob("*.py")):
        relative = path.relative_to(root)
        if deciding_only and relative.parts[0] in NOT_DECIDING:
            continue
        digest.update(relative.as_posix().encode())
        digest.update(path.read_bytes())
    return f"{grader.__version__}+{digest.hexdigest()[:16]}"
