"""Batch grading figures: cold run, re-run, re-run after one part is edited, jobs 1 vs 2, memory.

    python benchmarks/bench_batch.py [--sizes 100,500,2000] [--jobs 2] [--repeat 1] [--keep DIR] [--variety]
    python benchmarks/bench_batch.py --sizes 2000 --jobs 1,2,4,8,16 [--variety]

For each size it builds the synthetic class (benchmarks/make_class.py, seeded),
then times the ``grader grade CLASS -p SET --out OUT -q`` command in a fresh
process, as a TA runs it:

* cold: an empty --out, ``--jobs N`` (plots included);
* re-run: the same command again, nothing changed (answered from the verdict store);
* one part edited: a tolerance of one part changed in the problem set, then re-run;
* ``--jobs 1`` cold, for sheets/s at 1 and N jobs and their ratio;
* peak memory: the largest resident set of any process of a run (the command or a
  worker), from ``resource.getrusage(RUSAGE_CHILDREN)`` of a wrapper process.

With --repeat R every timed run is done R times and the fastest is shown (the
machine is shared: the fastest run is the one least disturbed).

With several --jobs (``1,2,4,8,16``) it prints instead, for each size, a cold run at
each number of jobs: wall time, sheets/s, the speed-up over the first and the
efficiency (speed-up / jobs), and the CPU time of the command's own process (the
parent: planning, receiving, storing, the gradebook) beside that of all its
processes. From the run at the first number of jobs it projects the speed-up of 16
jobs on 16 cores, as the parent's CPU bounds it: the workers' CPU w and the parent's
p per sheet, 16 jobs take at least max((w + p) / 16, p) a sheet (a bound: no
start-up, no waiting, no disk), against w a sheet for one job.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from make_class import dump_yaml, make_class  # noqa: E402

from grader.core.yamlio import load_with_positions  # noqa: E402

# Runs one command and prints its wall time, and the CPU time and largest resident set
# of its process tree, as JSON; with the CPU time of the command's own process when it
# wrote it in the file BENCH_PARENT_CPU names.
_MEASURE = """
import json, os, resource, subprocess, sys, tempfile, time
with tempfile.NamedTemporaryFile(suffix=".json") as parent:
    environment = {**os.environ, "BENCH_PARENT_CPU": parent.name}
    started = time.perf_counter()
    code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, env=environment).returncode
    wall = time.perf_counter() - started
    written = open(parent.name).read()
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"code": code, "wall": wall, "cpu": usage.ru_utime + usage.ru_stime,
                  "peak_mib": usage.ru_maxrss / 1024, "parent_cpu": json.loads(written or "null")}))
"""
# `grader` itself, writing the CPU time of its own process (threads included, its worker
# processes not) into BENCH_PARENT_CPU when it exits.
_GRADER = """
import atexit, json, os, resource, sys
PARENT = os.getpid()
def _parent_cpu():
    if os.getpid() != PARENT:  # a worker forked from it
        return
    usage = resource.getrusage(resource.RUSAGE_SELF)
    with open(os.environ["BENCH_PARENT_CPU"], "w") as out:
        json.dump(usage.ru_utime + usage.ru_stime, out)
