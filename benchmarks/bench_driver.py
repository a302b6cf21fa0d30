"""How fast the driver (the ``grader grade`` process) takes in results, fed by fake workers.

    python benchmarks/bench_driver.py [--sheets 20000] [--template 200] [--repeat 3] [--out DIR]
                                      [--dask [--tasks]]

On a cluster the driver receives every graded sheet, stores its verdicts and keeps
``grades.csv`` current; the workers write each student's files, pickle and digest what
the store keeps and send a summary row of each sheet (with its ``grades.csv`` line and
its row of the dashboard's students' table) instead of its report (when they see
``--out``). If the driver is slower than the workers, more machines gain nothing. This
benchmark grades a template class of ``--template`` synthetic sheets (for real, on
one local worker process that writes its students' files, with a verdict store), then
runs the batch driver over a class of ``--sheets`` folders with a fake executor that
hands back copies of those results as fast as the driver asks, in chunks of 26 (what
50,000 sheets on 320 Dask worker threads get; 16 until 2026-11-25). The copies are made
before the driver runs: the template's results renamed for each student (the store's blobs keep the template's
names) and pickled a chunk at a time, as the template's worker sent them; while the
driver runs, each chunk is only unpickled, as a process pool or Dask unpickles results
in the driver. (Until 2026-11-24 the renaming was done while the driver ran and counted
against it: no driver renames anything, and with the worker-made lines it had become a
fifth of the intake.) What is measured is the driver alone, in three phases: before it
asks for the first chunk (listing the class, the store read), its intake (from the
first chunk asked to the last received: unpickling, handing the store's entries to the
writer process, each row's dashboard tally, grades.csv every few seconds), and the end
(the final grades.csv and the dashboard, made while the writer stores its last batches,
then waiting for it). Only the intake overlaps the workers' grading. Since 2026-11-24 a
worker digests each folder it reads (the driver did, as its chunk was sent): the fake
results carry the digests made before the run, as a worker sends them, and the template's
worker rate includes its digesting. The driver's second core serves the store's writer
process (a driver's machine has more than one core). Since 2026-11-25 the workers of a run
with a writer process leave each chunk's store entries in a spool file in ``--out``
(grader.batch.spool) and send the driver the rows and the file's name; the fake results do
the same: each chunk's entries (the template's, renamed) are pickled before the run, and
written to their spool files sealed with the run's key (which only the run knows) by the
fake workers: in the driver's process just before its first chunk, that time taken off its
figures (in-process), or by the Dask worker as it serves the chunk (``--dask``). The writer
reads, checks and stores them, and its CPU time counts. The template run stores from the
driver's thread (no spool), so its results carry the entries for the benchmark to spool.

A worker's rate (sheets/s per core) is the template run's: one worker process
grading, rendering, writing its students' files and pickling the store's blobs,
from its first chunk back to its last (its start-up not counted). From the
phases and that rate it estimates the time of a class of 50,000 sheets on 1 and on
20 machines of 16 cores as

    serial + max(50000 / (cores x rate), 50000 / intake rate)

where serial is the time before and after the intake, scaled to 50,000 sheets as if
both were linear in the class (``--sheets 50000`` measures them, with no scaling, and
needs about 3 GB of memory for the prepared chunks; on 2026-11-24 the end of 50,000
sheets took six to nine times that of 5,000: the dashboard's statistics, tables and
grades.csv grow with the class), and prints the speed-up. The estimate assumes
workers scale linearly (they share nothing but the scheduler and the file server)
and that the driver's machine is as fast as this one. Without ``--dask`` it does not count
what the Dask executor adds in the driver for each chunk; with it, it does.

``--dask`` (since 2026-11-25) sends the chunks through grader's own Dask window (the code a
``--executor dask://`` run uses: each folder's fingerprint taken for a worker to read it in
place, each chunk a Dask task, the driver told as each finishes, its results received and
deserialized by Dask's client) to a real ``dask scheduler`` and one ``dask worker`` process
of 320 threads on loopback, whose task reads the chunk's prepared results from a file and
returns them (so the worker's side costs little; it is not the driver's). Since 2026-11-25
(night) the task reads them back and returns the results themselves, which the worker pickles
as it sends them, as a worker sends what it graded (before, it returned the prepared pickle
inside another, unpickled by a call of ``pickle.loads``: the driver's tallier, which reads the
bytes a worker sent with the store's unpickler, refuses such a call). Everything
a Dask run's driver does per chunk is then in the driver's CPU time, including the client's
event-loop thread. The scheduler and the worker run on this machine's cores beside the
driver and its writer, so the wall-time estimate is pessimistic on a small machine; the one
from CPU time is the figure. Nothing of a run's start on a cluster (waiting for workers,
comparing their grader, the set-up plugin) is counted: it does not grow with the class.
Since 2026-11-25 a run of more than one round of chunks has its results come back over a
direct channel from long-lived tasks, one a worker thread (grader.batch.channel), and so does
``--dask``: its window opens the channel before the first chunk (not counted, as a run's
start), then each chunk goes to a serving task on that channel and its results come back on
it. ``--dask --tasks`` measures a task a chunk through Dask's client, as every Dask run did
before.

Since 2026-11-24 it also gives the same estimate from CPU time, because the development
machine is shared (load averages of 6 to 10 on its 2 cores while these figures were taken):
wall time there measures the other work as much as the driver, and a worker core's wall rate
moved from 8 to 40 sheets/s between runs of the same code. From CPU time: a worker core's
rate is the template worker's sheets per second of its own CPU time (user and system, read
from /proc from its first chunk back to its last); the intake rate is the sheets over the
larger of the driver's CPU time while it takes them in (all its threads) and the store's
writer process's CPU time (the whole run: it ends with it; its start, about 0.06 s,
included), so each is assumed to have a core of its own; the serial part is the driver's CPU
time before its first chunk and after its last, scaled as above. Since 2026-11-25 (night) a
run of 2,000 sheets or more has a process keep the dashboard's tally (grader.batch.tallier):
its CPU time until the driver took in its last chunk counts in the intake (the busiest
process bounds it), and after, writing the dashboard while the driver writes ``grades.csv``,
in the serial part (the larger of the driver's end and the tallier's). It leaves out what is not
CPU: waiting on the disk (the writer's commits and checkpoints, the files written at the
end: an idle machine shows that as the gap between the two estimates) and the cores the
driver's machine needs (three busy processes: driver, writer, and the end's files). It is a
bound from measured rates, like the wall one, not a measurement of a cluster; without
``--pin``, "x12 reached" needs both estimates past 12 (with it, see below, the estimate of
every round: a wall time means nothing there).

Since 2026-11-24 the template and the driver each run ``--repeat`` times (3) and the fastest
run counts (the most sheets a second of a worker core, the least wall time and the least
CPU time of the driver, as ``timeit`` takes the least of its repeats: on a shared machine the
other work only ever adds time). The first template run's results feed the fake workers.
Each driver run is a process forked from the benchmark once the results are prepared, so
each starts from the same memory (not from what an earlier run freed) and its clean-up
after it measured is not counted; what the driver frees when ``run_batch`` returns is.

``--pin`` (since 2026-11-25, afternoon) measures what the CPU-time estimate assumes: each busy
process of the driver's machine on a core of its own. On this 2-core machine the driver, the
tallier, the store's writer, its checkpoints, the fingerprints' helper, the Dask scheduler and a
worker of 320 threads share two cores, and each process's CPU a sheet came out about twice what
it is alone (cache and switches: the tallier took 47 us a sheet alone, 101 to 112 beside the
rest). So each round runs the driver once per busy process (the driver, the tallier, the writer
and, with ``--dask``, the fingerprints' helper), that process on core 0 and every other process
of the benchmark on the other cores (the benchmark's parent, from the /proc sampler, sets each
thread's affinity as the process appears), and takes each process's figures from its own run:
its CPU a sheet while the driver takes results in and, for the driver and the tallier, their
serial part (the checkpoints' process, about 10 us a sheet, is never given a core: its least
figure counts, an overestimate). A template run just before each round gives the worker core's
rate of that round, so that both sides of the ratio come from the same minutes of a machine
whose speed moves by half between hours. Each round prints its estimate and the fastest worker
core (sheets/s of its CPU) for which 20 machines are still 12 times one: past it the driver
bounds the cluster while one machine goes on gaining from faster workers (the ratio of any
driver falls toward 1 as the workers get faster, so that rate is the figure to compare with a
class's real grading rate). Only the estimate from CPU time is printed: a process's wall time
means nothing when the rest of the run is squeezed onto one core.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import os
import pickle
import platform
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, replace
from operator import attrgetter
from pathlib import Path
from types import SimpleNamespace
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from make_class import make_class  # noqa: E402

from grader.batch import BatchOptions, LocalExecutor, run_batch, submission_folders  # noqa: E402
from grader.batch import runner as batch_runner  # noqa: E402
from grader.batch.blobs import packed, read_back  # noqa: E402
from grader.batch.cluster import CHUNKS_PER_THREAD, LARGEST_CLUSTER_CHUNK, _DaskWindow  # noqa: E402
from grader.batch.executors import Chunk  # noqa: E402
from grader.batch.output import _csv_line, sheet_line  # noqa: E402
from grader.batch.plan import plan  # noqa: E402
from grader.batch.reading import SubmissionTask  # noqa: E402
from grader.batch.runner import chunk_size  # noqa: E402
from grader.batch.spool import spool_folder, write_sealed  # noqa: E402
from grader.batch.studentfiles import write_student_files  # noqa: E402
from grader.batch.worker import Graded, StoreBlobs, WorkerSetup, spool_contents, spool_entries  # noqa: E402
from grader.core.summary import SheetRow  # noqa: E402
from grader.loading import load_problem_set  # noqa: E402
from grader.reporting.dashboard import _student_link, student_row  # noqa: E402
from grader.reporting.escape import csv_cell  # noqa: E402
from grader.spec import ProblemSet  # noqa: E402

THREADS = 320  # worker threads of 20 machines of 16 cores
# Sheets a chunk: what 50,000 sheets on 320 Dask worker threads get (26 since 2026-11-25; 16 before).
CHUNK = chunk_size(50_000, SimpleNamespace(parallelism=THREADS, largest_chunk=LARGEST_CLUSTER_CHUNK), 1)


class _Recording:
    """An executor that grades for real and keeps every result (the template), and when each
    chunk came back."""

    def __init__(self) -> None:
        self.graded: list[Graded] = []
        self.chunks: list[list[Graded]] = []  # as they came back
        self.inner = LocalExecutor(1)
        self.received: list[tuple[float, int]] = []  # (time, sheets in the chunk)
        self.worker_cpu: list[float] = []  # the worker's CPU time when each chunk came back

    def grade(self, setup: WorkerSetup, chunks: Iterable[Chunk]) -> Iterator[list[Graded]]:
        for chunk in self.inner.grade(setup, chunks):
            self.received.append((time.perf_counter(), len(chunk)))
            self.worker_cpu.append(_living_children_cpu())
            self.graded.extend(chunk)
            self.chunks.append(chunk)
            yield chunk

    def close(self, wait: float | None = None) -> None:
        self.inner.close(wait)

    def rate(self) -> float:
        """Sheets/s of the one worker once it runs: from its first chunk back to its last (its
        start-up, imports and first chunk not counted, as a long run amortises them)."""
        (first, _), (last, _) = self.received[0], self.received[-1]
        return sum(count for _, count in self.received[1:]) / (last - first)

    def cpu_rate(self) -> float:
        """Sheets a second of the worker's CPU time, over the same chunks as :meth:`rate`."""
        return sum(count for _, count in self.received[1:]) / (self.worker_cpu[-1] - self.worker_cpu[0])


