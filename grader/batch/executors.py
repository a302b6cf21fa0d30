"""Executors: where chunks of submissions are graded.

Every executor takes the worker setup (sent once per worker) and an iterable of
chunks, and yields graded chunks as they finish, in any order. A chunk whose
worker dies or is stopped is retried one submission at a time; a submission
that fails on its own gets an error report naming what happened, and the rest
of the class goes on. A submission whose worker died (killed from outside, as the
OOM killer does) is graded again alone, up to :data:`REGRADES_AFTER_DEATH` times,
before it gets an error report. :class:`LocalExecutor` is a process pool on this machine
(pebble: a dead worker is replaced, a task past its time is killed, a pool that broke
is replaced);
:class:`InProcessExecutor` grades in the calling process (one folder);
``grader.batch.cluster.DaskExecutor`` sends chunks to a Dask cluster.
"""

from __future__ import annotations

import concurrent.futures
import multiprocessing
import os
import signal
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Protocol

from grader.batch.reading import SubmissionTask
from grader.batch.worker import (
    Graded,
    Prepared,
    WorkerRefused,
    WorkerSetup,
    failed_report,
    grade_chunk,
    grade_task,
    install,
)
from grader.core.timelimit import EXIT_CHECK_HUNG, grace
from grader.engine import load_checkers
from grader.spec import ProblemSet

if TYPE_CHECKING:
    from pebble import ProcessPool

Chunk = list[SubmissionTask]

# A submission whose worker died is graded again alone this many times before its error report:
# a worker killed from outside costs nothing, one the submission itself kills every time (a crash
# in compiled code) ends as an error row.
REGRADES_AFTER_DEATH = 2
# Pools that may break one after another, nothing graded in between, before the chunks that
# failed with them count it as their workers' deaths (a pool whose workers cannot start).
POOL_BREAKS_FORGIVEN = 3
# How often a window waiting for its chunks looks whether their pool broke: pebble leaves the
# futures of tasks it had not yet handed to a worker pending for good then.
POOL_CHECK_SECONDS = 1.0
# A pool one of whose workers died, and that has given back nothing since for this long while it
# holds work, is stalled: a worker killed while it held the pool's channel lock (taking a task,
# sending a result) holds it for good, and pebble's other workers wait on it. It is stopped and
# its work sent again to a new pool, as for a pool that broke. A worker that retired (it graded
# its ``max_tasks`` and exited 0, its result sent) is not a death.
STALL_SECONDS = 15.0
# Results a worker sent before another died may come back after that death was seen: a death
# this long before the last result still counts as one since it.
RESULTS_IN_FLIGHT_SECONDS = 5.0


class ExecutorLost(RuntimeError):
    """The executor went away mid-run (a Dask scheduler's connection dropped)."""


class Executor(Protocol):
    def grade(self, setup: WorkerSetup, chunks: Iterable[Chunk]) -> Iterator[list[Graded]]: ...

    def close(self, wait: float | None = None) -> None:
        """Let go of what the executor kept between calls of :meth:`grade` (the service
        stops); work still running may finish for up to ``wait`` seconds."""


class InProcessExecutor:
    """Grades in this process, one submission after another (no watchdog: it would end us)."""

    def grade(self, setup: WorkerSetup, chunks: Iterable[Chunk]) -> Iterator[list[Graded]]:
        prepared = Prepared(replace(setup, watchdog=False, within_class=False, rows_only=False))
        try:
            for chunk in chunks:
                yield [grade_task(prepared, task) for task in chunk]
        finally:
            prepared.close()

    def close(self, wait: float | None = None) -> None:
        """Nothing is kept between calls."""


def submission_budget(spec: ProblemSet) -> float:
    """Seconds after which grading one submission is certainly stuck."""
    return sum(grace(part.time_limit) for _, _, part in spec.iter_parts()) + 30.0


def failure_reason(exc: BaseException, budget: float) -> str:
    """What happened to a worker, as a TA reads it in the error row."""
    from concurrent.futures.process import BrokenProcessPool

    from pebble import ProcessExpired  # pebble: imported when a pool is used, not to plan a batch

    if isinstance(exc, ProcessExpired):
        code = exc.exitcode
        if code == EXIT_CHECK_HUNG:
            return "a check ran far past its time limit inside compiled code; its worker was stopped"
        if code is not None and code < 0:
            name = signal.Signals(-code).name if -code in signal.Signals._value2member_map_ else str(-code)
            hint = " (out of memory?)" if -code == signal.SIGKILL else ""
            return f"the worker grading it was killed by {name}{hint}"
        return f"the worker grading it exited unexpectedly (exit code {code})"
    if isinstance(exc, BrokenProcessPool):
        return "the pool of workers grading it broke (one of its workers died)"
    if isinstance(exc, concurrent.futures.TimeoutError):
        return f"grading it took longer than {budget:g} s and was stopped"
    return f"grading it crashed ({type(exc).__name__}: {exc})"


