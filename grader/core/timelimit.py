"""Run a call under a CPU-time limit.

The limit counts the CPU time the check uses, not wall-clock time: on a loaded
machine a check that needs 4 s of CPU finishes under a 10 s limit however long
it waits for a core. A wall-clock backstop (:func:`wall_backstop`: several times
the limit) still stops a check that waits instead of computing.

* In the main thread of a process (the CLI, each worker of a ``--jobs`` pool)
  timers deliver signals: ``ITIMER_PROF`` (the process's CPU time) and
  ``ITIMER_REAL`` (the backstop); the handler raises :class:`CheckTimeout`.
* In any other thread (the service's request threads, a Dask worker) the check
  still runs in the calling thread; one monitor thread per process reads that
  thread's own CPU clock and, past the limit, raises :class:`CheckTimeout` in it
  (``PyThreadState_SetAsyncExc``). The check itself stops: no thread is left
  running abandoned work.

Both are delivered between bytecodes. A check stuck inside one call into C code
(a huge integer power) is ended by the :class:`Watchdog`, which ends its worker process.
A worker also caps its address space around each check (:func:`memory_limit`), so one
answer cannot take the machine: allocations past it raise ``MemoryError`` inside the check.
"""

from __future__ import annotations

import _signal
import contextlib
import ctypes
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Literal, TypeVar

T = TypeVar("T")
Clock = Literal["cpu", "wall"]

WALL_FACTOR = 4.0  # the backstop: this many times the CPU limit of wall-clock time...
WALL_GRACE_SECONDS = 5.0  # ...plus this
_POLL_SECONDS = 0.01
_REFIRE_SECONDS = 0.2  # a check that swallowed the stop is stopped again


class CheckTimeout(Exception):
    """A check ran past its time limit. Deliberately not a TimeoutError subclass
    (that is an OSError), so library code that catches OSError cannot swallow it."""

    def __init__(self, seconds: float, clock: Clock = "cpu"):
        if clock == "cpu":
            message = f"the check used more than {seconds:g} s of CPU time and was stopped"
        else:
            message = (
                f"the check waited more than {wall_backstop(seconds):g} s (wall clock) "
                f"under a {seconds:g} s CPU-time limit and was stopped"
            )
        super().__init__(message)
        self.seconds = seconds
        self.clock = clock


def wall_backstop(seconds: float) -> float:
    """Wall-clock seconds after which a check under a ``seconds`` CPU limit is stopped anyway."""
    return WALL_FACTOR * seconds + WALL_GRACE_SECONDS


def run_with_time_limit(call: Callable[[], T], seconds: float) -> T:
    if hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread():
        return _run_with_timers(call, seconds)
    return _run_watched(call, seconds)


# -- the main thread: signals ---------------------------------------------------------


def _run_with_timers(call: Callable[[], T], seconds: float) -> T:
    # The timers repeat: a stop swallowed on its way out (a gc callback, a reader's broad
    # ``except``) is raised again, and a call that returns after a stop still timed out.
    state = _TimerState()

    def on_cpu(signum: int, frame: object) -> None:
        state.stop("cpu", seconds)

    def on_wall(signum: int, frame: object) -> None:
        state.stop("wall", seconds)

    # signal's C functions: the module's wrappers look each old handler up as an enum member
    # (an exception a check for a plain function), several times a check.
    previous_cpu = _signal.signal(signal.SIGPROF, on_cpu)
    previous_wall = _signal.signal(signal.SIGALRM, on_wall)
    outer_cpu, _ = signal.setitimer(signal.ITIMER_PROF, seconds, _REFIRE_SECONDS)
    outer_wall, _ = signal.setitimer(signal.ITIMER_REAL, wall_backstop(seconds), _REFIRE_SECONDS)
    cpu_started, wall_started = time.process_time(), time.monotonic()
    try:
        result = call()
    finally:
        state.armed = False  # first: a stop that arrives from here on is ignored
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.setitimer(signal.ITIMER_REAL, 0)
        _signal.signal(signal.SIGPROF, previous_cpu)
        _signal.signal(signal.SIGALRM, previous_wall)
        # An outer limit was running: give back what is left of it.
        if outer_cpu:
            left = outer_cpu - (time.process_time() - cpu_started)
            signal.setitimer(signal.ITIMER_PROF, max(left, 1e-3), _REFIRE_SECONDS)
        if outer_wall:
            left = outer_wall - (time.monotonic() - wall_started)
            signal.setitimer(signal.ITIMER_REAL, max(left, 1e-3), _REFIRE_SECONDS)
    if state.fired is not None:  # the call caught the stop and went on: it still ran out
        raise CheckTimeout(seconds, state.fired)
    return result


