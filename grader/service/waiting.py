"""The long poll's waiting room: requests that wait for a submission's verdict
(``GET /api/v1/submissions/{id}?wait=SECONDS``), woken when the grading process reports it.

A waiting request holds an :class:`asyncio.Event` in the server's event loop, no thread and
no database connection. The grading process reports each verdict it has committed over its
pipe; the thread that reads the pipe wakes the submission's waiters through the loop
(``call_soon_threadsafe``). A request registers before it reads the submission's state, so a
verdict committed between that read and the wait still wakes it. When the server shuts
down, every waiter is woken at once and answers with the state it finds.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict
from collections.abc import Iterator

MAX_WAIT_SECONDS = 30.0  # a long poll answers by then with the state it has


class VerdictWaiters:
    """The requests waiting for verdicts, by submission id; lives in the event loop."""

    def __init__(self) -> None:
        self._waiting: dict[int, set[asyncio.Event]] = defaultdict(set)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closed = False

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        """The loop the requests wait in (the server's, once it runs)."""
        self._loop = loop
        self._closed = False

    @contextlib.contextmanager
    def watch(self, submission_id: int) -> Iterator[asyncio.Event]:
        """An event set when the submission's verdict is reported (or the server stops);
        call in the event loop, before reading the submission's state."""
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