atexit.register(_parent_cpu)
from grader.cli import main
main(sys.argv[1:], prog_name="grader")
"""


def measure(command: list[str]) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, "-c", _MEASURE, *command], capture_output=True, text=True, check=True
    )
    figures: dict[str, float] = json.loads(done.stdout)
    if figures["code"] not in (0, 1):
        raise SystemExit(f"{' '.join(command)} exited {figures['code']}")
    return figures


def grade_command(problem_file: Path, class_folder: Path, out: Path, jobs: int) -> list[str]:
    return [
        sys.executable, "-c", _GRADER, "grade", str(class_folder), "-p", str(problem_file),
        "--out", str(out), "--jobs", str(jobs), "-q",
    ]  # fmt: skip


def fastest(command: list[str], repeat: int, before: object = None) -> dict[str, float]:
    """The fastest of ``repeat`` runs; ``before`` (a callable) resets the state each time."""
    runs = []
    for _ in range(repeat):
        if callable(before):
            before()
        runs.append(measure(command))
    return min(runs, key=lambda r: r["wall"])


def edit_one_part(problem_file: Path) -> None:
    """A TA loosens the tolerance of one part (the first number part)."""
    data = load_with_positions(problem_file.read_text())[0]
    for question in data["questions"]:
        for part in question.get("parts", [question]):
            if part.get("type") == "number":
                part["rtol"] = 0.01
                problem_file.write_text(dump_yaml(data))
                return
    raise SystemExit("the synthetic problem set has no number part to edit")


def bench_size(sheets: int, jobs: int, repeat: int, work: Path, variety: bool = False) -> dict[str, float]:
    problem_file, class_folder = make_class(work / f"class-{sheets}", sheets, seed=sheets, variety=variety)
    out = work / f"out-{sheets}"

    def clear() -> None:
        shutil.rmtree(out, ignore_errors=True)

    cold = fastest(grade_command(problem_file, class_folder, out, jobs), repeat, clear)
    rerun = fastest(grade_command(problem_file, class_folder, out, jobs), repeat)
    edit_one_part(problem_file)
    edited = measure(grade_command(problem_file, class_folder, out, jobs))
    single = fastest(grade_command(problem_file, class_folder, work / f"out1-{sheets}", 1), repeat,
                     lambda: shutil.rmtree(work / f"out1-{sheets}", ignore_errors=True))  # fmt: skip
    return {
        "sheets": sheets,
        "cold": cold["wall"],
        "cold_cpu": cold["cpu"],
        "rerun": rerun["wall"],
        "rerun_cpu": rerun["cpu"],
        "edited": edited["wall"],
        "edited_cpu": edited["cpu"],
        "per_s_1": sheets / single["wall"],
        "per_s_n": sheets / cold["wall"],
        "peak_mib": max(cold["peak_mib"], single["peak_mib"], rerun["peak_mib"]),
    }


def bench_jobs(sheets: int, jobs: list[int], repeat: int, work: Path, variety: bool) -> None:
    """Cold runs of one class at each number of jobs: speed-up, efficiency, the parent's CPU."""
    problem_file, class_folder = make_class(work / f"class-{sheets}", sheets, seed=sheets, variety=variety)
    out = work / f"out-{sheets}"
    runs = []
    for count in jobs:
        run = fastest(grade_command(problem_file, class_folder, out, count), repeat,
                      lambda: shutil.rmtree(out, ignore_errors=True))  # fmt: skip
        runs.append(run)
        first = runs[0]
        speedup = first["wall"] / run["wall"] * jobs[0]
        print(
            f"{sheets:>7} {count:>5} {run['wall']:>8.1f}s {sheets / run['wall']:>9.1f} {speedup:>8.2f}"
            f" {speedup / count:>10.0%} {run['cpu']:>8.1f}s {run['parent_cpu']:>8.1f}s"
            f" {run['parent_cpu'] / sheets * 1000:>12.1f}s",
            flush=True,
        )
    base = runs[0]
    parent = base["parent_cpu"] / sheets
    workers = (base["cpu"] - base["parent_cpu"]) / sheets
    bound = workers / max((workers + parent) / 16, parent)
    print(
        f"{'':>7} at {jobs[0]} job(s): workers' CPU {workers * 1000:.1f} ms a sheet, the parent's "
        f"{parent * 1000:.1f} ms a sheet; 16 jobs on 16 cores: at most x{bound:.1f} faster than 1"
    )


def machine() -> str:
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, load average {load:.1f} at the start"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="100,500,2000", help="class sizes, comma-separated")
    parser.add_argument(
        "--jobs", default="2", help="jobs of the timed runs; several (1,2,4,8,16): the speed-up table"
    )
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--keep", type=Path, help="build the classes here and keep them")
    parser.add_argument(
        "--variety", action="store_true", help="a class that repeats little (make_class.py --variety)"
    )
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="grader-bench-"))
    print(machine())
    jobs = [int(count) for count in args.jobs.split(",")]
    if len(jobs) > 1:
        print(
            f"{'sheets':>7} {'jobs':>5} {'cold':>9} {'sheets/s':>9} {'speed-up':>8} {'efficiency':>10}"
            f" {'cpu, all':>9} {'parent':>9} {'parent/1000':>13}"
        )
        started = time.perf_counter()
        try:
            for size in (int(s) for s in args.sizes.split(",")):
                bench_jobs(size, jobs, args.repeat, work, args.variety)
        finally:
            if args.keep is None:
                shutil.rmtree(work, ignore_errors=True)
        print(f"(benchmark took {time.perf_counter() - started:.0f} s; parent: the CPU of `grader` itself)")
        return
    (jobs_n,) = jobs
    header = (
        f"{'sheets':>7} {'cold':>15} {'re-run':>15} {'1 part edited':>15} "
        f"{'sheets/s j1':>12} {f'sheets/s j{jobs_n}':>12} {'ratio':>6} {'peak MiB':>9}"
    )
    print(header)
    print(f"{'':>7} {'wall / cpu':>15} {'wall / cpu':>15} {'wall / cpu':>15}")
    started = time.perf_counter()
    try:
        for size in (int(s) for s in args.sizes.split(",")):
            r = bench_size(size, jobs_n, args.repeat, work, args.variety)
            print(
                f"{r['sheets']:>7} {r['cold']:>6.1f}s/{r['cold_cpu']:>6.1f}s "
                f"{r['rerun']:>6.2f}s/{r['rerun_cpu']:>6.2f}s "
                f"{r['edited']:>6.1f}s/{r['edited_cpu']:>6.1f}s {r['per_s_1']:>12.1f} {r['per_s_n']:>12.1f} "
                f"{r['per_s_n'] / r['per_s_1']:>6.2f} {r['peak_mib']:>9.0f}",
                flush=True,
            )
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    print(f"(benchmark took {time.perf_counter() - started:.0f} s; cpu: of all processes of a run)")


if __name__ == "__main__":
    main()
