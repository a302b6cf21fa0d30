"""Code answers at class scale: N students x 5 numpy code parts, graded in the sandbox.

    python benchmarks/bench_code.py [--students 500] [--jobs 2] [--torch]
    python benchmarks/bench_code.py --cifar [--students 100] [--jobs 2]
    python benchmarks/bench_code.py ... --keep DIR  (the class and its grading kept in DIR)

Builds a class whose every answer differs (a statement ``_student = N`` of its own: a
comment would not do, since answers that differ only in comments share their verdict, so
no run is shared between students), a third of them wrong, and times
``grader grade CLASS -p SET --out OUT --jobs N -q`` in a fresh process, as a TA runs it.
Each student's five parts run in one sandbox (one bubblewrap, one Python, one numpy
import, a forked child per part); the references run once per worker. ``--torch`` adds
a sixth part in PyTorch, to show what importing torch in every sandbox costs.

``--cifar``: the six PyTorch parts of ``problems/approximation-backprop-cifar.yaml``
instead, each student's answer the reference or (a third) a listed mistake, under a
statement of the student's own (so every answer is graded, on a trial set of its own).

Every run prints the CPU time grader and all its sandboxes spent (the machine may be
shared: CPU time is the figure to compare), per student and per part, with the load
average. ``GRADER_COLD_SANDBOX=1`` runs every sandbox cold, as before issue 59.

Targets: issue #24, 500 students x 5 code parts in under a minute on 2 cores; issue 59,
the six PyTorch parts under 0.6 s of CPU a student (a class of 100), a numpy part under
50 ms.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PARTS = {
    "relu_backward": (
        "{x: {shape: [b, n], choices: [-1, 0, 1, 2]}, dout: {shape: [b, n]}}",
        "def relu_backward(x, dout):\n    return dout * (x > 0)",
        "def relu_backward(x, dout):\n    return dout * (x >= 0)",
    ),
    "linear_forward": (
        "{x: {shape: [b, n]}, w: {shape: [m, n]}, c: {shape: [m]}}",
        "def linear_forward(x, w, c):\n    return x @ w.T + c",
        "def linear_forward(x, w, c):\n    return x @ w.T",
    ),
    "softmax": (
        "{z: {shape: [b, n]}}",
        "import numpy as np\n\ndef softmax(z):\n    e = np.exp(z - z.max(axis=1, keepdims=True))\n"
        "    return e / e.sum(axis=1, keepdims=True)",
        "import numpy as np\n\ndef softmax(z):\n    return np.exp(z) / np.exp(z).sum()",
    ),
    "mse_grad": (
        "{y: {shape: [b, n]}, t: {shape: [b, n]}}",
        "def mse_grad(y, t):\n    return 2 * (y - t) / y.size",
        "def mse_grad(y, t):\n    return (y - t) / y.size",
    ),
    "sgd": (
        "{w: {shape: [m, n]}, g: {shape: [m, n]}, lr: {range: [0.01, 0.5]}}",
        "def sgd(w, g, lr):\n    return w - lr * g",
        "def sgd(w, g, lr):\n    return w + lr * g",
    ),
}
TORCH_PART = (
    "{z: {shape: [b, n]}}",
    "import torch\n\ndef torch_softmax(z):\n    return torch.softmax(z, dim=1)",
    "import torch\n\ndef torch_softmax(z):\n    return torch.softmax(z, dim=0)",
)


def problem_set(with_torch: bool) -> str:
    lines = ["assignment: bench-code", "questions:"]
    parts = dict(PARTS)
    if with_torch:
        parts["torch_softmax"] = TORCH_PART
    for name, (inputs, reference, _) in parts.items():
        framework = "torch" if name.startswith("torch") else "numpy"
        body = "\n".join("      " + line for line in reference.split("\n"))
        lines += [
            f"  - id: {name}",
            "    type: code",
            f"    framework: {framework}",
            f"    entry: {name}",
            "    sizes: {b: [1, 4], n: [1, 5], m: [1, 4]}",
            f"    inputs: {inputs}",
            "    answer: |",
            body,
        ]
    return "\n".join(lines) + "\n"


def make_class(folder: Path, students: int, with_torch: bool) -> None:
    parts = dict(PARTS)
    if with_torch:
        parts["torch_softmax"] = TORCH_PART
    for number in range(students):
        name = f"student-{number:04d}"
        answers = {
            part: f"_student = {number}\n{wrong if (number + index) % 3 == 0 else right}"
            for index, (part, (_, right, wrong)) in enumerate(parts.items())
        }
        target = folder / name
        target.mkdir(parents=True)
        (target / "answers.json").write_text(json.dumps({"answers": answers}), encoding="utf-8")


CIFAR = Path(__file__).resolve().parent.parent / "problems" / "approximation-backprop-cifar.yaml"


def cifar_parts() -> dict[str, tuple[str, list[str]]]:
    """The shipped set's PyTorch code parts: id -> (reference, listed mistakes)."""
    from grader.loading import load_problem_set

    found = {}
    for part_id, _, part in load_problem_set(CIFAR).iter_parts():
        if part.type == "code" and getattr(part, "framework", "") == "torch":
            found[part_id] = (part.answer, [mistake.answer for mistake in part.mistakes])
    return found


