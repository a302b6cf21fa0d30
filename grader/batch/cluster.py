"""Grading on a Dask cluster: the same chunks, limits and files as a local run.

``--executor dask`` starts a ``LocalCluster`` on this machine; ``--executor
dask://HOST:PORT`` connects to a running scheduler. Before anything is sent, the
command waits for a worker (:data:`WAIT_VARIABLE` seconds at most) and compares
every worker's grader (deciding code and rendering code) with its own; a worker
that differs, or that cannot import grader, is refused by name. The run's set-up
(the problem set, the ``GRADER_MAX_*`` limits) reaches every worker once through
a worker plugin, which also starts the worker's check pool
(:mod:`.cluster_worker`): each check runs under the same CPU-time and memory
limits as in a local run. Each chunk carries the files its readers open (not a
PDF beside them); a chunk heavier than :data:`SCATTER_BYTES` goes straight to a
worker instead of through the scheduler. How many chunks are in flight follows
the workers connected now. A task whose Dask worker dies is retried once by
Dask; a chunk that still fails is retried one submission at a time, and a
submission that fails on its own gets an error row. A lost scheduler ends the
run with :class:`~grader.batch.executors.ExecutorLost`, after every finished
report was written.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

from grader.batch.executors import Chunk, ChunkWindow, ExecutorLost, LocalExecutor
from grader.batch.plan import digested, folder_fingerprint
from grader.batch.reading import NotSeenHere, SubmissionTask
from grader.batch.worker import Graded, WorkerRefused, WorkerSetup
from grader.reading import ship_folder
from grader.versions import verdict_version

INSTALL_HINT = 'pip install "dl-theory-grader[dask]"'
CONNECT_TIMEOUT = "10s"
WORKER_BASELINE_MIB = 1024  # a Dask worker process with grader loaded, before any check
WAIT_VARIABLE = "GRADER_DASK_WAIT"  # seconds to wait for a first worker (and for any, mid-run)
DEFAULT_WAIT_SECONDS = 60.0
SCATTER_BYTES = 256 << 10  # a chunk carrying more goes to a worker directly, not in the task graph
RECOUNT_SECONDS = 1.0  # how often the workers connected are counted
CHUNKS_PER_THREAD = 3  # chunks in flight a worker thread connected
# Sheets a chunk at most: a chunk costs the driver a few milliseconds (Dask's task, its results
# through the scheduler) whatever its size, so a large class goes in chunks of 50 to 200.
LARGEST_CLUSTER_CHUNK = 200
LOSS_SECONDS = 2.0  # how long a client call that broke waits for the client to say it is lost


def executor_for(name: str, jobs: int) -> LocalExecutor | DaskExecutor:
    """``local``, ``dask`` (a cluster of ``jobs`` worker processes here) or ``dask://HOST:PORT``."""
    if name == "local":
        return LocalExecutor(jobs)
    if name != "dask" and not name.startswith(("dask://", "tcp://", "tls://")):
        raise ValueError(f"unknown executor {name!r}: use local, dask or dask://HOST:PORT")
    try:
        import distributed  # noqa: F401
    except ImportError:
        raise ValueError(f"--executor {name} needs Dask's distributed: {INSTALL_HINT}") from None
    if name == "dask":
        return DaskExecutor(None, workers=jobs)
    address = name if name.startswith("tls://") else "tcp://" + name.split("://", 1)[1]
    return DaskExecutor(address, workers=jobs)


def wait_seconds() -> float:
    try:
        return max(0.0, float(os.environ.get(WAIT_VARIABLE, DEFAULT_WAIT_SECONDS)))
    except ValueError:
        return DEFAULT_WAIT_SECONDS


