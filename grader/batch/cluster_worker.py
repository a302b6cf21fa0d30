"""What a Dask worker runs for grader (imported only where Dask's distributed is installed).

The run's set-up reaches each worker once, through a worker plugin registered on
the scheduler: a worker that joins later, or that the nanny restarts after a
crash, gets it too. The plugin first checks that the worker runs the driver's
grader (code and rendering) under the driver's ``GRADER_MAX_*`` limits, then
starts a process pool of as many processes as the worker has threads, exactly
the pool a local run uses: each check runs in a process of its own under its
CPU-time limit, its memory limit and the watchdog, and a process that dies or
hangs is replaced while its submission is retried alone. A Dask task only hands
its chunk to that pool and waits, so Dask's own threads never share a process
with a check.

The pool's processes are forked from a fork server of the worker's (never from the worker
itself, whose threads must not be forked), which imported grader and every checker once, under
the ``GRADER_MAX_*`` limits of the run that started it: started by the first run a worker
serves, or when the worker starts (``dask worker --preload grader.batch.cluster_worker``, see
:func:`dask_setup`), it serves every later run under the same limits. A run under other limits
starts its pool's processes as fresh interpreters, which read the limits from the environment
(a check process also refuses to grade under limits other than its run's, see
grader.batch.worker.limits_refusal).
"""

from __future__ import annotations

import logging
import multiprocessing
import multiprocessing.context
import os
import pickle
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from multiprocessing.connection import Connection
from pathlib import Path

from distributed import Worker, WorkerPlugin
from pebble import ProcessPool

from grader.batch import channel, fork_server
from grader.batch.executors import Chunk, PoolWindow, submission_budget
from grader.batch.limits import Limits, export_limits, limits_in_force
from grader.batch.plan import MISSING, why_not_in_place
from grader.batch.reading import NotSeenHere
from grader.batch.worker import Graded, WorkerRefused, WorkerSetup, install, refusal


@dataclass
class _Installed:
    setup: WorkerSetup
    pool: ProcessPool | None  # None when the worker is refused
    refused: str | None = None
    chunks: int = 0  # chunks this worker graded for the run


_INSTALLED: dict[str, _Installed] = {}
_LOCK = threading.Lock()
# The limits the worker's fork server imported grader under (None: no fork server started).
_FORK_SERVER_LIMITS: Limits | None = None
_FORK_SERVER_FAILURE: str | None = None  # why the fork server did not start (None: it did, or not tried)
# Under Dask's worker logger: in the worker's console, and in its logs as Dask keeps them.
logger = logging.getLogger("distributed.worker.grader")


def dask_setup(worker: Worker) -> None:
    """``dask worker --preload grader.batch.cluster_worker``: start the fork server of the
    worker's check processes now, under the worker's own limits, rather than in its first run."""
    start_fork_server(limits_in_force())


def start_fork_server(limits: Limits) -> None:
    """Start this worker's fork server under ``limits`` (once a worker's life). A server that
    cannot start (no socket in a read-only temporary folder, no processes left) is tried no
    more: the check processes then start as fresh interpreters, slower but the same."""
    global _FORK_SERVER_LIMITS, _FORK_SERVER_FAILURE
    if _FORK_SERVER_LIMITS is not None or _FORK_SERVER_FAILURE is not None:
        return
    export_limits(limits)  # the server is a fresh interpreter: it reads them on import
    allow_children()
    try:
        _start_fork_server()
    except Exception as exc:
        _FORK_SERVER_FAILURE = f"{type(exc).__name__}: {exc}"
        logger.warning(
            "grader: the fork server did not start (%s); check processes start as fresh interpreters",
            _FORK_SERVER_FAILURE,
        )
        return
    _FORK_SERVER_LIMITS = limits


