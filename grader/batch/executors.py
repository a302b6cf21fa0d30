"""Executors: where chunks of submissions are graded.

Every executor takes the worker setup (sent once per worker) and an iterable of
chunks, and yields graded chunks as they finish, in any order. A chunk whose
worker dies or is stopped is retried one submission at a time; a submission
that fails on its own gets an error report naming what happened, and the rest
of the class goes on. :class:`LocalExecutor` is a process pool on this machine
(pebble: a dead worker is replaced, a task past its time is killed);
:class:`InProcessExecutor` grades in the calling process (one folder);
``grader.batch.cluster.DaskExecutor`` sends chunks to a Dask cluster.
"""

from __future__ import annotations

import concurrent.futures
import signal
from collections.abc import Iterable, Iterator
from dataclasses import replace
from typing import Protocol

from pebble import ProcessExpired, ProcessPool

from grader.batch.limits import EXIT_CHECK_HUNG, grace
from grader.batch.worker import (
    Graded,
    Prepared,
    SubmissionTask,
    WorkerSetup,
    failed_report,
    grade_chunk,
    grade_task,
    install,
)
from grader.spec import ProblemSet

Chunk = list[SubmissionTask]


class ExecutorLost(RuntimeError):
    """The executor went away mid-run (a Dask scheduler's connection dropped)."""


class Executor(Protocol):
    def grade(self, setup: WorkerSetup, chunks: Iterable[Chunk]) -> Iterator[list[Graded]]: ...


class InProcessExecutor:
    """Grades in this process, one submission after another (no watchdog: it would end us)."""

    def grade(self, setup: WorkerSetup, chunks: Iterable[Chunk]) -> Iterator[list[Graded]]:
        prepared = Prepared(replace(setup, watchdog=False))
        for chunk in chunks:
            yield [grade_task(prepared, task) for task in chunk]


def submission_budget(spec: ProblemSet) -> float:
    """Seconds after which grading one submission is certainly stuck."""
    return sum(grace(part.time_limit) for _, _, part in spec.iter_parts()) + 30.0


def failure_reason(exc: BaseException, budget: float) -> str:
    """What happened to a worker, as a TA reads it in the error row."""
    if isinstance(exc, ProcessExpired):
        code = exc.exitcode
        if code == EXIT_CHECK_HUNG:
            return "a check ran far past its time limit inside compiled code; its worker was stopped"
        if code is not None and code < 0:
            name = signal.Signals(-code).name if -code in signal.Signals._value2member_map_ else str(-code)
            hint = " (out of memory?)" if -code == signal.SIGKILL else ""
            return f"the worker grading it was killed by {name}{hint}"
        return f"the worker grading it exited unexpectedly (exit code {code})"
    if isinstance(exc, concurrent.futures.TimeoutError):
        return f"grading it took longer than {budget:g} s and was stopped"
    return f"grading it crashed ({type(exc).__name__}: {exc})"


class LocalExecutor:
    """A pool of ``jobs`` worker processes on this machine; the problem set goes to each
    worker once, through the pool's initializer."""

    def __init__(self, jobs: int):
        self.jobs = jobs

    def grade(self, setup: WorkerSetup, chunks: Iterable[Chunk]) -> Iterator[list[Graded]]:
        budget = submission_budget(setup.spec)
        pool = ProcessPool(max_workers=self.jobs, initializer=install, initargs=(setup,))
        finished = False
        try:
            window = _Window(pool, budget, in_flight=self.jobs * 3)
            yield from window.run(iter(chunks), setup)
            finished = True
        finally:
            if finished:
                pool.close()
            else:  # Ctrl-C or an error: the chunks still running are not waited for
                pool.stop()
            pool.join()


class _Window:
    """Keeps a few chunks in flight per worker (so memory stays flat) and retries failures."""

    def __init__(self, pool: object, budget: float, in_flight: int):
        self.pool = pool
        self.budget = budget
        self.in_flight = in_flight
        self.pending: dict[concurrent.futures.Future[list[Graded]], Chunk] = {}
        self.retries: list[Chunk] = []

    def _submit(self, chunk: Chunk) -> None:
        future = self.pool.schedule(grade_chunk, args=(chunk,), timeout=self.budget * len(chunk))  # type: ignore[attr-defined]
        self.pending[future] = chunk

    def _fill(self, chunks: Iterator[Chunk]) -> None:
        while len(self.pending) < self.in_flight:
            chunk = self.retries.pop() if self.retries else next(chunks, None)
            if chunk is None:
                return
            self._submit(chunk)

    def run(self, chunks: Iterator[Chunk], setup: WorkerSetup) -> Iterator[list[Graded]]:
        self._fill(chunks)
        while self.pending:
            done, _ = concurrent.futures.wait(self.pending, return_when=concurrent.futures.FIRST_COMPLETED)
            for future in done:
                chunk = self.pending.pop(future)
                try:
                    yield future.result()
                except Exception as exc:
                    yield from self._after_failure(chunk, exc, setup)
            self._fill(chunks)

    def _after_failure(self, chunk: Chunk, exc: BaseException, setup: WorkerSetup) -> Iterator[list[Graded]]:
        if len(chunk) > 1:  # find the submission that fails: each on its own
            self.retries.extend([task] for task in reversed(chunk))
            return
        reason = failure_reason(exc, self.budget)
        yield [failed_report(setup.spec, chunk[0], reason, setup.show_expected)]