class FakeWorkers:
    """Hands back each chunk's results at once, as the driver receives them: unpickled from
    what a worker sent. The results are the template's (pickled again as one chunk, as the
    template's worker sent them: the values its results shared, such as a part's prompt, are
    shared again) renamed for the students of the class, made and pickled before the run
    (:meth:`prepare`): the driver never renames anything, so the benchmark does not either
    while it measures."""

    def __init__(self, template: list[list[Graded]], chunk_size: int, dask: DaskFeed | None = None):
        self.template = [chunk for chunk in template if len(chunk) == chunk_size]
        self.dask = dask  # hand the results back through a real Dask scheduler and worker
        self.chunk_size = chunk_size
        self.parallelism = THREADS  # a cluster of 20 machines of 16 cores, for the chunk size
        self.asked = self.done = 0.0
        self.asked_cpu = self.done_cpu = 0.0  # the driver's CPU time (all its threads) then
        self.sent: list[bytes] = []  # each chunk's results, pickled, in the order the driver sends them
        self.keys: list[str] = []  # each chunk's first student
        # Each chunk's store entries, pickled as its worker writes them in a spool file (sealed
        # with the run's key, which only the run knows: see _spooled), and that file's name.
        self.spooled: list[tuple[str, bytes]] = []
        self.spooling = self.spooling_cpu = 0.0  # writing them, in this process, before the intake

    def prepare(self, tasks: list[SubmissionTask]) -> None:
        """Each chunk's results for the class's tasks (planned as the driver plans them), pickled."""
        shared = [pickle.dumps(chunk, protocol=5) for chunk in self.template]
        swaps = [_swaps(pickle.loads(chunk)) for chunk in shared]
        for count, start in enumerate(range(0, len(tasks), self.chunk_size)):
            chunk = tasks[start : start + self.chunk_size]
            models = pickle.loads(shared[count % len(shared)])  # sharing what the worker's chunk shared
            flags = swaps[count % len(shared)]
            renamed = [_renamed(m, task, swap) for m, task, swap in zip(models, chunk, flags, strict=False)]
            name = _spool_name(chunk[0].key)
            payload = pickle.dumps(spool_contents(renamed), protocol=pickle.HIGHEST_PROTOCOL)
            for graded in renamed:  # as the worker that spooled them sends them (worker.spool_entries)
                graded.blobs, graded.spooled, graded.written = None, name, {}
            self.sent.append(pickle.dumps(renamed, protocol=5))
            self.spooled.append((name, payload))
            self.keys.append(chunk[0].key)
            if self.dask is not None:  # where the Dask worker finds what to send back for the chunk
                (self.dask.results / chunk[0].key).write_bytes(self.sent[-1])
                (self.dask.results / f"{chunk[0].key}.entries").write_bytes(payload)

    def grade(self, setup: WorkerSetup, chunks: Iterable[Chunk]) -> Iterator[list[Graded]]:
        if self.dask is not None:
            yield from self._through_dask(setup, chunks, self.dask)
            return
        self._spooled(setup)
        self.asked, self.asked_cpu = time.perf_counter(), time.process_time()  # it asks for its first chunk
        for count, chunk in enumerate(chunks):
            assert chunk[0].key == self.keys[count], "the driver sends the class in its order"
            yield pickle.loads(self.sent[count])
        self.done, self.done_cpu = time.perf_counter(), time.process_time()  # it took in the last chunk

    def close(self, wait: float | None = None) -> None:
        """Nothing kept between runs (an executor's protocol)."""

    def _spooled(self, setup: WorkerSetup) -> None:
        """Every chunk's spool file, sealed with the run's key, written before the intake (the
        workers' part, as fast workers have done it); the time it took is not the driver's."""
        assert setup.out is not None and setup.spool_key, "the run has its workers spool the store's entries"
        started, started_cpu = time.perf_counter(), time.process_time()
        folder = spool_folder(setup.out)
        for name, payload in self.spooled:
            write_sealed(folder, setup.spool_key, name, payload)
        self.spooling, self.spooling_cpu = time.perf_counter() - started, time.process_time() - started_cpu

    def _through_dask(
        self, setup: WorkerSetup, chunks: Iterable[Chunk], dask: DaskFeed
    ) -> Iterator[list[Graded]]:
        """The chunks through grader's own Dask window (each folder's fingerprint taken, sent as a
        task, waited for, its result received), to a worker that reads the prepared results."""
        from distributed import Client

        with Client(dask.address) as client:  # connecting counts before the first chunk, as in a run
            client.wait_for_workers(1)
            window = _FedWindow(client, setup, str(dask.results))
            window.ahead = True  # a helper takes the fingerprints, as in a run this large
            if dask.direct:
                window.open_channel()
                assert window.channel is not None, window.route
            self.asked, self.asked_cpu = time.perf_counter(), time.process_time()
            yield from window.run(iter(chunks))
            self.done, self.done_cpu = time.perf_counter(), time.process_time()


