"""Local process pool vs a Dask LocalCluster on this machine, for the synthetic class.

    python benchmarks/bench_dask.py [--sheets 300] [--workers 2] [--repeat 1]

Grades the same class (benchmarks/make_class.py) with ``--executor local`` and
with a Dask ``LocalCluster`` of as many worker processes (started beforehand, as
a TA's cluster would be), each into an empty --out with no verdict store, and
prints sheets/s for each and the time per submission Dask adds. A trivial class
(every answer missing: no check, only reading, sending and writing) shows the
overhead alone. Dask pays off when the cluster has more cores than this machine.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from make_class import make_class  # noqa: E402

from grader.batch import BatchOptions, LocalExecutor, run_batch, submission_folders  # noqa: E402
from grader.batch.cluster import DaskExecutor  # noqa: E402
from grader.batch.executors import Executor  # noqa: E402
from grader.loading import load_problem_set  # noqa: E402


def timed(problem_file: Path, root: Path, out: Path, executor: Executor, repeat: int) -> float:
    spec = load_problem_set(problem_file)
    best = float("inf")
    for _ in range(repeat):
        shutil.rmtree(out, ignore_errors=True)
        started = time.perf_counter()
        run_batch(
            spec, root, submission_folders(root), BatchOptions(out=out, use_cache=False, executor=executor)
        )
        best = min(best, time.perf_counter() - started)
    return best


def blank_class(root: Path, sheets: int) -> None:
    for number in range(sheets):
        folder = root / f"student-{number:05d}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "answers.yaml").write_text("answers: {}\n")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sheets", type=int, default=300)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    import dask
    from distributed import LocalCluster

    work = Path(tempfile.mkdtemp(prefix="grader-bench-dask-"))
    try:
        problem_file, root = make_class(work / "class", args.sheets, seed=args.sheets)
        blank_class(work / "blank", args.sheets)
        print(f"{os.cpu_count()} cores; {args.sheets} sheets; {args.workers} workers either way")
        with dask.config.set({"distributed.scheduler.allowed-failures": 1}):
            cluster = LocalCluster(
                n_workers=args.workers,
                threads_per_worker=1,
                processes=True,
                dashboard_address=":0",
                silence_logs=50,
            )
        with cluster:
            dask_executor = DaskExecutor(cluster.scheduler_address)
            for name, classroot in (("synthetic class", root), ("all answers missing", work / "blank")):
                local = timed(problem_file, classroot, work / "out", LocalExecutor(args.workers), args.repeat)
                on_dask = timed(problem_file, classroot, work / "out", dask_executor, args.repeat)
                overhead_ms = (on_dask - local) / args.sheets * 1000
                print(
                    f"{name:>20}: local pool {args.sheets / local:6.1f} sheets/s ({local:5.1f} s), "
                    f"Dask {args.sheets / on_dask:6.1f} sheets/s ({on_dask:5.1f} s); "
                    f"Dask adds {overhead_ms:+.1f} ms per submission"
                )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
