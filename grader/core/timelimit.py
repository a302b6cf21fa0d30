"""Run a call under a wall-clock limit.

In the main thread of a process (the CLI, and each worker of a ``--jobs`` pool)
the limit is enforced with ``SIGALRM``: the check is interrupted and reported
as status ``error``. Elsewhere (a thread, a platform without ``setitimer``) the
call runs in a daemon thread and is abandoned when the limit passes; its
result is never used.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class CheckTimeout(Exception):
    """A check ran past its time limit. Deliberately not a TimeoutError subclass
    (that is an OSError), so library code that catches OSError cannot swallow it."""

    def __init__(self, seconds: float):
        super().__init__(f"the check took longer than {seconds:g} s and was stopped")
        self.seconds = seconds


def run_with_time_limit(call: Callable[[], T], seconds: float) -> T:
    if _can_use_alarm():
        return _run_with_alarm(call, seconds)
    return _run_in_thread(call, seconds)


def _can_use_alarm() -> bool:
    return hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()


def _run_with_alarm(call: Callable[[], T], seconds: float) -> T:
    def on_alarm(signum: int, frame: object) -> None:
        raise CheckTimeout(seconds)

    previous_handler = signal.signal(signal.SIGALRM, on_alarm)
    previous_delay, _ = signal.setitimer(signal.ITIMER_REAL, seconds)
    started = time.monotonic()
    try:
        return call()
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous_handler)
        if previous_delay:  # an outer limit was running: give back what is left of it
            remaining = previous_delay - (time.monotonic() - started)
            signal.setitimer(signal.ITIMER_REAL, max(remaining, 1e-3))


def _run_in_thread(call: Callable[[], T], seconds: float) -> T:
    outcome: dict[str, object] = {}

    def target() -> None:
        try:
            outcome["value"] = call()
        except BaseException as exc:  # handed back to the caller below
            outcome["error"] = exc

    worker = threading.Thread(target=target, daemon=True)
    worker.start()
    worker.join(seconds)
    if worker.is_alive():
        raise CheckTimeout(seconds)
    if "error" in outcome:
        raise outcome["error"]  # type: ignore[misc]
    return outcome["value"]  # type: ignore[return-value]
