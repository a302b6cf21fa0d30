"""What a Dask worker runs for grader (imported only where Dask's distributed is installed).

The run's set-up reaches each worker once, through a worker plugin registered on the
scheduler: a worker that joins later, or that the nanny restarts after a crash, gets it
too. The plugin first checks that the worker runs the driver's grader (code and rendering)
under the driver's ``GRADER_MAX_*`` limits (else every chunk sent there is refused), then
starts a pebble pool of as many processes as the worker has threads, exactly the pool a
local run uses: each check runs in a process of its own under its CPU-time limit, its
memory limit and the watchdog (grader.core.timelimit), and a process that dies or hangs is
replaced while its submission is retried alone. A Dask task only hands its chunk to that
pool and waits, so Dask's own threads never share a process with a check.

The pool's processes start from multiprocessing's fork server (never forked from the
worker itself, whose threads must not be forked), which imports grader and every answer
type's checker once (:mod:`grader.checkers`); a run under
``GRADER_MAX_*`` limits other than those the server imported grader under starts its
processes as fresh interpreters, which read the run's limits from the environment.
"""

from __future__ import annotations

import logging
import multiprocessing
import multiprocessing.context
import os
from dataclasses import dataclass
from pathlib import Path

import dask
from distributed import Worker, WorkerPlugin
from pebble import ProcessPool

from grader.batch.executors import Chunk, PoolWindow, submission_budget
from grader.batch.plan import MISSING, why_not_in_place
from grader.batch.reading import NotSeenHere
from grader.batch.worker import Graded, WorkerRefused, WorkerSetup, install
from grader.versions import Limits, export_limits, limits_in_force, refusal

PRELOAD = ["grader.batch.worker", "grader.checkers"]  # what the fork server imports before its first fork

# A worker started with ``--preload grader.batch.cluster_worker`` imports this module before it
# reads its configuration: Dask's statistical profiler (each thread's stack sampled every 10 ms,
# for the dashboard's Profile tab) stays off, as its CPU is taken from the checks beside it.
dask.config.set({"distributed.worker.profile.enabled": False})
# Under Dask's worker logger: in the worker's console, and in its logs as Dask keeps them.
logger = logging.getLogger("distributed.worker.grader")


@dataclass
class _Installed:
    setup: WorkerSetup
    pool: ProcessPool | None  # None when the worker is refused
    refused: str | None = None


_INSTALLED: dict[str, _Installed] = {}
# The limits the fork server imported grader under once started, or None if it could not start.
_SERVER: dict[str, Limits | None] = {}


def dask_setup(worker: Worker) -> None:
    """``dask worker --preload grader.batch.cluster_worker``: start the fork server of the
    worker's check processes now, under the worker's own limits, rather than in its first run."""
    check_process_context(limits_in_force())


def check_process_context(limits: Limits) -> multiprocessing.context.BaseContext:
    """How the check processes of a run under ``limits`` start: from the fork server when it
    imported grader under these limits (the first run's), else as fresh interpreters."""
    # Dask's nanny starts its workers as daemonic processes, which multiprocessing forbids to
    # have children; the pool's processes end with the plugin (teardown) or with this worker.
    multiprocessing.current_process()._config["daemon"] = False  # type: ignore[attr-defined]
    if "limits" not in _SERVER:
        export_limits(limits)  # the server reads them when it imports grader
        multiprocessing.get_context("forkserver").set_forkserver_preload(PRELOAD)
        try:  # started now, by a first process it forks: ready when the worker joins
            first = multiprocessing.get_context("forkserver").Process(target=os.getpid)
            first.start()
            first.join()
            _SERVER["limits"] = limits
        except OSError as exc:  # no socket (a read-only temporary folder): fresh interpreters, slower
            _SERVER["limits"] = None
            logger.warning(
                "grader: the fork server did not start (%s: %s); check processes start as fresh interpreters",
                type(exc).__name__,
                exc,
            )
    if limits == _SERVER["limits"]:
        return multiprocessing.get_context("forkserver")
    return multiprocessing.get_context("spawn")


class ProblemSetPlugin(WorkerPlugin):
    """Installs one run's set-up under ``key`` in every worker process, with its check pool."""

    def __init__(self, key: str, setup: WorkerSetup):
        self.key = key
        self.setup_to_install = setup

    def setup(self, worker: Worker) -> None:
        setup = self.setup_to_install
        refused = refusal(setup.version, setup.rendering, setup.limits, f"Dask worker {worker.address}")
        if refused is not None:
            _INSTALLED[self.key] = _Installed(setup, None, refused)
            return
        export_limits(setup.limits)  # before the check processes start: fresh ones read them on import
        pool = ProcessPool(
            max_workers=max(1, int(worker.state.nthreads)),
            initializer=install,
            initargs=(setup,),
            context=check_process_context(setup.limits),
        )
        _INSTALLED[self.key] = _Installed(setup, pool)

    def teardown(self, worker: Worker) -> None:
        installed = _INSTALLED.pop(self.key, None)
        if installed is not None and installed.pool is not None:
            installed.pool.stop()
            installed.pool.join()


def grade_chunk_on_worker(key: str, tasks: Chunk) -> list[Graded] | NotSeenHere:
    """A Dask task: grade the chunk on this worker's check pool, in the chunk's order. A chunk
    sent without its files is read in place, where this worker sees each folder as the driver
    did (see grader.batch.plan.why_not_in_place); else it goes back unread."""
    installed = _INSTALLED.get(key)
    if installed is None:
        raise RuntimeError(f"no grader set-up {key} was installed on this Dask worker")
    if installed.pool is None:
        raise WorkerRefused(installed.refused)
    unseen = unseen_folders(tasks)
    if unseen is not None:
        return unseen
    pool = installed.pool
    window = PoolWindow(lambda: pool, installed.setup, submission_budget(installed.setup.spec), in_flight=1)
    graded = [g for group in window.run(iter([tasks])) for g in group]
    order = {task.key: index for index, task in enumerate(tasks)}
    graded.sort(key=lambda g: order[g.task.key])
    return graded


def unseen_folders(tasks: Chunk) -> NotSeenHere | None:
    """What this worker does not see of a chunk's folders as the driver did (None: it sees them
    all). A folder missing here says this worker sees another disk; every folder of the chunk
    unseen, another copy of the class (or a class whose every folder holds links): from then on
    every folder travels. A folder changed or linked among others is that student's alone."""
    why = {task.key: why_not_in_place(Path(task.folder), task.seen) for task in tasks if task.files is None}
    unseen = {key: reason for key, reason in why.items() if reason is not None}
    if not unseen:
        return None
    elsewhere = MISSING in unseen.values() or len(unseen) == len(why)
    return NotSeenHere(tuple(unseen), elsewhere)


def fork_server_limits() -> Limits | None:
    """The limits this worker's fork server imported grader under (None: not started)."""
    return _SERVER.get("limits")


def versions_here() -> tuple[str, str]:
    """This worker's grader: (deciding code, whole code), as the driver compares them."""
    from grader.versions import code_version  # looked up here: a test hook replaces it

    return code_version(deciding_only=True), code_version()
