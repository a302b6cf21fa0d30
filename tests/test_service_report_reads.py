"""Long polls woken together read their reports back a few at a time (grader.service.waiting)."""

from __future__ import annotations

import threading
import time

import anyio

from grader.service.waiting import REPORT_READS, read_report


def test_reports_woken_together_are_read_a_few_at_a_time_and_each_is_answered() -> None:
    lock = threading.Lock()
    running = [0]
    most = [0]

    def read(number: int) -> int:
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        time.sleep(0.05)
        with lock:
            running[0] -= 1
        return number * 10

    answers: dict[int, int] = {}

    async def poll(number: int) -> None:
        answers[number] = await read_report(read, number)

    async def woken_together() -> None:
        async with anyio.create_task_group() as group:
            for number in range(12):
                group.start_soon(poll, number)

    anyio.run(woken_together)
    assert answers == {number: number * 10 for number in range(12)}
    assert most[0] == REPORT_READS == 2


def test_each_event_loop_has_its_own_turns() -> None:
    # a second server (or a test's second client) in the same process runs its own loop
    for _ in range(2):
        assert anyio.run(read_report, lambda: "read") == "read"