def worker_died(exc: BaseException) -> bool:
    """Whether a pool's task failed because its worker died (a signal, an exit) or its pool broke,
    not because a check ran past its limits (the watchdog's exit, the time budget): the
    submission may be graded again."""
    from concurrent.futures.process import BrokenProcessPool

    from pebble import ProcessExpired

    if isinstance(exc, ProcessExpired):
        return exc.exitcode != EXIT_CHECK_HUNG
    return isinstance(exc, BrokenProcessPool)


class LocalExecutor:
    """A pool of ``jobs`` worker processes on this machine; the problem set goes to each worker
    once, through the pool's initializer. With ``keep``, a standing pool (the service's): the
    pools of the ``keep`` setup objects used last outlive each call of :meth:`grade` (a call
    with the same setup reuses its prepared workers), their workers run at ``nice`` and ignore
    SIGTERM (their owner stops them, at :meth:`close`). Several threads may grade at once, each
    with its own window of chunks; a call that stops early cancels only its own chunks."""

    def __init__(self, jobs: int, context: Any = None, max_tasks: int = 0, nice: int = 0, keep: int = 0):
        self.jobs = jobs
        # How workers start (a multiprocessing context); a threaded caller such as the service
        # passes forkserver, since forking a process with other threads running is unsafe.
        self.context = context or multiprocessing
        # Chunks a worker grades before it exits and pebble starts a fresh one in its place (0:
        # never): what a long-lived worker's caches and allocator hold is given back.
        self.max_tasks = max_tasks
        self.nice = nice
        self.keep = keep
        self._standing: list[_Pool] = []  # the one used last, last
        self._running: set[ProcessPool] = set()  # every pool not yet ended, kept or retired
        self._closed = False
        self._lock = threading.Lock()

    def grade(self, setup: WorkerSetup, chunks: Iterable[Chunk]) -> Iterator[list[Graded]]:
        entry = self._enter(setup)
        window = PoolWindow(
            lambda: self._usable(entry), setup, submission_budget(setup.spec), in_flight=self.jobs * 3
        )
        finished = False
        try:
            yield from window.run(iter(chunks))
            finished = True
        except BaseException:  # stopped mid-way (Ctrl-C, an error): its chunks are not waited for
            for future in window.pending:
                future.cancel()
            raise
        finally:
            self._leave(entry, wait=None if finished else 0.0)

    def _new_pool(self, setup: WorkerSetup) -> ProcessPool:
        from pebble import ProcessPool

        if self.context.get_start_method() == "fork":  # workers inherit the checkers imported here
            load_checkers(setup.spec)
        pool = ProcessPool(
            max_workers=self.jobs,
            max_tasks=self.max_tasks,
            initializer=install_pool_worker,
            initargs=(setup, self.nice, self.keep > 0),
            context=self.context,
        )
        return count_deaths(pool)

    def _enter(self, setup: WorkerSetup) -> _Pool:
        with self._lock:
            if self._closed:  # a grading thread that outlived close() starts no new workers
                raise ExecutorLost("the grading workers are stopping")
            entry = next((e for e in self._standing if e.setup is setup and e.pool.active), None)
            if entry is None:
                entry = _Pool(setup, self._new_pool(setup))
                self._running.add(entry.pool)
            else:
                self._standing.remove(entry)
            self._standing.append(entry)
            entry.users += 1
            idle = []
            for old in self._standing[: len(self._standing) - self.keep]:
                self._standing.remove(old)
                old.retired = True
                if old.users == 0:
                    idle.append(old.pool)
        self._end(idle)
        return entry

    def _usable(self, entry: _Pool) -> ProcessPool:
        """The entry's pool, or a new one in its place if it broke (a worker died while none had
        a task)."""
        with self._lock:
            broken = None
            if not entry.pool.active and not self._closed:
                broken = entry.pool
                self._running.discard(broken)
                entry.pool = self._new_pool(entry.setup)
                self._running.add(entry.pool)
            pool = entry.pool
        if broken is not None:
            end_broken(broken)
        return pool

    def _leave(self, entry: _Pool, wait: float | None) -> None:
        with self._lock:
            entry.users -= 1
            idle = [entry.pool] if entry.retired and entry.users == 0 else []
        self._end(idle, wait)

    def _end(self, pools: list[ProcessPool], wait: float | None = None) -> None:
        """End each pool's workers, once, after the chunks running finish or ``wait`` seconds."""
        with self._lock:
            pools = [pool for pool in pools if pool in self._running]
            self._running.difference_update(pools)
        for pool in pools:
            pool.close()
        deadline = None if wait is None else time.monotonic() + wait
        for pool in pools:
            try:
                pool.join(None if deadline is None else max(deadline - time.monotonic(), 0.0))
            except TimeoutError:
                pool.stop()
                pool.join()

    def close(self, wait: float | None = None) -> None:
        """End every pool, kept or in use, and start no other (see :meth:`_end`)."""
        with self._lock:
            self._closed = True
            self._standing = []
            pools = list(self._running)
        self._end(pools, wait)