@dataclass(frozen=True)
class DaskFeed:
    """A Dask scheduler and one worker process of as many threads as 20 machines have cores,
    started for the benchmark, and the folder of each chunk's prepared results."""

    address: str
    results: Path
    direct: bool = True  # results over grader's direct channel, not a Dask task a chunk


class _FedWindow(_DaskWindow):
    """grader's Dask window, its chunks sent to a function that reads their prepared results."""

    def __init__(self, client: Any, setup: WorkerSetup, results: str):
        super().__init__(client, "bench", setup, CHUNKS_PER_THREAD)
        self.results = results

    def _remote(self) -> Callable[[str, Chunk], Any]:
        assert self.setup.out is not None
        return _reader(self.results, str(spool_folder(self.setup.out)), self.setup.spool_key)


def _spool_name(key: str) -> str:
    """The spool file of the chunk whose first student is ``key`` (32 hex digits, as the workers' are)."""
    import hashlib

    return hashlib.sha256(key.encode()).hexdigest()[:32]


def _reader(results: str, spool: str, spool_key: bytes) -> Callable[[str, Chunk], Any]:
    """The task a worker runs: the prepared results of the chunk (pickled by value: no module of
    the benchmark is imported on the worker), read back and returned (the worker pickles them
    again as it sends them, as a worker sends what it graded: a helper of the driver reads those
    bytes), once it wrote the chunk's spool file (the store's entries, prepared too) sealed with
    the run's key."""

    def prepared(key: str, tasks: Chunk) -> Any:
        import hashlib
        import pickle
        from pathlib import Path

        from grader.batch.spool import write_sealed

        first = tasks[0].key
        with open(os.path.join(results, f"{first}.entries"), "rb") as stream:
            name = hashlib.sha256(first.encode()).hexdigest()[:32]  # _spool_name's
            write_sealed(Path(spool), spool_key, name, stream.read())
        with open(os.path.join(results, first), "rb") as stream:
            return pickle.loads(stream.read())  # the benchmark's own file, written before the run

    return prepared


