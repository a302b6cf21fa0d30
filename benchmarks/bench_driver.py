"""How fast the driver (the ``grader grade`` process) takes in results, fed by fake workers.

    python benchmarks/bench_driver.py [--sheets 20000] [--template 200] [--out DIR]

On a cluster the driver receives every graded sheet, writes its files, stores its
verdicts and keeps ``grades.csv`` current: if it is slower than the workers, more
machines gain nothing. This benchmark grades a template class of ``--template``
synthetic sheets once (for real, locally), then runs the batch driver over a class
of ``--sheets`` folders with a fake executor that hands back copies of those
results (renamed for each student) as fast as the driver asks, in chunks of 16
(what 50,000 sheets on 320 worker threads get): what is measured is the driver
alone, its ceiling in sheets/s.

From that ceiling and a worker's rate (sheets/s per core, measured here on the
template with one process) it estimates the time of a class of 50,000 sheets on
1 and on 20 machines of 16 cores, as max(work / cores, driver), and prints the
speed-up. The estimate assumes workers scale linearly (they share nothing but
the scheduler) and that the driver's machine is as fast as this one.
"""

from __future__ import annotations

import argparse
import os
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
from grader.batch.executors import Chunk  # noqa: E402
from grader.batch.worker import Graded, WorkerSetup  # noqa: E402
from grader.loading import load_problem_set  # noqa: E402


class _Recording:
    """An executor that grades for real and keeps every result (the template)."""

    def __init__(self) -> None:
        self.graded: list[Graded] = []
        self.inner = LocalExecutor(1)

    def grade(self, setup: WorkerSetup, chunks: Iterable[Chunk]) -> Iterator[list[Graded]]:
        for chunk in self.inner.grade(setup, chunks):
            self.graded.extend(chunk)
            yield chunk


class FakeWorkers:
    """Hands back a template result for each task at once, renamed for its student."""

    def __init__(self, template: list[Graded]):
        self.template = template
        self.parallelism = 320  # a cluster of 20 machines of 16 cores, for the chunk size

    def grade(self, setup: WorkerSetup, chunks: Iterable[Chunk]) -> Iterator[list[Graded]]:
        count = 0
        for chunk in chunks:
            out = []
            for task in chunk:
                model = self.template[count % len(self.template)]
                count += 1
                out.append(_renamed(model, task))
            yield out


def _renamed(model: Graded, task: object) -> Graded:
    old = model.task.stem
    new = task.stem  # type: ignore[attr-defined]
    artefacts = {new + name[len(old) :]: data for name, data in model.artefacts.items()}
    report = replace(model.report, folder=task.key, student=task.key)  # type: ignore[attr-defined]
    return replace(model, task=task, report=report, artefacts=artefacts)  # type: ignore[arg-type]


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
    work = Path(tempfile.mkdtemp(prefix="grader-bench-driver-"))
    try:
        problem_file, template_root = make_class(work / "template", args.template, seed=11, parts=45)
        spec = load_problem_set(problem_file)
        recording = _Recording()
        started = time.perf_counter()
        run_batch(
            spec, template_root, submission_folders(template_root),
            BatchOptions(out=work / "template-out", use_cache=False, executor=recording),
        )  # fmt: skip
        per_core = args.template / (time.perf_counter() - started)
        root = work / "class"
        for number in range(args.sheets):  # the folders exist (they are planned and digested)
            folder = root / f"student-{number:06d}"
            folder.mkdir(parents=True)
            (folder / "answers.yaml").write_text(f"answers: {{}}\n# {number}\n")
        out = args.out or work / "out"
        shutil.rmtree(out, ignore_errors=True)
        started = time.perf_counter()
        result = run_batch(
            spec,
            root,
            submission_folders(root),
            BatchOptions(out=out, executor=FakeWorkers(recording.graded), chunk_size=16),
        )
        driver_seconds = time.perf_counter() - started
        assert len(result.reports) == args.sheets
        ceiling = args.sheets / driver_seconds
        print(f"machine: {os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()}")
        print(f"a worker core: {per_core:.1f} sheets/s (template of {args.template}, one process, 45 parts)")
        print(
            f"driver with fake workers: {args.sheets} sheets in {driver_seconds:.1f} s "
            f"= {ceiling:.0f} sheets/s "
            "(planning, writing 4-5 files a sheet, the store, grades.csv, the dashboard)"
        )
        sheets = 50_000
        one = max(sheets / (16 * per_core), sheets / ceiling)
        twenty = max(sheets / (320 * per_core), sheets / ceiling)
        print(
            f"estimate, 50,000 sheets: 1 machine of 16 cores {one:.0f} s, 20 machines {twenty:.0f} s: "
            f"x{one / twenty:.1f} (the driver is the limit once cores x {per_core:.1f} > {ceiling:.0f})"
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