@dataclass(eq=False)
class _Pool:
    setup: WorkerSetup
    pool: ProcessPool
    users: int = 0
    retired: bool = False


def count_deaths(pool: ProcessPool) -> ProcessPool:
    """The pool, its workers' deaths counted and timed (:func:`worker_deaths`,
    :func:`last_death`) from now on. pebble's pool manager looks at its workers in
    ``inspect_workers``, which returns each that ended otherwise than by retiring (exit 0); it
    has no public call for them. Every death passes there, a replacement's killed before it was
    ever seen included."""
    manager = _worker_manager(pool)
    if manager is None:
        return pool
    inspect = manager.inspect_workers
    manager.deaths, manager.last_death = 0, float("-inf")

    def inspect_counting() -> tuple[Any, ...]:
        expired = inspect()
        if expired:
            manager.deaths += len(expired)
            manager.last_death = time.monotonic()
        return expired

    manager.inspect_workers = inspect_counting
    return pool


def _worker_manager(pool: ProcessPool) -> Any:
    return getattr(getattr(pool, "_pool_manager", None), "worker_manager", None)


def worker_deaths(pool: ProcessPool) -> int:
    """How many of the pool's workers died since :func:`count_deaths`."""
    return int(getattr(_worker_manager(pool), "deaths", 0))


def last_death(pool: ProcessPool) -> float:
    """When (``time.monotonic``) a worker of the pool last died; ``-inf`` if none has."""
    return float(getattr(_worker_manager(pool), "last_death", float("-inf")))


def end_broken(pool: ProcessPool) -> None:
    """End a pool that broke: its channels close, so its workers still alive leave."""
    pool.stop()
    pool.join()


def install_pool_worker(setup: WorkerSetup, nice: int = 0, standing: bool = False) -> None:
    """Pool initializer: install the setup and import the checkers its parts need (a forked
    worker has them already), at ``nice``. A standing pool's worker ignores SIGTERM: a SIGTERM
    to the whole process group (systemd's stop) ended a pebble worker wherever it was, and one
    that ended between taking a task and acknowledging it left that task pending and the pool's
    channel locked (a graceful stop waited it out); its pool's owner stops it."""
    if standing:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    if nice:
        os.nice(nice)
    install(setup)
    load_checkers(setup.spec)