class DaskExecutor:
    """Chunks as Dask tasks (``Client.submit``), a few in flight per worker thread connected."""

    def __init__(
        self, address: str | None = None, workers: int = 2, chunks_per_worker: int = CHUNKS_PER_THREAD
    ):
        self.address = address
        self.workers = workers
        self.chunks_per_worker = chunks_per_worker
        self.parallelism = workers  # worker threads connected (known once connected)
        self.largest_chunk = LARGEST_CLUSTER_CHUNK  # see grader.batch.runner.chunk_size
        self.sharing: str = ""  # whether workers read the verdict store, as a TA reads it

    def grade(self, setup: WorkerSetup, chunks: Iterable[Chunk]) -> Iterator[list[Graded]]:
        from grader.batch.cluster_worker import ProblemSetPlugin

        with self._client() as client:
            self.parallelism = _wait_for_workers(client, self.address or "the LocalCluster")
            _refuse_other_graders(client, setup)
            key = f"grader-{_setup_digest(setup)}-{uuid.uuid4().hex[:8]}"
            _register(client, ProblemSetPlugin(key, setup), key)
            try:
                self.sharing = _sharing(client, setup)
                yield from _DaskWindow(client, key, setup, self.chunks_per_worker).run(iter(chunks))
            finally:
                with contextlib.suppress(Exception):
                    client.unregister_worker_plugin(key)

    def close(self, wait: float | None = None) -> None:
        """Each call of :meth:`grade` has its own connection: nothing is kept."""

    @contextlib.contextmanager
    def _client(self) -> Iterator[Any]:
        import dask
        from distributed import Client, LocalCluster

        # Dask retries a task whose worker died once; then grader reports (see _DaskWindow).
        with dask.config.set({"distributed.scheduler.allowed-failures": 1}):
            if self.address is None:
                cluster = LocalCluster(
                    n_workers=self.workers,
                    threads_per_worker=1,
                    processes=True,
                    dashboard_address=":0",
                    memory_limit=f"{WORKER_BASELINE_MIB}MiB",
                )
                with cluster, Client(cluster) as client:
                    yield client
                return
            try:
                client = Client(self.address, timeout=CONNECT_TIMEOUT)
            except OSError as exc:
                raise ExecutorLost(f"cannot reach the Dask scheduler at {self.address}: {exc}") from None
            with client:
                yield client


def _wait_for_workers(client: Any, where: str) -> int:
    """Worker threads connected, once there is one; ExecutorLost after the wait."""
    seconds = wait_seconds()
    try:
        _call(client, client.wait_for_workers, 1, timeout=seconds)
    except TimeoutError:
        raise ExecutorLost(
            f"no Dask worker connected to {where} within {seconds:g} s ({WAIT_VARIABLE} sets the wait): "
            f"start one with `dask worker {where} --nthreads 1`"
        ) from None
    return max(1, sum(_call(client, client.nthreads).values()))


def _refuse_other_graders(client: Any, setup: WorkerSetup) -> None:
    """ExecutorLost naming every worker that cannot import grader or runs another one."""
    from grader.batch.cluster_worker import versions_here

    problems = []
    answers = _call(client, client.run, versions_here, on_error="return")
    for address, answer in sorted(answers.items()):
        if isinstance(answer, BaseException):
            problems.append(
                f"Dask worker {address} cannot run grader ({type(answer).__name__}: {answer}): "
                f"{INSTALL_HINT} there"
            )
            continue
        deciding, rendering = answer
        if verdict_version(deciding, setup.limits) != setup.version or rendering != setup.rendering:
            theirs = deciding if verdict_version(deciding, setup.limits) != setup.version else rendering
            problems.append(
                f"Dask worker {address} runs grader {theirs}, not {setup.rendering} as this command does"
            )
    if problems:
        raise ExecutorLost("; ".join(problems) + " (install the same grader on every worker, or stop those)")


def _register(client: Any, plugin: Any, key: str) -> None:
    try:
        _call(client, client.register_plugin, plugin, name=key)
    except ExecutorLost:
        raise
    except Exception as exc:
        raise ExecutorLost(
            f"a Dask worker could not take grader's set-up ({type(exc).__name__}: {exc})"
        ) from None


def _sharing(client: Any, setup: WorkerSetup) -> str:
    """Whether every worker can read the verdict store (a shared path): said in the summary."""
    if setup.store is None:
        return "off (no verdict store)"
    readable = _call(client, client.run, os.access, setup.store, os.R_OK, on_error="return")
    reached = sum(1 for answer in readable.values() if answer is True)
    if reached == len(readable):
        return f"on: every worker reads {setup.store}"
    return (
        f"off on {len(readable) - reached} of {len(readable)} workers: {setup.store} is not on a path "
        "they can read (each worker still shares what it decides within the run)"
    )


