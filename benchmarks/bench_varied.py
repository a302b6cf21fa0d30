"""A class graded in one process, as a warm worker grades it: the CPU of its sheets (issue 59).

    python benchmarks/make_class.py CLASS --sheets 40 --variety
    python benchmarks/bench_varied.py CLASS [--out DIR] [--profile FILE]

Grades ``CLASS/class/*`` against ``CLASS/problem-set.yaml`` with the in-process executor
(no pool, no verdict store: every answer checked), after importing every module of grader
but the service's, and so numpy, sympy, mpmath and flint (a worker imports them once), and
prints the CPU time of grading the sheets, in all and a sheet. ``--out`` keeps the files
(``diff_verdicts.py`` compares two gradings); ``--profile`` writes cProfile's statistics
and prints the count of Python function calls, which the machine's load does not move.
Old and new code are compared by running it with each on ``PYTHONPATH``, by turns.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import pkgutil
import shutil
import tempfile
import time
import warnings
from pathlib import Path


def import_grader() -> None:
    """Every module of grader but the service's (what a worker imports once, not a sheet)."""
    import grader

    warnings.filterwarnings("ignore")
    for module in pkgutil.walk_packages(grader.__path__, "grader."):
        if module.name.startswith(("grader.service", "grader.__main__")):
            continue
        with contextlib.suppress(Exception):
            importlib.import_module(module.name)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("cls", type=Path, help="a class made by make_class.py")
    parser.add_argument("--out", type=Path, help="keep the files here (default: a temporary folder)")
    parser.add_argument("--profile", type=Path, help="write cProfile's statistics here")
    args = parser.parse_args()
    import_grader()
    from grader.batch import BatchOptions, run_batch, submission_folders
    from grader.batch.executors import InProcessExecutor
    from grader.loading import load_problem_set

    out = args.out or Path(tempfile.mkdtemp(prefix="grader-varied-"))
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    spec = load_problem_set(args.cls / "problem-set.yaml")
    folders = submission_folders(args.cls / "class")
    options = BatchOptions(out=out, jobs=1, use_cache=False, executor=InProcessExecutor())
    profile = None
    if args.profile:
        import cProfile

        profile = cProfile.Profile()
        profile.enable()
    cpu, wall = time.process_time(), time.perf_counter()
    run_batch(spec, args.cls / "class", folders, options)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    if profile is not None:
        import pstats

        profile.disable()
        profile.dump_stats(args.profile)
        print(f"Python function calls: {pstats.Stats(str(args.profile)).total_calls:,}")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"{len(folders)} sheets: grading CPU {cpu:.2f} s ({cpu / len(folders) * 1000:.0f} ms a sheet), "
        f"wall {wall:.1f} s, load average {load:.1f}"
    )
    if args.out is None:
        shutil.rmtree(out, ignore_errors=True)


if __name__ == "__main__":
    main()
