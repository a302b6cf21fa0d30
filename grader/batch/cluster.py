"""Grading on a Dask cluster: the same chunks, workers and files as a local run.

``--executor dask`` starts a ``LocalCluster`` on this machine; ``--executor
dask://HOST:PORT`` connects to a running scheduler. The problem set reaches every
worker once (a worker plugin, so restarted workers get it too); each chunk
carries its submissions' files (workers need grader installed, nothing else: no
shared disk); results come back to this process, which writes everything as a
local run does. A task whose worker dies is retried once by Dask; a chunk that
still fails is retried one submission at a time, and a submission that fails on
its own gets an error row. A lost scheduler ends the run with
:class:`~grader.batch.executors.ExecutorLost`, after every finished report was
written.
"""

from __future__ import annotations

import contextlib
import hashlib
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

from grader.batch.executors import Chunk, ChunkWindow, ExecutorLost, LocalExecutor
from grader.batch.plan import ship_folder
from grader.batch.worker import Graded, WorkerSetup, grade_chunk_for

INSTALL_HINT = 'pip install "grader[dask]"'
CONNECT_TIMEOUT = "10s"
WORKER_BASELINE_MIB = 1024  # a Dask worker process with grader loaded, before any check


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


class DaskExecutor:
    """Chunks as Dask tasks, at most a few in flight per worker."""

    def __init__(self, address: str | None = None, workers: int = 2, chunks_per_worker: int = 3):
        self.address = address
        self.workers = workers
        self.chunks_per_worker = chunks_per_worker

    def grade(self, setup: WorkerSetup, chunks: Iterable[Chunk]) -> Iterator[list[Graded]]:
        from grader.batch.cluster_worker import ProblemSetPlugin

        # A Dask worker runs Dask's own threads beside the check: its memory is watched by its
        # nanny (the cluster's memory limit per worker), not capped around each check.
        setup = replace(setup, cap_memory=False)
        with self._client(setup) as client:
            key = f"grader-{_setup_digest(setup)}-{uuid.uuid4().hex[:8]}"
            _call(client, client.register_plugin, ProblemSetPlugin(key, setup), name=key)
            try:
                workers = max(1, len(_call(client, client.scheduler_info).get("workers", {})))
                window = _DaskWindow(client, key, setup, workers * self.chunks_per_worker)
                yield from window.run(iter(chunks))
            finally:
                with contextlib.suppress(Exception):
                    client.unregister_worker_plugin(key)

    @contextlib.contextmanager
    def _client(self, setup: WorkerSetup) -> Iterator[Any]:
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
                    memory_limit=f"{WORKER_BASELINE_MIB + _largest_memory_limit(setup)}MiB",
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


class _DaskWindow(ChunkWindow):
    """Chunks as Dask tasks, each carrying its submissions' files."""

    def __init__(self, client: Any, key: str, setup: WorkerSetup, in_flight: int):
        from distributed import as_completed

        super().__init__(setup, in_flight)
        self.client = client
        self.key = key
        self.done = as_completed()

    def _submit(self, chunk: Chunk) -> Any:
        with_files = [replace(task, files=ship_folder(Path(task.folder))) for task in chunk]
        future = _call(self.client, self.client.submit, grade_chunk_for, self.key, with_files, pure=False)
        self.done.add(future)
        return future

    def _completed(self) -> Iterable[Any]:
        return [next(self.done)]

    def _outcome(self, future: Any, chunk: Chunk) -> Iterator[list[Graded]]:
        try:
            graded: list[Graded] = future.result()
        except BaseException as exc:
            _raise_if_lost(self.client, exc)
            yield from self._after_failure(chunk, exc)
            return
        # The client's own tasks (without the files they carried) go with the results.
        yield [replace(g, task=task) for g, task in zip(graded, chunk, strict=True)]

    def _reason(self, exc: BaseException) -> str:
        return _reason(exc)


def _call(client: Any, function: Any, *args: Any, **kwargs: Any) -> Any:
    """Call a client method; a dropped scheduler connection becomes ExecutorLost."""
    try:
        return function(*args, **kwargs)
    except Exception as exc:
        _raise_if_lost(client, exc)
        raise


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
        return "the Dask workers grading it died twice (killed, out of memory, or a check hung in C code)"
    return f"grading it failed on a Dask worker ({type(exc).__name__}: {exc})"


def _largest_memory_limit(setup: WorkerSetup) -> int:
    return max((part.memory_limit for _, _, part in setup.spec.iter_parts()), default=0)


def _setup_digest(setup: WorkerSetup) -> str:
    text = f"{setup.version}\n{setup.show_expected}\n{setup.spec.model_dump_json()}"
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:12]
