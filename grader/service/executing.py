"""Where the service grades: a standing local pool, in-process, or a Dask cluster; the worker
setup of each problem-file version; a submission as the task a batch would ship."""

from __future__ import annotations

import functools
import hashlib
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from grader.batch import InProcessExecutor
from grader.batch.cluster import executor_for
from grader.batch.executors import (
    Chunk,
    Executor,
    ExecutorLost,
    LocalExecutor,
    PoolWindow,
    end_broken,
    install_with_checkers,
    submission_budget,
)
from grader.batch.reading import SubmissionTask
from grader.batch.store import code_version
from grader.batch.worker import Graded, WorkerSetup
from grader.core.integrity import draw_secret
from grader.reading import Entry
from grader.service.settings import Settings
from grader.service.variant_key import course_variant_key
from grader.spec import ProblemSet
from grader.versions import limits_in_force, verdict_version

if TYPE_CHECKING:
    from pebble import ProcessPool

WORKER_NICENESS = 10  # grading yields the CPU to the server's requests
# Sheets a pool worker grades before a fresh one takes its place (0: never): its caches and what
# its allocator keeps are given back every few minutes of a rush, so that the workers stay the
# size of a fresh one all term, for a worker's start per this many.
WORKER_SHEETS = "GRADER_WORKER_SHEETS"
DEFAULT_WORKER_SHEETS = 500


def make_executor(settings: Settings, nice: int = WORKER_NICENESS) -> Executor:
    if settings.executor:
        return executor_for(settings.executor, max(settings.workers, 1))
    if settings.workers == 0:
        return InProcessExecutor()
    sheets = os.environ.get(WORKER_SHEETS, "").strip() or str(DEFAULT_WORKER_SHEETS)
    if not sheets.isdigit():
        raise ValueError(f"{WORKER_SHEETS} must be a whole number of sheets (0: never), not {sheets!r}")
    # forked from a single-threaded fork server with grader's checking code loaded: the
    # server's own threads (HTTP, grading loop) are never forked
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["grader.batch.worker", "grader.batch.executors", __name__])
    return StandingExecutor(settings.workers, context=context, nice=nice, max_tasks=int(sheets))


def one_task(folder: str, filename: str, content: bytes, key: str | None = None) -> SubmissionTask:
    """A submission of one file, shipped as a batch ships a folder; ``folder``: the student,
    whose variant of a parameterised set grades it."""
    files = (Entry(filename, size=len(content), data=content),)
    digest = hashlib.sha256(content).hexdigest()
    return SubmissionTask(key or folder, folder, "submission", digest, files=files, variant_of=folder)


class WorkerSetups:
    """The worker setup of each problem-file version, the same object each time: a standing
    pool's workers prepared it once."""

    KEPT = 16  # old versions of edited problem files are dropped beyond this

    def __init__(self, settings: Settings):
        # keyed as a batch keys its verdicts: the deciding code and the GRADER_MAX_* limits in force
        limits = limits_in_force()
        self._new = functools.partial(
            WorkerSetup,
            show_expected=False,
            version=verdict_version(code_version(deciding_only=True), limits),
            rendering=code_version(),
            store=str(settings.store_path),
            limits=limits,
            draw_secret=draw_secret(),  # each answer's code trials: a seed no student sees
            variant_key=course_variant_key(),  # each student's variant of a parameterised set
            for_pages=True,  # the pages are made from the report: no files, the plots kept
        )
        self._setups: dict[str, WorkerSetup] = {}  # by problem-file hash
        self._lock = threading.Lock()

    def setup_for(self, problem_hash: str, spec: ProblemSet) -> WorkerSetup:
        with self._lock:
            setup = self._setups.get(problem_hash)
            if setup is None:
                setup = self._new(spec)
                if len(self._setups) >= self.KEPT:
                    self._setups.pop(next(iter(self._setups)))
                self._setups[problem_hash] = setup
            return setup


def install_niced(setup: WorkerSetup, nice: int) -> None:
    """A standing pool's initializer: lower the worker's priority by ``nice`` and shield it from
    SIGTERM (its pool's owner stops it). A SIGTERM to the whole process group (systemd's stop)
    ends a pebble worker wherever it is; one that ends between taking a task and acknowledging
    it leaves that task pending and the pool's channel locked: a graceful stop waits it out."""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    os.nice(nice)
    install_with_checkers(setup)


@dataclass(eq=False)
class _StandingPool:
    setup: WorkerSetup
    pool: ProcessPool
    users: int = 0
    retired: bool = False


class StandingExecutor(LocalExecutor):
    """A local pool that outlives each call of :meth:`grade`: the workers, and the problem set
    each has prepared, are kept for the next call with the same setup object (the ``keep``
    setups used last). Several threads may grade at once, each call with its own window of
    chunks on the shared pool; a call that stops early cancels only its own chunks."""

    def __init__(self, jobs: int, context: Any = None, nice: int = 0, keep: int = 2, max_tasks: int = 0):
        super().__init__(jobs, context, max_tasks)
        self.nice = nice
        self.keep = keep
        self._standing: list[_StandingPool] = []  # the one used last, last
        self._running: set[ProcessPool] = set()  # every pool not yet ended, kept or retired
        self._closed = False
        self._lock = threading.Lock()

    def grade(self, setup: WorkerSetup, chunks: Iterable[Chunk]) -> Iterator[list[Graded]]:
        entry = self._enter(setup)
        window = PoolWindow(
            lambda: self._usable(entry), setup, submission_budget(setup.spec), in_flight=self.jobs * 3
        )
        try:
            yield from window.run(iter(chunks))
        except BaseException:  # stopped mid-way: this call's chunks in flight are not waited for
            for future in window.pending:
                future.cancel()
            raise
        finally:
            self._leave(entry)

    def _initializer(self, setup: WorkerSetup) -> tuple[Callable[..., None], tuple[Any, ...]]:
        return install_niced, (setup, self.nice)

    def _enter(self, setup: WorkerSetup) -> _StandingPool:
        with self._lock:
            if self._closed:  # a grading thread that outlived close() starts no new workers
                raise ExecutorLost("the grading workers are stopping")
            entry = next((e for e in self._standing if e.setup is setup and e.pool.active), None)
            if entry is None:
                entry = _StandingPool(setup, self._new_pool(setup))
                self._running.add(entry.pool)
            else:
                self._standing.remove(entry)
            self._standing.append(entry)
            entry.users += 1
            idle = []
            for old in self._standing[: -self.keep]:
                self._standing.remove(old)
                old.retired = True
                if old.users == 0:
                    idle.append(old.pool)
        self._end(idle)
        return entry

    def _usable(self, entry: _StandingPool) -> ProcessPool:
        """The entry's pool, or a new one in its place if it broke (a worker died)."""
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

    def _leave(self, entry: _StandingPool) -> None:
        with self._lock:
            entry.users -= 1
            idle = [entry.pool] if entry.retired and entry.users == 0 else []
        self._end(idle)

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
