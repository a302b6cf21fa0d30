"""The sandbox work of a code part alone: ``runs.prepare`` (the references on the answer's
trials, then the student's code) for N students of the shipped set's six PyTorch parts.

    python benchmarks/bench_code_prepare.py [--students 6]

Each student's answer is the reference under a comment of its own, so every student
draws a trial set of its own (a grading secret is installed, as ``grader grade`` does).
Run it in a cpuacct cgroup to count its sandboxes' CPU too (bench_code.py does so for a
whole class); it prints its own wall time. ``GRADER_COLD_SANDBOX=1``: as before issue 59.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from grader.core.drawing import drawing_with
from grader.loading import load_problem_set
from grader.types.code import runs

CIFAR = Path(__file__).resolve().parent.parent / "problems" / "approximation-backprop-cifar.yaml"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--students", type=int, default=6)
    options = parser.parse_args()
    parts = [part for _, _, part in load_problem_set(CIFAR).iter_parts() if part.type == "code"]
    started = time.perf_counter()
    with drawing_with(b"bench secret"):
        for number in range(options.students):
            runs.prepare([(part, f"# student {number}\n" + part.answer) for part in parts])
    print(f"{options.students} students: {time.perf_counter() - started:.1f} s wall")


if __name__ == "__main__":
    main()
