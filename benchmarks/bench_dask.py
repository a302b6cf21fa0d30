"""Local process pool vs a Dask LocalCluster on this machine, for the synthetic class.

    python benchmarks/bench_dask.py [--sheets 300] [--workers 2] [--repeat 3] [--variety]

Grades the same class (benchmarks/make_class.py) with ``--executor local`` and
with a Dask ``LocalCluster`` of as many worker processes (started beforehand, as
a TA's cluster would be), each into an empty --out with no verdict store, and
prints sheets/s for each and the time per submission Dask adds, and the CPU time of
every process either way (this one, the pool's workers, the cluster's scheduler,
nannies and workers: ``psutil``, which distributed requires) and their ratio (issue
27: Dask within 1.3x of the local pool's CPU on the same cores). The two take turns,
``--repeat`` times each (a shared machine's other work then falls on both alike), and each is
given its fastest run and its least CPU time. The cluster's workers start as the README starts
them, with ``--preload grader.batch.cluster_worker`` (their check processes' fork server loads
grader when they start, not in a run). A trivial class
(every answer missing: no check, only reading, sending and writing) shows the
overhead alone. Dask pays off when the cluster has more cores than this machine.
"""

from __future__ import annotations

import argparse
import os
import platform
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


def tree_cpu() -> float:
    """CPU seconds of this process and every process under it, alive or reaped (a process's
    children's times count once they are reaped, by it or by a live descendant)."""
    import psutil

    me = psutil.Process()
    total = 0.0
    for process in [me, *me.children(recursive=True)]:
        try:
            times = process.cpu_times()
        except psutil.Error:  # ended since it was listed: counted by whoever reaps it
            continue
        total += times.user + times.system + times.children_user + times.children_system
    return total


def timed(problem_file: Path, root: Path, out: Path, executor: Executor) -> tuple[float, float]:
    """(wall seconds, CPU seconds of every process) of one run into an empty ``out``."""
    spec = load_problem_set(problem_file)
    shutil.rmtree(out, ignore_errors=True)
    cpu_before, started = tree_cpu(), time.perf_counter()
    run_batch(spec, root, submission_folders(root), BatchOptions(out=out, use_cache=False, executor=executor))
    return time.perf_counter() - started, tree_cpu() - cpu_before


def by_turns(
    problem_file: Path, root: Path, out: Path, executors: tuple[Executor, Executor], repeat: int
) -> list[tuple[float, float]]:
    """For each executor, the least wall seconds and the least CPU seconds of ``repeat`` runs,
    the executors taking turns."""
    best = [(float("inf"), float("inf")) for _ in executors]
    for _ in range(repeat):
        for index, executor in enumerate(executors):
            wall, cpu = timed(problem_file, root, out, executor)
            best[index] = (min(best[index][0], wall), min(best[index][1], cpu))
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
    parser.add_argument("--repeat", type=int, default=3, help="runs of each executor, by turns")
    parser.add_argument("--variety", action="store_true", help="a class that repeats little (make_class.py)")
    args = parser.parse_args()
    import dask
    from distributed import LocalCluster

    work = Path(tempfile.mkdtemp(prefix="grader-bench-dask-"))
    try:
        problem_file, root = make_class(work / "class", args.sheets, seed=args.sheets, variety=args.variety)
        blank_class(work / "blank", args.sheets)
        print(
            f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, load average "
            f"{os.getloadavg()[0]:.1f}; {args.sheets} sheets; {args.workers} workers either way"
        )
        with dask.config.set({"distributed.scheduler.allowed-failures": 1}):
            cluster = LocalCluster(
                n_workers=args.workers,
                threads_per_worker=1,
                processes=True,
                dashboard_address=":0",
                silence_logs=50,
                # As the README starts workers: each one's check processes forked from a fork
                # server that loaded grader when the worker started, not in the run measured.
                preload=["grader.batch.cluster_worker"],
            )
        with cluster:
            dask_executor = DaskExecutor(cluster.scheduler_address)
            for name, classroot in (("synthetic class", root), ("all answers missing", work / "blank")):
                executors = (LocalExecutor(args.workers), dask_executor)
                (local, local_cpu), (on_dask, dask_cpu) = by_turns(
                    problem_file, classroot, work / "out", executors, args.repeat
                )
                overhead_ms = (on_dask - local) / args.sheets * 1000
                print(
                    f"{name:>20}: local pool {args.sheets / local:6.1f} sheets/s ({local:5.1f} s), "
                    f"Dask {args.sheets / on_dask:6.1f} sheets/s ({on_dask:5.1f} s); "
                    f"Dask adds {overhead_ms:+.1f} ms per submission"
                )
                print(
                    f"{'':>20}  CPU of every process: local pool {local_cpu:5.1f} s, Dask {dask_cpu:5.1f} s: "
                    f"x{dask_cpu / local_cpu:.2f} (goal: at most x1.3)"
                )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