def make_cifar_class(folder: Path, students: int) -> int:
    parts = cifar_parts()
    for number in range(students):
        name = f"student-{number:04d}"
        answers = {}
        for index, (part, (right, wrongs)) in enumerate(parts.items()):
            wrong = (number + index) % 3 == 0 and wrongs
            answers[part] = f"_student = {number}\n{wrongs[number % len(wrongs)] if wrong else right}"
        target = folder / name
        target.mkdir(parents=True)
        (target / "answers.json").write_text(json.dumps({"answers": answers}), encoding="utf-8")
    return len(parts)


CPUACCT = Path("/sys/fs/cgroup/cpuacct")


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(command: list[str]) -> tuple[int, float, float, str]:
    """Run ``command``: its exit code, wall time, and the CPU time of every process it
    started, sandboxes included, and how that was counted. A cpuacct cgroup counts them
    all (a process reaped by no one, a pool worker left to exit, is counted too); without
    one (cgroup v2, or not root), the children's resource usage counts only what was reaped."""
    group = CPUACCT / f"bench-code-{os.getpid()}"
    try:
        group.mkdir()
    except OSError:
        started, cpu = time.perf_counter(), _children_cpu()
        code = subprocess.run(command, check=False, stdout=subprocess.DEVNULL).returncode
        return code, time.perf_counter() - started, _children_cpu() - cpu, "reaped children (rusage)"
    try:
        joined = ["/bin/sh", "-c", 'echo 0 > "$0" && exec "$@"', str(group / "cgroup.procs"), *command]
        started = time.perf_counter()
        code = subprocess.run(joined, check=False, stdout=subprocess.DEVNULL).returncode
        wall = time.perf_counter() - started
        for _ in range(100):  # what the run left behind (a warm sandbox's last moments)
            if not (group / "cgroup.procs").read_text().split():
                break
            time.sleep(0.1)
        cpu = int((group / "cpuacct.usage").read_text()) / 1e9
    finally:
        with contextlib.suppress(OSError):
            group.rmdir()
    return code, wall, cpu, "every process of the run (a cpuacct cgroup)"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--students", type=int, default=500)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--torch", action="store_true", help="add a PyTorch part")
    parser.add_argument("--cifar", action="store_true", help="the shipped set's six PyTorch parts")
    parser.add_argument("--keep", type=Path, help="build the class and its out folder here and keep them")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-code-") as scratch:
        root = Path(scratch)
        if options.keep is not None:  # e.g. for benchmarks/diff_verdicts.py KEEP1/out KEEP2/out
            shutil.rmtree(options.keep, ignore_errors=True)
            options.keep.mkdir(parents=True)
            root = options.keep
        if options.cifar:
            problems = CIFAR
            parts = make_cifar_class(root / "class", options.students)
        else:
            problems = root / "set.yaml"
            problems.write_text(problem_set(options.torch), encoding="utf-8")
            make_class(root / "class", options.students, options.torch)
            parts = len(PARTS) + (1 if options.torch else 0)
        grader = [sys.executable, "-c", "from grader.cli import main; main()"]
        command = [*grader, "grade", str(root / "class"), "-p", str(problems)]
        command += ["--out", str(root / "out"), "--jobs", str(options.jobs), "-q"]
        load = os.getloadavg()[0]
        code, wall, cpu, counted = timed(command)
        if code not in (0, 1):
            raise SystemExit(f"grader exited {code}")
        statuses: dict[str, int] = {}
        for report in (root / "out").glob("student-*.json"):
            for part in json.loads(report.read_text(encoding="utf-8"))["parts"]:
                statuses[part["status"]] = statuses.get(part["status"], 0) + 1
    sandbox = "cold" if os.environ.get("GRADER_COLD_SANDBOX") == "1" else "warm"
    print(
        f"students: {options.students}, code parts each: {parts}, jobs: {options.jobs}, "
        f"sandbox: {sandbox}, exit: {code}, load average: {load:.2f} -> {os.getloadavg()[0]:.2f}"
    )
    rate, each = options.students / wall, wall / options.students * 1000
    print(f"wall: {wall:.1f} s ({rate:.1f} students/s, {each:.0f} ms each)")
    student = cpu / options.students
    print(
        f"CPU: {cpu:.1f} s ({student * 1000:.0f} ms a student, {student / parts * 1000:.0f} ms a part; "
        f"counted: {counted})"
    )
    print(f"verdicts: {dict(sorted(statuses.items()))}")


if __name__ == "__main__":
    main()