class ChunkWindow(ABC):
    """Keeps a few chunks in flight per worker (so memory stays flat) and retries failures:
    a failed chunk one submission at a time, a submission that fails on its own as an
    error row. An executor says how a chunk is sent (``_submit``), which futures are
    done (``_completed``) and what a failure was (``_reason``)."""

    def __init__(self, setup: WorkerSetup, in_flight: int):
        self.setup = setup
        self.in_flight = in_flight
        self.pending: dict[Any, Chunk] = {}
        self.retries: list[Chunk] = []
        self.died: dict[str, int] = {}  # by task key: how often a worker grading it died

    @abstractmethod
    def _submit(self, chunk: Chunk) -> Any:
        """Send the chunk; its future."""

    @abstractmethod
    def _completed(self) -> Iterable[Any]:
        """Wait for some pending futures to finish; those."""

    @abstractmethod
    def _reason(self, exc: BaseException) -> str:
        """What a failure was, as a TA reads it in the error row."""

    def _fill(self, chunks: Iterator[Chunk]) -> None:
        while len(self.pending) < self.in_flight:
            chunk = self.retries.pop() if self.retries else next(chunks, None)
            if chunk is None:
                return
            self.pending[self._submit(chunk)] = chunk

    def run(self, chunks: Iterator[Chunk]) -> Iterator[list[Graded]]:
        self._fill(chunks)
        while self.pending:
            for future in self._completed():
                yield from self._outcome(future, self.pending.pop(future))
            self._fill(chunks)

    def _outcome(self, future: Any, chunk: Chunk) -> Iterator[list[Graded]]:
        try:
            yield future.result()
        except WorkerRefused:  # not the submission's fault: no retry
            raise
        except Exception as exc:
            yield from self._after_failure(chunk, exc)

    def _worker_died(self, exc: BaseException) -> bool:
        """Whether the failure was its worker's death (the chunk is graded again), not a check
        past its limits."""
        return False

    def _after_failure(self, chunk: Chunk, exc: BaseException) -> Iterator[list[Graded]]:
        died = self._worker_died(exc)
        if died:
            for task in chunk:
                self.died[task.key] = self.died.get(task.key, 0) + 1
        if len(chunk) > 1:  # find the submission that fails: each on its own
            self.retries.extend([task] for task in reversed(chunk))
            return
        task = chunk[0]
        reason = self._reason(exc)
        if died:
            if self.died[task.key] <= REGRADES_AFTER_DEATH:  # graded again, alone
                self.retries.append(chunk)
                return
            times = self.died[task.key]
            reason = f"its worker died each of the {times} times it was graded (last: {reason})"
        yield [failed_report(self.setup.spec, task, reason, self.setup.show_expected)]


class PoolWindow(ChunkWindow):
    """Chunks on a pebble process pool, each stopped past its time budget; ``pool`` gives the
    pool to send a chunk to (a new one once the last broke)."""

    def __init__(self, pool: Callable[[], ProcessPool], setup: WorkerSetup, budget: float, in_flight: int):
        super().__init__(setup, in_flight)
        self.pool = pool
        self.budget = budget
        self.sent_to: dict[Any, ProcessPool] = {}  # each pending future's pool
        self.broken_pools: set[ProcessPool] = set()  # since a chunk was last graded
        self.progress_at = time.monotonic()  # when a chunk last came back

    def _submit(self, chunk: Chunk) -> Any:
        pool = self.pool()
        future = pool.schedule(grade_chunk, args=(chunk,), timeout=self.budget * len(chunk))
        self.sent_to[future] = pool
        return future

    def _completed(self) -> Iterable[Any]:
        from concurrent.futures.process import BrokenProcessPool

        while True:
            done, _ = concurrent.futures.wait(
                self.pending, timeout=POOL_CHECK_SECONDS, return_when=concurrent.futures.FIRST_COMPLETED
            )
            if done:
                self.progress_at = time.monotonic()
                return done
            for pool in set(self.sent_to.values()):
                if pool.active and self._stalled(pool):
                    end_broken(pool)  # inactive from now: its futures fail, a new pool takes its work
            for future, pool in list(self.sent_to.items()):
                if not pool.active and not future.done():  # a broken pool never settles it
                    future.set_exception(BrokenProcessPool("its pool broke before a worker took it"))

    def _stalled(self, pool: ProcessPool) -> bool:
        """One of the pool's workers died (pebble replaced it; one that retired does not count)
        and nothing came back since, for :data:`STALL_SECONDS` (the results that were on their
        way when it died aside)."""
        idle = time.monotonic() - self.progress_at > STALL_SECONDS
        return idle and last_death(pool) > self.progress_at - RESULTS_IN_FLIGHT_SECONDS

    def _outcome(self, future: Any, chunk: Chunk) -> Iterator[list[Graded]]:
        from concurrent.futures.process import BrokenProcessPool

        pool = self.sent_to.pop(future)
        failure = None if future.cancelled() else future.exception()
        if failure is None:
            self.broken_pools.clear()
        elif isinstance(failure, BrokenProcessPool):
            self.broken_pools.add(pool)
        yield from super()._outcome(future, chunk)

    def _after_failure(self, chunk: Chunk, exc: BaseException) -> Iterator[list[Graded]]:
        from concurrent.futures.process import BrokenProcessPool

        # A pool breaks when a worker dies while none holds a task it acknowledged: the worker
        # was not grading any of the chunks that fail with it, which go again as they were.
        if isinstance(exc, BrokenProcessPool) and len(self.broken_pools) <= POOL_BREAKS_FORGIVEN:
            self.retries.append(chunk)
            return
        yield from super()._after_failure(chunk, exc)

    def _worker_died(self, exc: BaseException) -> bool:
        return worker_died(exc)

    def _reason(self, exc: BaseException) -> str:
        return failure_reason(exc, self.budget)
