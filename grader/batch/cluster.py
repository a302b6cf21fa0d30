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
import itertools
import os
import queue
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from grader.batch import channel as channel_module
from grader.batch.channel import ResultChannel, Unreachable, WorkerGone
from grader.batch.collector import collector_paused
from grader.batch.executors import Chunk, ChunkWindow, ExecutorLost, LocalExecutor, submission_budget
from grader.batch.fingerprints import fingerprinted_ahead, folder_fingerprint
from grader.batch.limits import verdict_version
from grader.batch.plan import digested, ship_folder
from grader.batch.reading import NotSeenHere, SubmissionTask
from grader.batch.worker import Graded, WorkerRefused, WorkerSetup

INSTALL_HINT = 'pip install "dl-theory-grader[dask]"'
CONNECT_TIMEOUT = "10s"
WORKER_BASELINE_MIB = 1024  # a Dask worker process with grader loaded, before any check
WAIT_VARIABLE = "GRADER_DASK_WAIT"  # seconds to wait for a first worker (and for any, mid-run)
DEFAULT_WAIT_SECONDS = 60.0
SCATTER_BYTES = 256 << 10  # a chunk carrying more goes to a worker directly, not in the task graph
RECOUNT_SECONDS = 1.0  # how often the workers connected are counted
CHUNKS_PER_THREAD = 3  # chunks in flight a worker thread connected
LARGEST_CLUSTER_CHUNK = 32  # sheets a chunk at most: 50,000 sheets on 320 worker threads go in chunks of 26
CHANNEL_VARIABLE = "GRADER_DASK_CHANNEL"  # off, or HOST[:PORT] where the driver listens for results
ALLOWED_DEATHS = 2  # a chunk whose workers died this often is graded one submission at a time
LOSS_SECONDS = 2.0  # how long a client call that broke waits for the client to say it is lost
# A run whose first round of chunks holds this many sheets has a helper process take the folders'
# fingerprints ahead of the window (grader.batch.fingerprints), not the driver as each chunk goes.
FINGERPRINTS_AHEAD_FROM = 200


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
    """Chunks as Dask tasks, a few in flight per worker thread connected."""

    def __init__(
        self,
        address: str | None = None,
        workers: int = 2,
        chunks_per_worker: int = CHUNKS_PER_THREAD,
        direct: bool | None = None,
    ):
        self.address = address
        self.workers = workers
        self.chunks_per_worker = chunks_per_worker
        # Results over a direct channel (grader.batch.channel) where every worker reaches this
        # machine: None, for a run of more chunks than one round of tasks; False, never.
        self.direct = direct
        self.parallelism = workers  # worker threads connected (known once connected)
        # Sheets a chunk at most (grader.batch.runner.chunk_size): each chunk costs the driver
        # about a millisecond of its one core (sending it, taking in its results), whatever its size.
        self.largest_chunk = LARGEST_CLUSTER_CHUNK
        self.sharing: str = ""  # whether workers read the verdict store, as a TA reads it
        self.route: str = ""  # how results come back to this machine, as a TA reads it

    def grade(self, setup: WorkerSetup, chunks: Iterable[Chunk]) -> Iterator[list[Graded]]:
        from grader.batch.cluster_worker import ProblemSetPlugin

        with self._client() as client:
            self.parallelism = _wait_for_workers(client, self.address or "the LocalCluster")
            _refuse_other_graders(client, setup)
            key = f"grader-{_setup_digest(setup)}-{uuid.uuid4().hex[:8]}"
            _register(client, ProblemSetPlugin(key, setup), key)
            try:
                self.sharing = _sharing(client, setup)
                window = _DaskWindow(client, key, setup, self.chunks_per_worker)
                chunks = iter(chunks)
                first = list(itertools.islice(chunks, window.in_flight + 1))
                window.ahead = sum(len(chunk) for chunk in first) >= FINGERPRINTS_AHEAD_FROM
                if self.direct or (self.direct is None and len(first) > window.in_flight):
                    window.open_channel()
                elif self.direct is None:
                    window.route = "through the Dask scheduler (a run this small fits in one round of tasks)"
                else:
                    window.route = "through the Dask scheduler (asked for)"
                try:
                    yield from window.run(itertools.chain(first, chunks))
                finally:
                    self.route = window.route
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


