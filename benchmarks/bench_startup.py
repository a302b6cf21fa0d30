"""Start-up of the commands run most: `grader --help`, `grader check` of a shipped seed, and the
service's commands a TA runs by the hundred (`grader users add` of one user, `grader users list`,
`grader serve --help`) on a course made in a temporary folder.

    python benchmarks/bench_startup.py [--runs N] [--problems P --submission S]

Prints the median and the best of N fresh interpreters (after one run that writes Python's
bytecode cache; PYTHONDONTWRITEBYTECODE is removed from their environment) for:

- ``grader --help``;
- ``grader check`` up to its first check: from starting the interpreter to the engine's
  ``grade`` being called (the commands imported, the problem set and the submission read);
- the whole ``grader check`` (importing the checkers, checking, printing);
- ``grader users add COURSE NAME`` (a new name each run), ``grader users list COURSE`` and
  ``grader serve --help``: the database alone is opened, never a whole service.

Wall-clock time, with the CPU time (user + system) of the same runs beside it: on a machine
shared with other work, the CPU time moves less. Targets (issues 27 and 60 item 13): the
starts, `grader --help` and the service's commands under 0.3 s of CPU.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PROBLEMS = ROOT / "problems" / "activations-softmax-conv.yaml"
SUBMISSION = ROOT / "submissions" / "activations-softmax-conv" / "seed-001"

RUN_CLI = "import sys\nfrom grader.cli import main\nmain(sys.argv[1:])\n"
# The command until the engine is asked to grade: then the time since the parent started it.
UNTIL_FIRST_CHECK = (
    "import os, sys, time\n"
    "import grader.engine\n"
    "def stop(*args, **kwargs):\n"
    "    print(time.time(), flush=True)\n"
    "    os._exit(0)\n"
    "grader.engine.grade = stop\n" + RUN_CLI
)


def _environment() -> dict[str, str]:
    environment = dict(os.environ)
    environment.pop("PYTHONDONTWRITEBYTECODE", None)
    environment["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), environment.get("PYTHONPATH")]))
    return environment


Args = list[str] | Callable[[int], list[str]]  # the same each run, or the run's own (a new user)


def _run(script: str, args: list[str], until_printed: bool) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one fresh interpreter running ``script``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started, start_epoch = time.perf_counter(), time.time()
    done = subprocess.run(
        [sys.executable, "-c", script, *args], env=_environment(), capture_output=True, text=True
    )
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    if until_printed:
        if done.returncode != 0:
            raise SystemExit(f"the command failed before its first check:\n{done.stderr}")
        wall = float(done.stdout.split()[-1]) - start_epoch
    return wall, cpu


def measure(name: str, script: str, args: Args, runs: int, until_printed: bool = False) -> None:
    given = args if callable(args) else lambda _: args
    _run(script, given(-1), until_printed)  # writes the bytecode cache
    times = [_run(script, given(run), until_printed) for run in range(runs)]
    walls, cpus = [wall for wall, _ in times], [cpu for _, cpu in times]
    print(
        f"{name:<34} median {statistics.median(walls):.3f} s  best {min(walls):.3f} s"
        f"   (CPU median {statistics.median(cpus):.3f} s, best {min(cpus):.3f} s)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--problems", type=Path, default=PROBLEMS)
    parser.add_argument("--submission", type=Path, default=SUBMISSION)
    options = parser.parse_args()
    check = ["check", str(options.submission), "-p", str(options.problems)]
    print(f"{options.runs} runs each; {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}")
    measure("python alone (the machine's floor)", "pass", [], options.runs)
    measure("grader --help", RUN_CLI, ["--help"], options.runs)
    measure("grader check, until its first check", UNTIL_FIRST_CHECK, check, options.runs, True)
    measure("grader check, whole", RUN_CLI, check, options.runs)
    with tempfile.TemporaryDirectory() as folder:
        course = Path(folder) / "course"
        (course / "problems").mkdir(parents=True)
        shutil.copy(options.problems, course / "problems")
        measure(
            "grader users add (one user)",
            RUN_CLI,
            lambda run: ["users", "add", str(course), f"s{run + 1}"],
            options.runs,
        )
        measure("grader users list", RUN_CLI, ["users", "list", str(course)], options.runs)
        # what a users command needs (argon2 only for a password): SQLAlchemy is most of the 0.3 s
        libraries = "import click, sqlalchemy.orm"
        measure("(their libraries alone)", libraries, [], options.runs)
        measure("(SQLAlchemy's ORM alone)", "import sqlalchemy.orm", [], options.runs)
        measure("grader serve --help", RUN_CLI, ["serve", "--help"], options.runs)


if __name__ == "__main__":
    main()