@contextlib.contextmanager
def dask_feed(results: Path, threads: int, direct: bool = True) -> Iterator[DaskFeed]:
    """A ``dask scheduler`` and a ``dask worker`` of ``threads`` threads on loopback."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    address = f"tcp://127.0.0.1:{port}"
    logs = {name: results.parent / f"{name}.log" for name in ("scheduler", "worker")}
    with logs["scheduler"].open("wb") as scheduler_log, logs["worker"].open("wb") as worker_log:
        scheduler = subprocess.Popen(
            ["dask", "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
            stdout=subprocess.DEVNULL,
            stderr=scheduler_log,
        )
        worker = subprocess.Popen(
            ["dask", "worker", address, "--nthreads", str(threads), "--no-dashboard", "--memory-limit", "0"],
            stdout=subprocess.DEVNULL,
            stderr=worker_log,
        )
    try:
        results.mkdir()
        yield DaskFeed(address, results, direct)
    except BaseException:  # what the scheduler and the worker said, for a run that failed
        for name, log in logs.items():
            tail = log.read_text(errors="replace").splitlines()[-15:]
            print(f"--- the {name}'s last lines:", *tail, sep="\n", file=sys.stderr)
        raise
    finally:
        for process in (worker, scheduler):
            process.terminate()
            process.wait(30)


def _renamed(model: Graded, task: SubmissionTask, swap: bool) -> Graded:
    """The result for another student (the store's pickled report still names the template's)."""
    old = model.task.stem
    new = task.stem
    artefacts = {new + name[len(old) :]: data for name, data in model.artefacts.items()}
    written = {new + name[len(old) :]: r for name, r in model.written.items()} if model.written else None
    blobs = model.blobs
    if blobs is not None and blobs.files:  # the records of its files as the worker sends them
        blobs = replace(blobs, files=blobs.files.replace(f'"{old}', f'"{new}'))
    # The row the driver reads names the student; the store's blobs still name the template's.
    row = replace(model.summary(), folder=task.key, student=task.key)
    lines = model.lines
    if lines is not None:  # the row's grades.csv line and students' table row, as its worker makes them
        lines = _renamed_lines(model, row, task) if swap else _made(row, task)
    return replace(model, task=task, row=row, artefacts=artefacts, written=written, blobs=blobs, lines=lines)


def _made(row: SheetRow, task: SubmissionTask) -> tuple[str, str]:
    return sheet_line(row), student_row(row, f"{task.stem}.html")


def _renamed_lines(model: Graded, row: SheetRow, task: SubmissionTask) -> tuple[str, str]:
    """The worker's lines of ``model`` for the student of ``task``, by replacing the names they
    show (checked for each template sheet by :func:`_check_swaps`; else made anew)."""
    assert model.lines is not None and model.row is not None
    line, html = model.lines
    old_prefix = _csv_prefix(model.row.student, model.row.folder or "")
    new_prefix = _csv_prefix(row.student, row.folder or "")
    old_link = f"<td>{_student_link(model.row.student, f'{model.task.stem}.html')}</td>"
    new_link = f"<td>{_student_link(row.student, f'{task.stem}.html')}</td>"
    return new_prefix + line[len(old_prefix) :], html.replace(old_link, new_link, 1)


def _csv_prefix(student: str, folder: str) -> str:
    return _csv_line([csv_cell(student), csv_cell(folder), ""])[:-1]  # "student,folder,"


def _swaps(models: list[Graded]) -> list[bool]:
    """Whether replacing the names in each template result's lines gives what its worker would
    make for another student (a probe); where it does not, the benchmark makes them anew
    (counted in the intake)."""
    probe = SubmissionTask("student-999999", "/nowhere", "student-999999", "")
    swaps = []
    for model in models:
        if model.lines is None or model.row is None:
            swaps.append(False)
            continue
        row = replace(model.row, folder=probe.key, student=probe.key)
        right = model.lines == _made(model.row, model.task)
        swaps.append(right and _renamed_lines(model, row, probe) == _made(row, probe))
    return swaps


def worker_side_seconds(template: list[Graded], written: Path, scratch: Path) -> float:
    """Seconds per sheet a worker spends on what the driver used to do: writing the student's
    files (the template's, anew), pickling and compressing the store's blobs (the report, the
    fresh verdicts, the summary row) and writing them in spool files (a chunk's a file)."""
    scratch.mkdir()
    files = [{name: (written / name).read_bytes() for name in g.written or ()} for g in template]
    verdicts = [{k: read_back(v) for k, v in g.blobs.verdicts.items()} if g.blobs else {} for g in template]
    reports = [read_back(g.blobs.report) for g in template if g.blobs]
    started = time.perf_counter()
    chunk: list[Graded] = []
    for graded, report, artefacts, fresh in zip(template, reports, files, verdicts, strict=True):
        write_student_files(scratch, artefacts)
        blobs = StoreBlobs(
            packed(report), {key: packed(v) for key, v in fresh.items()}, packed(graded.summary())
        )
        chunk.append(replace(graded, blobs=blobs))
        if len(chunk) == CHUNK:
            spool_entries(scratch / "spool", b"k" * 32, chunk)
            chunk = []
    return (time.perf_counter() - started) / len(template)


def _estimate(serial: float, per_core: float, intake: float, sheets: int = 50_000) -> tuple[float, float]:
    """Seconds for ``sheets`` on 1 and on 20 machines of 16 cores: the serial part, then the
    workers or the driver's intake, whichever is slower."""
    one = serial + max(sheets / (16 * per_core), sheets / intake)
    twenty = serial + max(sheets / (320 * per_core), sheets / intake)
    return one, twenty


def _estimated(
    serial_measured: float, per_core: float, intake: float, measured: int
) -> tuple[float, float, float]:
    """(serial, 1 machine, 20 machines) seconds for 50,000 sheets, from a run of ``measured``
    sheets whose serial part took ``serial_measured`` (scaled as if linear in the class)."""
    serial = serial_measured * 50_000 / measured
    return (serial, *_estimate(serial, per_core, intake))


def _living_children_cpu() -> float:
    """CPU seconds (user and system) so far of this process's living children (the pool's worker)."""
    total, me = 0, str(os.getpid())
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            fields = Path(entry.path, "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[1] == me:  # its parent; then utime and stime, fields 14 and 15 of proc(5)
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


class _Descendants:
    """The CPU time of a process's descendants (the store's writer, its checkpoints' process,
    the fingerprints' helper), sampled from /proc every 20 ms while the block runs: the last
    sample of each (a process's last 20 ms at most are missed, and so counted as its parent's)."""

    def __init__(self, root: int, pinning: Pinning | None = None) -> None:
        self.root = root
        self.pinning = pinning
        self.seen: dict[int, tuple[str, float]] = {}  # pid: (command line, CPU seconds)
        self.samples: list[tuple[float, dict[int, float]]] = []  # (perf_counter, {pid: CPU seconds})
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._watch, daemon=True)

    def __enter__(self) -> _Descendants:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopped.set()
        self.thread.join()

    def cpu(self, marker: str, until: float | None = None) -> float:
        """CPU seconds of the descendants whose command line holds ``marker`` (``until``: by the
        last sample taken at that perf_counter time or before)."""
        pids = {pid for pid, (command, _) in self.seen.items() if marker in command}
        if until is None:
            return sum(self.seen[pid][1] for pid in pids)
        taken = [times for when, times in self.samples if when <= until]
        return sum(cpu for pid, cpu in taken[-1].items() if pid in pids) if taken else 0.0

    def _watch(self) -> None:
        tick = os.sysconf("SC_CLK_TCK")
        while not self.stopped.wait(0.02):
            parents: dict[int, int] = {}
            times: dict[int, float] = {}
            for entry in os.scandir("/proc"):
                if entry.name.isdigit():
                    with contextlib.suppress(OSError, IndexError):
                        fields = Path(entry.path, "stat").read_text().rsplit(")", 1)[1].split()
                        parents[int(entry.name)] = int(fields[1])
                        times[int(entry.name)] = (int(fields[11]) + int(fields[12])) / tick
            sample: dict[int, float] = {}
            for pid in _descendants_of(self.root, parents):
                with contextlib.suppress(OSError):
                    command = self.seen[pid][0] if pid in self.seen else _command_line(pid)
                    self.seen[pid] = (command, times[pid])
                    sample[pid] = times[pid]
                    if self.pinning is not None:
                        self.pinning.place(pid, command)
            self.samples.append((time.perf_counter(), sample))


@dataclass(frozen=True)
class Pinning:
    """One process of a driver run with a core of its own, every other process of the benchmark
    (the driver's other helpers, the benchmark's parent, the Dask scheduler and worker) on the
    other cores: the CPU a sheet of that process, as on a driver machine with a core for each
    (the CPU-time estimate's assumption). On this 2-core machine each process's CPU a sheet is
    about twice its figure alone when seven share two cores (the caches, the switches)."""

    focus: str  # the process's name in FOCUS ("driver": the driver itself)
    own: frozenset[int]
    rest: frozenset[int]

    @staticmethod
    def of(focus: str) -> Pinning | None:
        """Core 0 for the process of ``focus``, the others for the rest (None: one core only)."""
        cores = sorted(os.sched_getaffinity(0))
        if len(cores) < 2:
            return None
        return Pinning(focus, frozenset(cores[:1]), frozenset(cores[1:]))

    def place(self, pid: int, command: str) -> None:
        """Every thread of the process ``pid`` on its cores (its own core if it is the focus)."""
        cores = self.own if _is(self.focus, command) else self.rest
        for thread in os.listdir(f"/proc/{pid}/task"):
            with contextlib.suppress(OSError):
                if os.sched_getaffinity(int(thread)) != cores:
                    os.sched_setaffinity(int(thread), cores)


# The driver's helper processes, by what their command lines hold and do not hold; the driver
# itself is no helper (it is the process forked by _forked).
FOCUS = {
    "driver": None,
    "tallier": ("grader.batch.tallier", None),
    "writer": ("grader.batch.storewriter", "--checkpoints"),
    "fingerprints": ("grader.batch.fingerprints", None),
}


def _is(focus: str, command: str) -> bool:
    """Whether ``command`` is the command line of the helper named ``focus``."""
    marks = FOCUS[focus]
    return marks is not None and marks[0] in command and (marks[1] is None or marks[1] not in command)


def _descendants_of(root: int, parents: dict[int, int]) -> list[int]:
    found, frontier = [], [root]
    while frontier:
        children = [pid for pid, parent in parents.items() if parent in frontier]
        found += children
        frontier = children
    return found


def _command_line(pid: int) -> str:
    return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")


def _children_cpu() -> float:
    """CPU seconds (user and system) of this process's children that have ended."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


@dataclass(frozen=True)
class DriverRun:
    """One run of the driver over the class: its phases' wall and CPU seconds."""

    before: float
    intake: float
    after: float
    before_cpu: float
    intake_cpu: float
    after_cpu: float
    writer_cpu: float  # the store's writer process, the whole run
    helper_cpu: float = 0.0  # the process taking fingerprints ahead of a Dask window (--dask)
    checkpoints_cpu: float = 0.0  # the writer's process copying the store's log into its file
    tallier_cpu: float = 0.0  # the process keeping the dashboard's tally, while the driver takes in
    tallier_end_cpu: float = 0.0  # and after its last chunk (writing the dashboard)
    intake_ended: float = 0.0  # perf_counter when the driver took in its last chunk

    @property
    def seconds(self) -> float:
        return self.before + self.intake + self.after

    @property
    def cpu(self) -> float:
        """The driver's CPU time and its helpers' (each on a core of its own: the busiest counts)."""
        return self.before_cpu + self.end_cpu_bound + self.intake_cpu_bound

    @property
    def intake_cpu_bound(self) -> float:
        """The busiest of the processes taking results in, each on a core of its own."""
        return max(self.intake_cpu, self.writer_cpu, self.helper_cpu, self.checkpoints_cpu, self.tallier_cpu)

    @property
    def end_cpu_bound(self) -> float:
        """The end's: the driver's (grades.csv) or the tallier's (the dashboard), at once."""
        return max(self.after_cpu, self.tallier_end_cpu)


def driver_run(spec: ProblemSet, root: Path, out: Path, fake: FakeWorkers, sheets: int) -> DriverRun:
    """The driver over the class, fed by ``fake``, writing to ``out`` (made anew)."""
    shutil.rmtree(out, ignore_errors=True)
    gc.collect()
    children = _children_cpu()
    started, started_cpu = time.perf_counter(), time.process_time()
    result = run_batch(
        spec,
        root,
        submission_folders(root),
        BatchOptions(out=out, executor=fake, chunk_size=CHUNK),
    )
    driver_seconds, driver_cpu = time.perf_counter() - started, time.process_time() - started_cpu
    # Every process the run started, ended with it: the store's writer (which reaped its
    # checkpoints' process) and the fingerprints' helper, told apart by _forked.
    writer_cpu = _children_cpu() - children
    assert len(result.rows) == sheets
    del result
    # Not the driver's: the fake workers' spool files, written in its process before its intake.
    started, started_cpu = started + fake.spooling, started_cpu + fake.spooling_cpu
    driver_seconds, driver_cpu = driver_seconds - fake.spooling, driver_cpu - fake.spooling_cpu
    before, intake = fake.asked - started, fake.done - fake.asked
    before_cpu, intake_cpu = fake.asked_cpu - started_cpu, fake.done_cpu - fake.asked_cpu
    return DriverRun(
        before,
        intake,
        driver_seconds - before - intake,
        before_cpu,
        intake_cpu,
        driver_cpu - before_cpu - intake_cpu,
        writer_cpu,
        intake_ended=fake.done,
    )


def _forked(run: Callable[..., DriverRun], *args: object, pinning: Pinning | None = None) -> DriverRun:
    """``run(*args)`` in a child process forked from this one: each run starts from the same
    memory (this process's, the fake results prepared), not from what an earlier run freed.
    This process samples the CPU of the child's helper processes (a thread of the child's own
    would count against the driver), and takes it off what the child counted as its writer's;
    with ``pinning``, it keeps the run's processes on their cores."""
    readable, writable = os.pipe()
    child = os.fork()
    if child == 0:  # the child: its figures, as JSON, then gone (no clean-up counted anywhere)
        os.close(readable)
        if pinning is not None:  # before any thread or helper starts: they inherit it
            os.sched_setaffinity(0, pinning.own if pinning.focus == "driver" else pinning.rest)
        try:
            told = json.dumps({"figures": asdict(run(*args))})
        except BaseException:
            told = json.dumps({"error": traceback.format_exc()})
        with os.fdopen(writable, "w") as stream:
            stream.write(told)
        os._exit(0)
    os.close(writable)
    with _Descendants(child, pinning) as descendants, os.fdopen(readable) as stream:
        told = json.loads(stream.read() or '{"error": "the run ended without a word"}')
    os.waitpid(child, 0)
    if "error" in told:
        raise RuntimeError(f"a driver run failed:\n{told['error']}")
    figures = DriverRun(**told["figures"])
    helper, checkpoints = descendants.cpu("grader.batch.fingerprints"), descendants.cpu("--checkpoints")
    tallier = descendants.cpu("grader.batch.tallier")
    tallier_intake = descendants.cpu("grader.batch.tallier", until=figures.intake_ended)
    writer = figures.writer_cpu - helper - checkpoints - tallier
    return replace(
        figures,
        writer_cpu=writer,
        helper_cpu=helper,
        checkpoints_cpu=checkpoints,
        tallier_cpu=tallier_intake,
        tallier_end_cpu=tallier - tallier_intake,
    )


def template_run(spec: ProblemSet, template_root: Path, out: Path) -> _Recording:
    """The template class graded for real, on one local worker process, into ``out`` (made anew)."""
    shutil.rmtree(out, ignore_errors=True)
    recording = _Recording()
    # The driver's thread stores: no writer process, so the worker sends the store's entries
    # (which FakeWorkers.prepare moves to spool files for each student, as a worker would).
    with _attribute(batch_runner, "STORE_PROCESS_FROM", 10**9):
        run_batch(
            spec, template_root, submission_folders(template_root),
            BatchOptions(out=out, executor=recording, chunk_size=CHUNK),
        )  # fmt: skip
    return recording


@contextlib.contextmanager
def _attribute(owner: object, name: str, value: object) -> Iterator[None]:
    kept = getattr(owner, name)
    setattr(owner, name, value)
    try:
        yield
    finally:
        setattr(owner, name, kept)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sheets", type=int, default=20_000)
    parser.add_argument("--template", type=int, default=200)
    parser.add_argument(
        "--repeat", type=int, default=3, help="runs of the template and of the driver (the fastest count)"
    )
    parser.add_argument(
        "--out", type=Path, default=None, help="where the driver writes (default: a temp dir)"
    )
    parser.add_argument(
        "--dask",
        action="store_true",
        help="hand the results back through grader's Dask window, a real scheduler and worker process",
    )
    parser.add_argument(
        "--tasks",
        action="store_true",
        help="with --dask: a Dask task a chunk, its results through Dask's client (no direct channel)",
    )
    parser.add_argument(
        "--pin",
        action="store_true",
        help="each of the driver's busy processes measured with a core of its own, the rest on the "
        "other cores, a template run just before each round (see Pinning)",
    )
    args = parser.parse_args()
    if args.template < 2 * CHUNK:
        parser.error(f"--template: at least {2 * CHUNK} sheets (two chunks, for the worker's rate)")
    work = Path(tempfile.mkdtemp(prefix="grader-bench-driver-"))
    try:
        problem_file, template_root = make_class(work / "template", args.template, seed=11, parts=45)
        spec = load_problem_set(problem_file)
        templates = [template_run(spec, template_root, work / "template-out") for _ in range(args.repeat)]
        recording = templates[0]  # its results feed the fake workers
        per_core = max(t.rate() for t in templates)
        per_core_cpu = max(t.cpu_rate() for t in templates)
        assert all(g.written is not None and g.blobs is not None for g in recording.graded)
        moved = worker_side_seconds(recording.graded, work / "template-out", work / "rewritten")
        root = work / "class"
        for number in range(args.sheets):  # the folders exist (they are planned and digested)
            folder = root / f"student-{number:06d}"
            folder.mkdir(parents=True)
            (folder / "answers.yaml").write_text(f"answers: {{}}\n# {number}\n")
        out = args.out or work / "out"
        every_core = os.sched_getaffinity(0)
        pinned = Pinning.of("driver") if args.pin else None
        if pinned is not None:  # the scheduler and the worker, started now, keep to the rest
            os.sched_setaffinity(0, pinned.rest)
        with contextlib.ExitStack() as cluster:
            feeding = dask_feed(work / "results", THREADS, direct=not args.tasks)
            feed = cluster.enter_context(feeding) if args.dask else None
            fake = FakeWorkers(recording.chunks, CHUNK, feed)
            # The results a worker would send for each student (a task as the worker returns it).
            fake.prepare(plan(root, submission_folders(root)))
            load = " ".join(f"{value:.2f}" for value in os.getloadavg())
            if pinned is None:
                runs = [_forked(driver_run, spec, root, out, fake, args.sheets) for _ in range(args.repeat)]
                _print_figures(args, load, per_core, per_core_cpu, moved, runs)
                return
            focuses = [name for name in FOCUS if args.dask or name != "fingerprints"]
            rounds = []
            for _ in range(args.repeat):
                os.sched_setaffinity(0, every_core)  # the template's worker on any core, as before
                worker = template_run(spec, template_root, work / "template-out").cpu_rate()
                os.sched_setaffinity(0, pinned.rest)
                by_focus = {
                    name: _forked(driver_run, spec, root, out, fake, args.sheets, pinning=Pinning.of(name))
                    for name in focuses
                }
                rounds.append((worker, by_focus))
        _print_pinned(args, load, rounds)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _print_figures(
    args: argparse.Namespace,
    load: str,
    per_core: float,
    per_core_cpu: float,
    moved: float,
    runs: list[DriverRun],
) -> None:
    sheets = 50_000
    print(f"machine: {os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()}")
    print(f"load average before the driver's runs: {load}")
    print(
        f"a worker core: {per_core:.1f} sheets/s (template of {args.template}, one process, 45 parts, "
        f"once started; the fastest of {args.repeat} runs; "
        f"of which {moved * 1000:.1f} ms a sheet writing its files and pickling the store's blobs)"
    )
    for number, run in enumerate(runs, 1):
        phases = f"{run.before:.2f} + {run.intake:.1f} + {run.after:.2f}"
        cpu_phases = f"{run.before_cpu:.2f} + {run.intake_cpu:.2f} + {run.after_cpu:.2f}"
        print(
            f"driver run {number}: {run.seconds:.1f} s ({phases}), CPU {cpu_phases} s, "
            f"writer {run.writer_cpu:.2f} s, its checkpoints {run.checkpoints_cpu:.2f} s"
            + (f", fingerprints {run.helper_cpu:.2f} s" if args.dask else "")
            + f", tallier {run.tallier_cpu:.2f} + {run.tallier_end_cpu:.2f} s"
        )
    wall = min(runs, key=attrgetter("seconds"))
    intake_rate = args.sheets / wall.intake
    route = "a Dask task a chunk" if args.tasks else "a direct channel from long-lived tasks"
    fed = (
        f"fed through its Dask window, {route} (a scheduler and a worker of {THREADS} threads on this "
        "machine)"
        if args.dask
        else "fed by fake workers in its own process"
    )
    print(
        f"driver {fed} (the fastest of {len(runs)} runs): {args.sheets} sheets in "
        f"{wall.seconds:.1f} s = {args.sheets / wall.seconds:.0f} sheets/s overall: {wall.before:.2f} s "
        f"before its first chunk (listing the class, the store read), {wall.intake:.1f} s taking them in, "
        f"{wall.after:.2f} s at the end (grades.csv and the dashboard while the writer stores its last "
        "batches, then waiting for it)"
    )
    print(
        f"driver intake: {intake_rate:.0f} sheets/s ("
        + (
            f"sending each chunk ({route}; each folder's fingerprint taken), receiving and "
            if args.dask
            else ""
        )
        + "unpickling results (each folder digested by its worker), handing the store's entries to its "
        "writer process, each row's dashboard tally, grades.csv every few seconds; the results renamed "
        f"for each student before the run, not during it): the limit past {intake_rate / per_core:.0f} "
        f"worker cores at {per_core:.1f} sheets/s each"
    )
    cpu = min(runs, key=attrgetter("cpu"))
    print(
        f"CPU time (the run of least): the driver {cpu.before_cpu + cpu.intake_cpu + cpu.after_cpu:.2f} s "
        f"({cpu.before_cpu:.2f} s before its first chunk, {cpu.intake_cpu:.2f} s taking them in = "
        f"{cpu.intake_cpu / args.sheets * 1e6:.0f} us a sheet, {cpu.after_cpu:.2f} s at the end); the "
        f"store's writer process {cpu.writer_cpu:.2f} s = {cpu.writer_cpu / args.sheets * 1e6:.0f} us a sheet"
        f" (its checkpoints' process {cpu.checkpoints_cpu:.2f} s); the dashboard's tallier process "
        f"{cpu.tallier_cpu:.2f} s = {cpu.tallier_cpu / args.sheets * 1e6:.0f} us a sheet, then "
        f"{cpu.tallier_end_cpu:.2f} s writing the dashboard"
        + (
            f"; the process taking fingerprints ahead {cpu.helper_cpu:.2f} s = "
            f"{cpu.helper_cpu / args.sheets * 1e6:.0f} us a sheet"
            if args.dask
            else ""
        )
    )
    scaled = (
        "measured, not scaled"
        if args.sheets == sheets
        else f"x {sheets / args.sheets:g}, as if linear in the class"
    )
    serial, one, twenty = _estimated(wall.before + wall.after, per_core, intake_rate, args.sheets)
    print(
        f"estimate from wall time, 50,000 sheets: 1 machine of 16 cores {one:.0f} s, 20 machines "
        f"{twenty:.0f} s: x{one / twenty:.2f}, as serial + max(50000 / (cores x {per_core:.1f}), "
        f"50000 / {intake_rate:.0f}) with serial = {serial:.1f} s (before and after the intake, {scaled})"
    )
    # The same from CPU time: a worker core's, the driver's and its writer's (and the fingerprint
    # helper's), each on a core of its own.
    intake_rate_cpu = args.sheets / cpu.intake_cpu_bound
    busiest = "the driver, its writer, its checkpoints, the tallier" + (
        " and the fingerprints' helper" if args.dask else ""
    )
    serial_cpu, one_cpu, twenty_cpu = _estimated(
        cpu.before_cpu + cpu.end_cpu_bound, per_core_cpu, intake_rate_cpu, args.sheets
    )
    print(
        f"estimate from CPU time: a worker core {per_core_cpu:.1f} sheets/s of its CPU, the intake "
        f"{intake_rate_cpu:.0f} sheets/s (the busiest of {busiest}), serial "
        f"{serial_cpu:.1f} s of the driver's CPU, its end's or the tallier's ({scaled}): "
        f"1 machine {one_cpu:.0f} s, 20 machines "
        f"{twenty_cpu:.0f} s: x{one_cpu / twenty_cpu:.2f}"
    )
    print(f"x12 {'reached' if min(one / twenty, one_cpu / twenty_cpu) >= 12 else 'not reached'}")


def _focused(by_focus: dict[str, DriverRun]) -> DriverRun:
    """A run's figures, each process's from the run where it had a core of its own (the
    checkpoints' process never has: the least it took, sharing the rest)."""
    driver = by_focus["driver"]
    fingerprints = by_focus.get("fingerprints")
    return replace(
        driver,
        tallier_cpu=by_focus["tallier"].tallier_cpu,
        tallier_end_cpu=by_focus["tallier"].tallier_end_cpu,
        writer_cpu=by_focus["writer"].writer_cpu,
        helper_cpu=fingerprints.helper_cpu if fingerprints is not None else 0.0,
        checkpoints_cpu=min(run.checkpoints_cpu for run in by_focus.values()),
    )


def _fastest_workers(serial: float, intake: float, speed_up: float, sheets: int = 50_000) -> float:
    """The fastest worker core (sheets/s) for which 20 machines are still ``speed_up`` times one,
    given the driver's serial seconds and intake rate: past it the driver bounds the 20 machines
    while the one machine goes on gaining from its workers (found by bisection on _estimate)."""
    slow, fast = 0.01, 1e6
    for _ in range(100):
        middle = (slow * fast) ** 0.5
        one, twenty = _estimate(serial, middle, intake, sheets)
        slow, fast = (middle, fast) if one / twenty >= speed_up else (slow, middle)
    return slow


def _print_pinned(
    args: argparse.Namespace, load: str, rounds: list[tuple[float, dict[str, DriverRun]]]
) -> None:
    """Each round's figures and its estimate from CPU time: the worker core's rate measured just
    before the round's runs, each busy process of the driver's from its run with a core of its own."""
    print(f"machine: {os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()}")
    print(f"load average before the driver's runs: {load}; each process measured with a core of its own")
    scaled = "measured" if args.sheets == 50_000 else f"x {50_000 / args.sheets:g}, as if linear"
    estimates = []
    for number, (per_core_cpu, by_focus) in enumerate(rounds, 1):
        run = _focused(by_focus)
        each = {
            "driver": run.intake_cpu,
            "tallier": run.tallier_cpu,
            "writer": run.writer_cpu,
            "checkpoints": run.checkpoints_cpu,
        } | ({"fingerprints": run.helper_cpu} if args.dask else {})
        shown = ", ".join(f"{name} {cpu / args.sheets * 1e6:.0f} us" for name, cpu in each.items())
        intake = args.sheets / run.intake_cpu_bound
        serial, one, twenty = _estimated(
            run.before_cpu + run.end_cpu_bound, per_core_cpu, intake, args.sheets
        )
        estimates.append(one / twenty)
        print(
            f"round {number}: a worker core {per_core_cpu:.1f} sheets/s of its CPU (template of "
            f"{args.template}, just before); CPU a sheet taking them in: {shown}; serial {serial:.2f} s "
            f"(before {run.before_cpu:.2f} s, end {run.after_cpu:.2f} s or the tallier's "
            f"{run.tallier_end_cpu:.2f} s; {scaled}): 1 machine {one:.0f} s, 20 machines {twenty:.1f} s: "
            f"x{one / twenty:.2f}; x12 while a worker core grades at most "
            f"{_fastest_workers(serial, intake, 12):.0f} sheets/s"
        )
    print(
        f"estimate from CPU time, each process on a core of its own: x{min(estimates):.2f} to "
        f"x{max(estimates):.2f}; x12 {'reached' if min(estimates) >= 12 else 'not reached'} in every round"
    )


if __name__ == "__main__":
    main()
