"""The long polls (``GET /api/v1/submissions/{id}?wait=S``): an :class:`asyncio.Event` each, woken
by the grading thread or by a look at the verdicts other processes wrote (docs/service.md)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections import defaultdict
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import anyio
from anyio.lowlevel import RunVar

log = logging.getLogger("grader.service")
MAX_WAIT_SECONDS = 30.0  # a long poll answers by then with the state it has
LOOK_SECONDS = 0.5  # how often verdicts written by other processes are looked for
# (the newest verdict id seen, None at first) -> the newest now, the submissions of those since
VerdictsSince = Callable[[int | None], tuple[int, list[int]]]
# Reports read back and rendered for a client at once. A chunk of verdicts wakes as many long
# polls together; each reads its report back (milliseconds of the interpreter's lock), and a
# hand-in arriving then would wait behind all of them. Two at a time keep the lock in use while
# one waits for the database, and a hand-in waits behind at most two.
REPORT_READS = 2
_report_reads: RunVar[anyio.CapacityLimiter] = RunVar("grader: report reads")
Result = TypeVar("Result")


class VerdictWaiters:
    """The requests waiting for verdicts, by submission id; lives in the event loop."""

    def __init__(self, since: VerdictsSince | None = None) -> None:
        self._waiting: dict[int, set[asyncio.Event]] = defaultdict(set)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closed = False
        self._since = since
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._since is not None:
            self._thread = threading.Thread(target=self._look, name="grader-verdict-look", daemon=True)
            self._thread.start()

    def _look(self) -> None:
        assert self._since is not None
        last: int | None = None  # the newest verdict seen
        while not self._stop.wait(LOOK_SECONDS):
            if last is not None and not self._waiting:
                continue
            try:
                last, submissions = self._since(last)
            except Exception as error:  # the database is down: the next look tries again
                log.debug("looking for new verdicts failed: %s", error)
                continue
            for submission_id in submissions:
                self.graded(submission_id)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        """The loop the requests wait in (the server's, once it runs)."""
        self._loop = loop
        self._closed = False

    @contextlib.contextmanager
    def watch(self, submission_id: int) -> Iterator[asyncio.Event]:
        """An event set when the submission's verdict is reported (or the server stops); call
        in the event loop, before reading the submission's state."""
        event = asyncio.Event()
        if self._closed:
            event.set()
        waiters = self._waiting[submission_id]
        waiters.add(event)
        try:
            yield event
        finally:
            waiters.discard(event)
            if not waiters:
                self._waiting.pop(submission_id, None)

    def graded(self, submission_id: int) -> None:
        """A verdict of the submission is committed; from any thread."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        with contextlib.suppress(RuntimeError):  # the loop closed in the meantime
            loop.call_soon_threadsafe(self._wake, submission_id)

    def _wake(self, submission_id: int) -> None:
        for event in self._waiting.get(submission_id, ()):
            event.set()

    def close(self) -> None:
        """The server is stopping: every waiter answers now, and no new one waits."""
        self._closed = True
        for waiters in self._waiting.values():
            for event in waiters:
                event.set()


async def wait_for(event: asyncio.Event, seconds: float) -> None:
    """Until ``event`` is set, for at most ``seconds``."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            await event.wait()


async def read_report(function: Callable[..., Result], *args: Any) -> Result:
    """``function(*args)`` in a worker thread, at most :data:`REPORT_READS` at once (per event loop)."""
    try:
        limiter = _report_reads.get()
    except LookupError:
        limiter = anyio.CapacityLimiter(REPORT_READS)
        _report_reads.set(limiter)
    return await anyio.to_thread.run_sync(function, *args, limiter=limiter)