@dataclass
class _TimerState:
    armed: bool = True
    fired: Clock | None = None

    def stop(self, clock: Clock, seconds: float) -> None:
        if not self.armed:
            return
        self.fired = self.fired or clock
        raise CheckTimeout(seconds, self.fired)


# -- other threads: a monitor that stops the check in its own thread ------------------


class _Stop(BaseException):
    """Raised inside a watched thread by the monitor. A BaseException, so that a check's
    ``except Exception`` cannot swallow it; turned into CheckTimeout where the watch began."""


@dataclass(eq=False)
class _Watch:
    seconds: float
    ident: int = field(default_factory=threading.get_ident)
    cpu_clock: int | None = None
    cpu_started: float = 0.0
    wall_started: float = field(default_factory=time.monotonic)
    fired: Clock | None = None
    last_fired: float = 0.0

    def __post_init__(self) -> None:
        try:
            self.cpu_clock = time.pthread_getcpuclockid(self.ident)
            self.cpu_started = time.clock_gettime(self.cpu_clock)
        except (AttributeError, OSError):  # no per-thread CPU clock here: wall clock only
            self.cpu_clock = None

    def expired(self, now: float) -> Clock | None:
        if self.cpu_clock is not None:
            try:
                if time.clock_gettime(self.cpu_clock) - self.cpu_started > self.seconds:
                    return "cpu"
            except OSError:  # the thread is gone
                return None
            limit = wall_backstop(self.seconds)
        else:
            limit = self.seconds
        return "wall" if now - self.wall_started > limit else None


class _Monitor:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._work = threading.Condition(self._lock)
        self._watches: set[_Watch] = set()
        self._thread: threading.Thread | None = None

    def add(self, watch: _Watch) -> None:
        with self._lock:
            self._watches.add(watch)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="grader-time-limit", daemon=True)
                self._thread.start()
            self._work.notify()

    def remove(self, watch: _Watch) -> bool:
        """Stop watching; True when the watch fired (an exception may still be pending)."""
        with self._lock:
            self._watches.discard(watch)
            return watch.fired is not None

    def _run(self) -> None:
        while True:
            with self._lock:
                while not self._watches:
                    self._work.wait()
                now = time.monotonic()
                for watch in self._watches:
                    reason = watch.expired(now)
                    if reason is not None and (
                        watch.fired is None or now - watch.last_fired > _REFIRE_SECONDS
                    ):
                        watch.fired = watch.fired or reason
                        watch.last_fired = now
                        _raise_in(watch.ident, _Stop)
            time.sleep(_POLL_SECONDS)


_MONITOR = _Monitor()


def _raise_in(ident: int, exception: type[BaseException] | None) -> None:
    """Raise ``exception`` in thread ``ident`` at its next bytecode (None: cancel a pending one)."""
    ctypes.pythonapi.PyThreadState_SetAsyncExc(
        ctypes.c_ulong(ident), ctypes.py_object(exception) if exception is not None else None
    )


def _run_watched(call: Callable[[], T], seconds: float) -> T:
    watch = _Watch(seconds)
    _MONITOR.add(watch)
    try:
        try:
            result = call()
        finally:
            if _MONITOR.remove(watch):
                _raise_in(watch.ident, None)
    except _Stop:
        if watch.fired is None:  # an outer limit's stop: let it reach its own watch
            raise
        raise CheckTimeout(seconds, watch.fired) from None
    if watch.fired is not None:  # the call caught the stop and went on: it still ran out
        raise CheckTimeout(seconds, watch.fired)
    return result


# ---------------------------------------------------------------------------
# A worker process's limits around a check: memory, and a watchdog for hangs in compiled code

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


@dataclass(frozen=True)
class CheckLimits:
    """How a process bounds a check besides its time limit and its memory cap."""

    watchdog: Watchdog | None = None  # ends this process if the check hangs in C code


NO_LIMITS = CheckLimits()  # a check bounded by its time limit alone