def _start_fork_server() -> None:
    fork_server.pass_main_module()  # in the environment the server starts with, and only there
    try:
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload([fork_server.PRELOAD])
        # The server serves its first fork once it has imported what it preloads: wait for that
        # here, so that a worker started with the preload is ready when it joins.
        first = context.Process(target=os.getpid, name="grader-fork-server-ready")
        first.start()
        first.join()
    finally:
        os.environ.pop(fork_server.MAIN_VARIABLE, None)


def allow_children() -> None:
    """Dask's nanny starts its workers as daemonic processes, which multiprocessing forbids to
    have children; the pool's processes end with the plugin (teardown) or when this worker dies
    (their task pipe closes), the fork server when this worker ends."""
    multiprocessing.current_process()._config["daemon"] = False  # type: ignore[attr-defined]


def check_process_context(limits: Limits) -> multiprocessing.context.BaseContext:
    """How the check processes of a run under ``limits`` start: forked from the fork server
    when it imported grader under these limits, else as fresh interpreters."""
    start_fork_server(limits)
    if limits == _FORK_SERVER_LIMITS:
        return multiprocessing.get_context("forkserver")
    return multiprocessing.get_context("spawn")


class ProblemSetPlugin(WorkerPlugin):
    """Installs one run's set-up under ``key`` in every worker process, with its check pool."""

    def __init__(self, key: str, setup: WorkerSetup):
        self.key = key
        self.setup_to_install = setup

    def setup(self, worker: Worker) -> None:
        setup = self.setup_to_install
        refused = refusal(setup, f"Dask worker {worker.address}")
        if refused is not None:
            _INSTALLED[self.key] = _Installed(setup, None, refused)
            return
        export_limits(setup.limits)  # before the check processes start: fresh ones read them on import
        context = check_process_context(setup.limits)  # (which lets this worker have children)
        processes = max(1, int(worker.state.nthreads))
        pool = ProcessPool(
            max_workers=processes,
            initializer=install,
            initargs=(replace(setup, cap_memory=True, watchdog=True),),
            context=context,
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
    with _LOCK:
        installed.chunks += 1
    return graded


def serve_chunks(
    key: str,
    driver: channel.Address,
    secret: bytes,
    token: str,
    grade: Callable[[str, Chunk], object] = grade_chunk_on_worker,
) -> int:
    """A long-lived Dask task (see grader.batch.channel): connect to the driver, then grade each
    chunk it sends and send back what :func:`grade_chunk_on_worker` returns or raises, until the
    driver sends none or goes away. How many chunks it graded."""
    served = 0
    with channel.connect(driver, secret, token) as connection:
        while True:
            try:
                tasks = connection.recv()
            except (EOFError, OSError):  # the driver stopped
                return served
            if tasks is None:
                return served
            try:
                outcome = grade(key, tasks)
            except Exception as exc:
                outcome = exc
            try:
                _send(connection, outcome)
            except OSError:
                return served
            served += 1


def _send(connection: Connection, outcome: object) -> None:
    try:
        connection.send(outcome)
    except (pickle.PicklingError, TypeError, AttributeError) as exc:  # an exception pickle refuses
        connection.send(RuntimeError(f"{outcome!r} could not be sent back ({exc})"))


def reaches_driver(driver: channel.Address, secret: bytes) -> bool:
    """Whether this worker reaches the driver's channel (raises channel.Unreachable if not)."""
    return channel.reaches(driver, secret)


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


def chunks_graded(key: str) -> int:
    """How many chunks of run ``key`` this worker graded (for tests and the benchmark)."""
    installed = _INSTALLED.get(key)
    return 0 if installed is None else installed.chunks


def fork_server_limits() -> Limits | None:
    """The limits this worker's fork server imported grader under (None: not started)."""
    return _FORK_SERVER_LIMITS


def versions_here() -> tuple[str, str]:
    """This worker's grader: (deciding code, whole code), as the driver compares them."""
    from grader.batch.limits import code_version  # looked up here: a test hook replaces it

    return code_version(deciding_only=True), code_version()
