"""How fast the driver (the ``grader grade`` process) takes in results, fed by fake workers.

    python benchmarks/bench_driver.py [--sheets 20000] [--template 200] [--out DIR]

On a cluster the driver receives every graded sheet, stores its verdicts and keeps
``grades.csv`` current; the workers write each student's files, pickle what the
store keeps and send a summary row of each sheet instead of its report (when they
see ``--out``). If the driver is slower than the workers,
more machines gain nothing. This benchmark grades a template class of
``--template`` synthetic sheets once (for real, on one local worker process that
writes its students' files, with a verdict store), then runs the batch driver over
a class of ``--sheets`` folders with a fake executor that hands back copies of
those results as fast as the driver asks, in chunks of 16 (what 50,000 sheets on
320 worker threads get). Each copy is unpickled from a chunk the template's worker
sent, as a process pool or Dask unpickles results in the driver, then its rows
renamed for its students (the store's blobs keep the template's names): what is
measured is the driver alone, in three phases: before it asks for the first chunk
(planning: each folder digested, the store read), its intake (from the first chunk
asked to the last received: unpickling, storing, each row's grades.csv line and
dashboard tally, grades.csv every few seconds), and the end (the last store
transaction, the final grades.csv, the dashboard). Only the intake overlaps the
workers' grading; the renaming is counted in it (against the driver).

A worker's rate (sheets/s per core) is the template run's: one worker process
grading, rendering, writing its students' files and pickling the store's blobs,
from its first chunk of 16 back to its last (its start-up not counted). From the
phases and that rate it estimates the time of a class of 50,000 sheets on 1 and on
20 machines of 16 cores as

    serial + max(50000 / (cores x rate), 50000 / intake rate)

where serial is the time before and after the intake, scaled to 50,000 sheets
(as if both were linear in the class: the dashboard's reading of the most common
wrong answers is not, so this overstates the end), and prints the speed-up. The estimate assumes
workers scale linearly (they share nothing but the scheduler and the file server)
and that the driver's machine is as fast as this one.
"""

from __future__ import annotations

import argparse
import os
import pickle
import platform
import shutil
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator
from dataclasses import replace
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from make_class import make_class  # noqa: E402

from grader.batch import BatchOptions, LocalExecutor, run_batch, submission_folders  # noqa: E402
from grader.batch.blobs import dumps  # noqa: E402
from grader.batch.executors import Chunk  # noqa: E402
from grader.batch.studentfiles import write_student_files  # noqa: E402
from grader.batch.worker import Graded, StoreBlobs, WorkerSetup  # noqa: E402
from grader.loading import load_problem_set  # noqa: E402

CHUNK = 16  # sheets a chunk: what 50,000 sheets on 320 worker threads get


class _Recording:
    """An executor that grades for real and keeps every result (the template), and when each
    chunk came back."""

    def __init__(self) -> None:
        self.graded: list[Graded] = []
        self.chunks: list[list[Graded]] = []  # as they came back
        self.inner = LocalExecutor(1)
        self.received: list[tuple[float, int]] = []  # (time, sheets in the chunk)

    def grade(self, setup: WorkerSetup, chunks: Iterable[Chunk]) -> Iterator[list[Graded]]:
        for chunk in self.inner.grade(setup, chunks):
            self.received.append((time.perf_counter(), len(chunk)))
            self.graded.extend(chunk)
            self.chunks.append(chunk)
            yield chunk

    def rate(self) -> float:
        """Sheets/s of the one worker once it runs: from its first chunk back to its last (its
        start-up, imports and first chunk not counted, as a long run amortises them)."""
        (first, _), (last, _) = self.received[0], self.received[-1]
        return sum(count for _, count in self.received[1:]) / (last - first)


class FakeWorkers:
    """Hands back a template chunk for each chunk at once, as the driver receives it
    (unpickled from the chunk the template's worker sent, pickled again as one: the values
    the worker's results shared, such as a part's prompt, are shared again), renamed for
    its students."""

    def __init__(self, template: list[list[Graded]], chunk_size: int):
        self.template = [pickle.dumps(chunk, protocol=5) for chunk in template if len(chunk) == chunk_size]
        self.parallelism = 320  # a cluster of 20 machines of 16 cores, for the chunk size
        self.asked = self.done = 0.0

    def grade(self, setup: WorkerSetup, chunks: Iterable[Chunk]) -> Iterator[list[Graded]]:
        self.asked = time.perf_counter()  # the driver asks for its first chunk
        for count, chunk in enumerate(chunks):
            models = pickle.loads(self.template[count % len(self.template)])
            yield [_renamed(model, task) for model, task in zip(models, chunk, strict=False)]
        self.done = time.perf_counter()  # the driver has taken in the last chunk