@dataclass(frozen=True)
class _ServingEnded:
    """A long-lived serving task's Dask future finished, failed or was cancelled."""

    token: str
    future: Any


class _DaskWindow(ChunkWindow):
    """Chunks as Dask tasks, or over a direct channel to long-lived tasks (see
    grader.batch.channel); in flight: a few per worker thread connected now."""

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
        # Futures done (a Dask task's, a chunk handed to the channel) and serving tasks ended.
        self.finished: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self.channel: ResultChannel | None = None
        self.closing: list[ResultChannel] = []  # channels no longer handed chunks, still serving
        self.serving: dict[str, Any] = {}  # token: the Dask future of a serving task not ended
        self.deaths: dict[tuple[str, ...], int] = {}  # a chunk's: how often its workers died
        self.route = "through the Dask scheduler"
        self.threads = 0
        self.ahead = False  # fingerprints taken by a helper process ahead of the window
        self._recount()

    def open_channel(self) -> None:
        """Listen for results on a port of this machine if every worker reaches it; else
        :attr:`route` says why results come through the scheduler."""
        from grader.batch.cluster_worker import reaches_driver

        where = _channel_address(self.client)
        if isinstance(where, str):
            self.route = f"through the Dask scheduler ({where})"
            return
        budget = submission_budget(self.setup.spec)
        try:
            channel = ResultChannel(*where, self.finished, lambda chunk: 2 * budget * len(chunk) + 60.0)
        except OSError as exc:
            self.route = f"through the Dask scheduler (cannot listen on {where[0]}:{where[1]}: {exc})"
            return
        answers = _call(
            self.client, self.client.run, reaches_driver, channel.address, channel.secret, on_error="return"
        )
        unreached = {address: answer for address, answer in answers.items() if answer is not True}
        if unreached:
            channel.close()
            address, why = sorted(unreached.items())[0]
            self.route = (
                f"through the Dask scheduler ({len(unreached)} of {len(answers)} workers cannot reach this "
                f"machine, {address} first: {why}; {CHANNEL_VARIABLE}=HOST[:PORT] says where to listen)"
            )
            return
        self.channel = channel
        self.route = f"direct to this machine at {channel.address[0]}:{channel.address[1]}"
        self._top_up()

    def _top_up(self) -> None:
        """As many serving tasks as worker threads, and a few more queued (a worker that joins
        takes them at once; an adaptive cluster sees work waiting)."""
        from grader.batch.cluster_worker import serve_chunks

        wanted = self.threads + max(1, self.threads // 4) - len(self.serving)
        if self.channel is None or wanted <= 0:
            return
        grade = self._remote()
        tokens = [uuid.uuid4().hex for _ in range(wanted)]
        for token in tokens:
            self.channel.expect(token)
        # One graph for them all: 400 calls of submit cost the driver 0.18 s of CPU, a map 0.04 s.
        futures = _call(
            self.client,
            self.client.map,
            serve_chunks,
            [self.key] * wanted,
            [self.channel.address] * wanted,
            [self.channel.secret] * wanted,
            tokens,
            [grade] * wanted,
            pure=False,
        )
        for token, future in zip(tokens, futures, strict=True):
            self.serving[token] = future
            future.add_done_callback(lambda done, token=token: self.finished.put(_ServingEnded(token, done)))

    def _serving_ended(self, ended: _ServingEnded) -> None:
        self.serving.pop(ended.token, None)
        for channel in self._channels():
            channel.ended(ended.token)
        if self.channel is None or ended.future.status != "error":
            self._top_up()
            return
        with contextlib.suppress(Exception):
            exc = ended.future.exception(timeout=RECOUNT_SECONDS)
            if isinstance(exc, Unreachable):
                self._fall_back(f"a worker cannot reach this machine: {exc}")
                return
        self._top_up()

    def _channels(self) -> list[ResultChannel]:
        """Every channel of the run: the one handed chunks now, and those falling back left."""
        return [*self.closing, *([self.channel] if self.channel is not None else [])]

    def _fall_back(self, why: str) -> None:
        """From now on chunks go as Dask tasks; those no serving task took yet go now."""
        assert self.channel is not None
        channel, self.channel = self.channel, None
        self.closing.append(channel)
        self.route = f"through the Dask scheduler after a while direct ({why})"
        drained = channel.drain()
        channel.stop()  # the serving tasks end after their chunk: their threads take Dask tasks
        for handed in drained:
            chunk = self.pending.pop(handed)
            self.pending[self._submit(chunk)] = chunk

    def run(self, chunks: Iterator[Chunk]) -> Iterator[list[Graded]]:
        finished = False
        ahead = fingerprinted_ahead(chunks, lambda: self.in_place) if self.ahead else None
        try:
            yield from super().run(chunks if ahead is None else ahead)
            finished = True
        finally:
            if ahead is not None:
                ahead.close()  # its helper process ends
            self._wind_down(finished)

    def _wind_down(self, finished: bool) -> None:
        """After the last chunk, every serving task ends on its own (a connected one after its
        last chunk, a queued one as soon as it connects) and is waited for a moment: Dask keeps
        its record, and warns of no task cancelled as it starts. After an error, every
        connection is shut and every serving task cancelled."""
        channels = self._channels()
        for channel in channels:
            channel.stop() if finished else channel.abort()
        serving = list(self.serving.values())
        if finished and serving:
            from distributed import wait

            with contextlib.suppress(Exception):
                _call(self.client, wait, serving, timeout=channel_module.HANDSHAKE_SECONDS)
        with contextlib.suppress(Exception):
            self.client.cancel([future for future in serving if not future.done()])
        for channel in channels:
            channel.close()

    def _recount(self) -> None:
        threads = sum(_call(self.client, self.client.nthreads).values())
        self.threads = threads
        self.in_flight = max(1, threads) * self.per_thread
        self.counted = time.monotonic()
        self._top_up()
        if threads:
            self.without_workers_since = None
            return
        now = time.monotonic()
        self.without_workers_since = self.without_workers_since or now
        if now - self.without_workers_since > wait_seconds():
            raise ExecutorLost(f"every Dask worker left, and none joined within {wait_seconds():g} s")

    def _remote(self) -> Callable[[str, Chunk], list[Graded] | NotSeenHere]:
        """What grades a chunk on a worker (a benchmark hands back prepared results instead)."""
        from grader.batch.cluster_worker import grade_chunk_on_worker

        return grade_chunk_on_worker

    def _submit(self, chunk: Chunk) -> Any:
        tasks = self._sent(chunk)
        if self.channel is not None:
            return self.channel.hand(tasks)
        payload: Any = tasks
        if sum(len(f.data) for task in tasks for f in task.files or ()) > SCATTER_BYTES:
            [payload] = _call(self.client, self.client.scatter, [tasks], hash=False, direct=True)
        future = _call(self.client, self.client.submit, self._remote(), self.key, payload, pure=False)
        future.add_done_callback(self.finished.put)  # finished, failed or cancelled
        return future

    def _sent(self, chunk: Chunk) -> Chunk:
        """The chunk as it goes to a worker: each folder's fingerprint, or its files."""
        # In place: a worker reads the folder where it sees it as the driver does (and digests it).
        # Shipped: digested before it is read, so a folder changed meanwhile is graded again next run.
        prepared = _seen if self.in_place else _shipped
        return [task if task.files is not None else prepared(task) for task in chunk]

    def _completed(self) -> Iterable[Any]:
        # Each future reports itself as it finishes (see _submit): asking Dask which of the pending
        # futures are done (distributed.wait) costs as much again as the task itself once
        # hundreds are in flight.
        while True:
            if time.monotonic() - self.counted > RECOUNT_SECONDS:
                self._recount()
            try:
                done = [self.finished.get(timeout=RECOUNT_SECONDS)]
            except queue.Empty:
                _raise_if_lost(self.client, TimeoutError(f"no chunk finished in {RECOUNT_SECONDS:g} s"))
                continue
            with contextlib.suppress(queue.Empty):
                while True:
                    done.append(self.finished.get_nowait())
            for ended in done:
                if isinstance(ended, _ServingEnded):
                    self._serving_ended(ended)
            return [future for future in done if future in self.pending]

    def _outcome(self, future: Any, chunk: Chunk) -> Iterator[list[Graded]]:
        try:
            # The results (thousands of objects) are kept, and frozen, by the run: collections set
            # off while they were unpickled only walked them (a sixth of the unpickling's time).
            with collector_paused():
                graded: list[Graded] | NotSeenHere = future.result()
        except WorkerRefused as exc:
            raise ExecutorLost(str(exc)) from None
        except WorkerGone as exc:  # over the channel: counted here as Dask counts its tasks' deaths
            _raise_if_lost(self.client, exc)
            which = tuple(task.key for task in chunk)
            self.deaths[which] = self.deaths.get(which, 0) + 1
            if self.deaths[which] < ALLOWED_DEATHS:
                self.retries.append(chunk)
                return
            yield from self._after_failure(chunk, exc)
            return
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


def _channel_address(client: Any) -> tuple[str, int] | str:
    """Where this machine listens for results (host, port), or why it does not."""
    from distributed.comm import get_address_host
    from distributed.utils import get_ip

    setting = os.environ.get(CHANNEL_VARIABLE, "").strip()
    if setting.lower() == "off":
        return f"{CHANNEL_VARIABLE}=off"
    if setting:
        host, colon, port = setting.rpartition(":")
        if not colon or not port.isdigit():
            return setting, 0
        return host.strip("[]"), int(port)
    scheduler = client.scheduler.address
    if scheduler.startswith("tls://"):
        return (
            f"the scheduler's connections use TLS and the direct channel would not; {CHANNEL_VARIABLE}="
            "HOST[:PORT] opens it anyway"
        )
    return get_ip(get_address_host(scheduler)), 0


def _seen(task: SubmissionTask) -> SubmissionTask:
    """The task with its folder as the driver sees it, without reading a file (see
    grader.batch.plan.why_not_in_place), unless a helper process took that ahead."""
    return task if task.seen else replace(task, seen=folder_fingerprint(Path(task.folder)))


def _shipped(task: SubmissionTask) -> SubmissionTask:
    """The task with its folder's digest and files, for a worker that cannot read it in place."""
    return replace(digested(task), files=ship_folder(Path(task.folder)))


def _call(client: Any, function: Any, *args: Any, **kwargs: Any) -> Any:
    """Call a client method; a dropped scheduler connection becomes ExecutorLost."""
    try:
        return function(*args, **kwargs)
    except Exception as exc:
        if isinstance(exc, OSError):  # a call can see the connection drop before the client does
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

    if isinstance(exc, WorkerGone):
        return (
            f"the Dask workers grading it died {ALLOWED_DEATHS} times "
            f"(killed, or out of the memory their nanny allows; last: {exc})"
        )
    if isinstance(exc, KilledWorker):
        return (
            f"the Dask workers grading it died {exc.allowed_failures + 1} times "
            "(killed, or out of the memory their nanny allows)"
        )
    return f"grading it failed on a Dask worker ({type(exc).__name__}: {exc})"


def _setup_digest(setup: WorkerSetup) -> str:
    text = f"{setup.version}\n{setup.show_expected}\n{setup.spec.model_dump_json()}"
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:12]
