"""The direct channel of a Dask run (grader.batch.channel), end to end over real sockets on
loopback: only a holder of the run's secret gets a chunk, a silent or unknown peer is dropped
without holding up the others, and a chunk whose worker goes away or is late fails as a dead
worker's would, never lost."""

from __future__ import annotations

import queue
import socket
import threading
import time
from collections.abc import Iterator

import pytest

from grader.batch import channel
from grader.batch.channel import Handed, ResultChannel, Unreachable, WorkerGone


@pytest.fixture
def finished() -> queue.SimpleQueue[Handed]:
    return queue.SimpleQueue()


@pytest.fixture
def driver(finished: queue.SimpleQueue[Handed]) -> Iterator[ResultChannel]:
    listening = ResultChannel("127.0.0.1", 0, finished, lambda chunk: 30.0)
    yield listening
    listening.abort()


def _back(finished: queue.SimpleQueue[Handed]) -> Handed:
    return finished.get(timeout=10)


def test_a_worker_holding_the_secret_gets_chunks_and_sends_back_results_or_errors(
    driver: ResultChannel, finished: queue.SimpleQueue[Handed]
) -> None:
    driver.expect("task-1")
    first, second = driver.hand(["alice"]), driver.hand(["bob"])
    with channel.connect(driver.address, driver.secret, "task-1") as worker:
        assert worker.recv() == ["alice"]
        worker.send({"alice": "graded"})
        assert _back(finished) is first and first.result() == {"alice": "graded"}
        assert worker.recv() == ["bob"]
        worker.send(ValueError("the check crashed"))
        assert _back(finished) is second
        with pytest.raises(ValueError, match="the check crashed"):
            second.result()
        driver.close()  # the run is over: the worker is told, and stops
        assert worker.poll(10) and worker.recv() is None


def test_a_peer_without_the_secret_or_with_a_token_the_driver_never_made_gets_nothing(
    driver: ResultChannel,
) -> None:
    handed = driver.hand(["alice"])
    with pytest.raises(Unreachable, match="did not answer"):
        channel.connect(driver.address, b"not the run's secret".ljust(32), "task-1")
    with channel.connect(driver.address, driver.secret, "a token of no task") as stranger:
        assert stranger.poll(10)
        with pytest.raises(EOFError):  # closed: no chunk was handed to it
            stranger.recv()
    assert driver.drain() == [handed]