def _renamed(model: Graded, task: object) -> Graded:
    """The result for another student (the store's pickled report still names the template's)."""
    old = model.task.stem
    new = task.stem  # type: ignore[attr-defined]
    artefacts = {new + name[len(old) :]: data for name, data in model.artefacts.items()}
    written = {new + name[len(old) :]: r for name, r in model.written.items()} if model.written else None
    # The row the driver reads names the student; the store's blobs still name the template's.
    row = replace(model.summary(), folder=task.key, student=task.key)  # type: ignore[attr-defined]
    return replace(model, task=task, row=row, artefacts=artefacts, written=written)  # type: ignore[arg-type]


def worker_side_seconds(template: list[Graded], written: Path, scratch: Path) -> float:
    """Seconds per sheet a worker spends on what the driver used to do: writing the student's
    files (the template's, anew) and pickling the store's blobs (the report, the fresh
    verdicts, the summary row)."""
    scratch.mkdir()
    files = [{name: (written / name).read_bytes() for name in g.written or ()} for g in template]
    verdicts = [
        {k: pickle.loads(v) for k, v in g.blobs.verdicts.items()} if g.blobs else {} for g in template
    ]
    reports = [pickle.loads(g.blobs.report) for g in template if g.blobs]
    started = time.perf_counter()
    for graded, report, artefacts, fresh in zip(template, reports, files, verdicts, strict=True):
        write_student_files(scratch, artefacts)
        StoreBlobs(dumps(report), {key: dumps(v) for key, v in fresh.items()}, dumps(graded.summary()))
    return (time.perf_counter() - started) / len(template)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sheets", type=int, default=20_000)
    parser.add_argument("--template", type=int, default=200)
    parser.add_argument(
        "--out", type=Path, default=None, help="where the driver writes (default: a temp dir)"
    )
    args = parser.parse_args()
    if args.template < 2 * CHUNK:
        parser.error(f"--template: at least {2 * CHUNK} sheets (two chunks, for the worker's rate)")
    work = Path(tempfile.mkdtemp(prefix="grader-bench-driver-"))
    try:
        problem_file, template_root = make_class(work / "template", args.template, seed=11, parts=45)
        spec = load_problem_set(problem_file)
        recording = _Recording()
        run_batch(
            spec, template_root, submission_folders(template_root),
            BatchOptions(out=work / "template-out", executor=recording, chunk_size=CHUNK),
        )  # fmt: skip
        per_core = recording.rate()
        assert all(g.written is not None and g.blobs is not None for g in recording.graded)
        moved = worker_side_seconds(recording.graded, work / "template-out", work / "rewritten")
        root = work / "class"
        for number in range(args.sheets):  # the folders exist (they are planned and digested)
            folder = root / f"student-{number:06d}"
            folder.mkdir(parents=True)
            (folder / "answers.yaml").write_text(f"answers: {{}}\n# {number}\n")
        out = args.out or work / "out"
        shutil.rmtree(out, ignore_errors=True)
        fake = FakeWorkers(recording.chunks, CHUNK)
        load = " ".join(f"{value:.2f}" for value in os.getloadavg())
        started = time.perf_counter()
        result = run_batch(
            spec,
            root,
            submission_folders(root),
            BatchOptions(out=out, executor=fake, chunk_size=CHUNK),
        )
        driver_seconds = time.perf_counter() - started
        assert len(result.rows) == args.sheets
        before, intake = fake.asked - started, fake.done - fake.asked
        after = driver_seconds - before - intake
        intake_rate = args.sheets / intake
        print(f"machine: {os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()}")
        print(f"load average before the driver's run: {load}")
        print(
            f"a worker core: {per_core:.1f} sheets/s (template of {args.template}, one process, 45 parts, "
            "once started; "
            f"of which {moved * 1000:.1f} ms a sheet writing its files and pickling the store's blobs)"
        )
        print(
            f"driver with fake workers: {args.sheets} sheets in {driver_seconds:.1f} s "
            f"= {args.sheets / driver_seconds:.0f} sheets/s overall: {before:.1f} s before its first chunk "
            f"(planning, the store read), {intake:.1f} s taking them in, {after:.1f} s at the end "
            "(the last store transaction, grades.csv, the dashboard)"
        )
        print(
            f"driver intake: {intake_rate:.0f} sheets/s (unpickling rows, storing them, each row's "
            "grades.csv line and dashboard tally, grades.csv every few seconds): the limit past "
            f"{intake_rate / per_core:.0f} worker cores at {per_core:.1f} sheets/s each"
        )
        sheets = 50_000
        serial = (before + after) * sheets / args.sheets
        one = serial + max(sheets / (16 * per_core), sheets / intake_rate)
        twenty = serial + max(sheets / (320 * per_core), sheets / intake_rate)
        print(
            f"estimate, 50,000 sheets: 1 machine of 16 cores {one:.0f} s, 20 machines {twenty:.0f} s: "
            f"x{one / twenty:.1f}, as serial + max(50000 / (cores x {per_core:.1f}), "
            f"50000 / {intake_rate:.0f}) "
            f"with serial = {serial:.0f} s (before and after the intake, x {sheets / args.sheets:g})"
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