class _DaskWindow(ChunkWindow):
    """Chunks as Dask tasks; in flight: a few per worker thread connected now."""

    def __init__(self, client: Any, key: str, setup: WorkerSetup, per_thread: int):
        super().__init__(setup, per_thread)
        self.client = client
        self.key = key
        self.per_thread = per_thread
        self.counted = 0.0
        self.without_workers_since: float | None = None
        # Chunks go without their files, read where the workers see the class's disk, until a
        # worker says it does not see it (grader.batch.reading.NotSeenHere); then with their files.
        self.in_place = True
        self._recount()

    def _recount(self) -> None:
        threads = sum(_call(self.client, self.client.nthreads).values())
        self.in_flight = max(1, threads) * self.per_thread
        self.counted = time.monotonic()
        if threads:
            self.without_workers_since = None
            return
        now = time.monotonic()
        self.without_workers_since = self.without_workers_since or now
        if now - self.without_workers_since > wait_seconds():
            raise ExecutorLost(f"every Dask worker left, and none joined within {wait_seconds():g} s")

    def _submit(self, chunk: Chunk) -> Any:
        from grader.batch.cluster_worker import grade_chunk_on_worker

        # In place: a worker reads the folder where it sees it as the driver does (and digests it).
        # Shipped: digested before it is read, so a folder changed meanwhile is graded again next run.
        prepared = _seen if self.in_place else _shipped
        payload: Any = [task if task.files is not None else prepared(task) for task in chunk]
        if sum(len(f.data or b"") for task in payload for f in task.files or ()) > SCATTER_BYTES:
            [payload] = _call(self.client, self.client.scatter, [payload], hash=False, direct=True)
        return _call(self.client, self.client.submit, grade_chunk_on_worker, self.key, payload, pure=False)

    def _completed(self) -> Iterable[Any]:
        from distributed import wait

        while True:
            if time.monotonic() - self.counted > RECOUNT_SECONDS:
                self._recount()
            try:
                done = _call(
                    self.client,
                    wait,
                    list(self.pending),
                    timeout=RECOUNT_SECONDS,
                    return_when="FIRST_COMPLETED",
                ).done
            except TimeoutError:
                _raise_if_lost(self.client, TimeoutError(f"no chunk finished in {RECOUNT_SECONDS:g} s"))
                continue
            if done:
                return done

    def _outcome(self, future: Any, chunk: Chunk) -> Iterator[list[Graded]]:
        try:
            graded: list[Graded] | NotSeenHere = future.result()
        except WorkerRefused as exc:
            raise ExecutorLost(str(exc)) from None
        except BaseException as exc:
            _raise_if_lost(self.client, exc)
            yield from self._after_failure(chunk, exc)
            return
        if isinstance(graded, NotSeenHere):
            self.retries.append(self._unseen_shipped(chunk, graded))
            return
        # Each result's task is its worker's copy, as a local pool's results are: without the files
        # it carried or the stored verdicts it went with, and with the digest taken before its
        # folder was read (by its worker, or here where it was shipped).
        yield graded

    def _unseen_shipped(self, chunk: Chunk, unseen: NotSeenHere) -> Chunk:
        """The chunk to send again: a worker without the class's disk has every folder travel
        with its files from now on; else the folders it did not see as this driver does (changed
        since, or holding links) travel, and the chunk's others are still read in place."""
        if unseen.elsewhere:
            self.in_place = False
            return chunk
        keys = set(unseen.unseen)
        return [_shipped(task) if task.key in keys and task.files is None else task for task in chunk]

    def _reason(self, exc: BaseException) -> str:
        return _reason(exc)


def _seen(task: SubmissionTask) -> SubmissionTask:
    """The task with its folder as the driver sees it, without reading a file (see
    grader.batch.plan.why_not_in_place)."""
    return task if task.seen else replace(task, seen=folder_fingerprint(Path(task.folder)))


def _shipped(task: SubmissionTask) -> SubmissionTask:
    """The task with its folder's digest and files, for a worker that cannot read it in place."""
    return replace(digested(task), files=ship_folder(Path(task.folder)))


def _call(client: Any, function: Any, *args: Any, **kwargs: Any) -> Any:
    """Call a client method; a dropped scheduler connection becomes ExecutorLost."""
    try:
        return function(*args, **kwargs)
    except Exception as exc:
        # A call can see the connection drop before the client does; a wait that timed out
        # (TimeoutError is an OSError too) has not.
        if isinstance(exc, OSError) and not isinstance(exc, TimeoutError):
            _settled(client)
        _raise_if_lost(client, exc)
        raise


def _settled(client: Any) -> None:
    """Wait, :data:`LOSS_SECONDS` at most, for the client to notice a connection it lost."""
    deadline = time.monotonic() + LOSS_SECONDS
    while client.status == "running" and time.monotonic() < deadline:
        time.sleep(0.05)


def _raise_if_lost(client: Any, exc: BaseException) -> None:
    if isinstance(exc, KeyboardInterrupt | SystemExit):
        raise exc
    if client.status != "running":
        raise ExecutorLost(
            f"lost the connection to the Dask scheduler ({type(exc).__name__}: {exc})"
        ) from None


def _reason(exc: BaseException) -> str:
    from distributed import KilledWorker

    if isinstance(exc, KilledWorker):
        return (
            f"the Dask workers grading it died {exc.allowed_failures + 1} times "
            "(killed, or out of the memory their nanny allows)"
        )
    return f"grading it failed on a Dask worker ({type(exc).__name__}: {exc})"


def _setup_digest(setup: WorkerSetup) -> str:
    text = f"{setup.version}\n{setup.show_expected}\n{setup.spec.model_dump_json()}"
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:12]