def test_a_silent_peer_is_dropped_after_the_handshake_time_and_holds_up_no_one(
    driver: ResultChannel, finished: queue.SimpleQueue[Handed], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(channel, "HANDSHAKE_SECONDS", 0.5)
    silent = socket.create_connection(driver.address)
    driver.expect("task-1")
    handed = driver.hand(["alice"])
    with channel.connect(driver.address, driver.secret, "task-1") as worker:  # while the silent one waits
        assert worker.recv() == ["alice"]
        worker.send("graded")
        assert _back(finished) is handed
    silent.settimeout(10)
    started = time.monotonic()
    assert silent.recv(1 << 16)  # the driver's challenge, then nothing more: closed
    while silent.recv(1 << 16):
        pass
    assert time.monotonic() - started < 5
    silent.close()


def test_a_chunk_whose_worker_goes_away_is_late_or_ended_fails_as_a_dead_worker_s(
    finished: queue.SimpleQueue[Handed],
) -> None:
    late = ResultChannel("127.0.0.1", 0, finished, lambda chunk: 0.3)
    try:
        for token in ("goes-away", "late", "ended"):
            late.expect(token)
        gone = late.hand(["alice"])
        with channel.connect(late.address, late.secret, "goes-away") as worker:
            assert worker.recv() == ["alice"]
        assert _back(finished) is gone
        with pytest.raises(WorkerGone, match="the connection to its Dask worker broke"):
            gone.result()

        slow = late.hand(["bob"])
        with channel.connect(late.address, late.secret, "late") as worker:
            assert worker.recv() == ["bob"]
            assert _back(finished) is slow
        with pytest.raises(WorkerGone, match=r"no results from its Dask worker within 0.3 s"):
            slow.result()

        ended = late.hand(["carol"])
        with channel.connect(late.address, late.secret, "ended") as worker:
            assert worker.recv() == ["carol"]
            late.ended("ended")  # Dask says the task's worker is gone
            assert _back(finished) is ended
        with pytest.raises(WorkerGone):
            ended.result()
    finally:
        late.abort()


def test_many_tasks_at_once_and_results_of_megabytes(
    driver: ResultChannel, finished: queue.SimpleQueue[Handed]
) -> None:
    """One thread of the driver serves every connection: chunks go to whichever task is free,
    and results of megabytes arrive in pieces and come back whole."""
    tokens = [f"task-{number}" for number in range(8)]
    for token in tokens:
        driver.expect(token)
    handed = [driver.hand([f"student-{number}"]) for number in range(40)]
    large = b"x" * (3 << 20)

    def serve(token: str) -> None:
        with channel.connect(driver.address, driver.secret, token) as worker:
            while (chunk := worker.recv()) is not None:
                worker.send((chunk[0], token, large if chunk[0].endswith("7") else b""))

    serving = [threading.Thread(target=serve, args=(token,), daemon=True) for token in tokens]
    for thread in serving:
        thread.start()
    back = {id(_back(finished)) for _ in handed}
    assert back == {id(h) for h in handed}
    results = [h.result() for h in handed]
    assert [name for name, _, _ in results] == [f"student-{number}" for number in range(40)]
    assert all(len(data) == (len(large) if name.endswith("7") else 0) for name, _, data in results)
    assert len({token for _, token, _ in results}) > 1  # shared out, not one task doing all
    driver.close()
    for thread in serving:
        thread.join(10)
        assert not thread.is_alive()  # each told the run is over


def test_a_task_started_again_elsewhere_takes_over_and_the_chunk_it_held_is_not_lost(
    driver: ResultChannel, finished: queue.SimpleQueue[Handed]
) -> None:
    """A task that Dask started again on another worker connects with the same token: its old
    connection is shut, and the chunk that one held fails as a dead worker's (the window sends it
    again)."""
    driver.expect("restarted")
    held = driver.hand(["alice"])
    with channel.connect(driver.address, driver.secret, "restarted") as first:
        assert first.recv() == ["alice"]
        with channel.connect(driver.address, driver.secret, "restarted") as again:
            assert _back(finished) is held
            with pytest.raises(WorkerGone):
                held.result()
            retried = driver.hand(["alice"])
            assert again.recv() == ["alice"]
            again.send("graded")
            assert _back(finished) is retried and retried.result() == "graded"


def test_reaches_says_whether_and_why_not(driver: ResultChannel) -> None:
    assert channel.reaches(driver.address, driver.secret)
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        nowhere = closed.getsockname()
    with pytest.raises(Unreachable, match=f"cannot connect to the driver at 127.0.0.1:{nowhere[1]}"):
        channel.reaches(nowhere, driver.secret)


def test_a_serving_task_grades_each_chunk_it_is_sent_until_the_driver_stops(
    driver: ResultChannel, finished: queue.SimpleQueue[Handed]
) -> None:
    pytest.importorskip("distributed")
    from grader.batch.cluster_worker import serve_chunks

    def grade(key: str, tasks: list[str]) -> object:
        if tasks == ["crash"]:
            raise RuntimeError(f"{key}: the pool broke")
        return [f"{task} graded" for task in tasks]

    driver.expect("task-1")
    handed = [driver.hand(["alice", "bob"]), driver.hand(["crash"]), driver.hand(["carol"])]
    served: list[int] = []
    task = threading.Thread(
        target=lambda: served.append(serve_chunks("run", driver.address, driver.secret, "task-1", grade))
    )
    task.start()
    assert {id(_back(finished)) for _ in handed} == {id(h) for h in handed}
    assert handed[0].result() == ["alice graded", "bob graded"] and handed[2].result() == ["carol graded"]
    with pytest.raises(RuntimeError, match="run: the pool broke"):
        handed[1].result()
    driver.close()
    task.join(10)
    assert served == [3]
