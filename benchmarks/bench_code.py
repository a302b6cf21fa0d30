"""Code answers at class scale: N students x 5 numpy code parts, graded in the sandbox.

    python benchmarks/bench_code.py [--students 500] [--jobs 2] [--torch]

Builds a class whose every answer text differs (a comment with the student's name, so
no run is shared between students), a third of them wrong, and times
``grader grade CLASS -p SET --out OUT --jobs N -q`` in a fresh process, as a TA runs it.
Each student's five parts run in one sandbox (one bubblewrap, one Python, one numpy
import, a forked child per part); the references run once per worker. ``--torch`` adds
a sixth part in PyTorch, to show what importing torch in every sandbox costs.

Target (issue #24): 500 students x 5 code parts in under a minute on 2 cores.
"""

from __future__ import annotations

import argparse
import json
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
            part: f"# {name}\n{wrong if (number + index) % 3 == 0 else right}"
            for index, (part, (_, right, wrong)) in enumerate(parts.items())
        }
        target = folder / name
        target.mkdir(parents=True)
        (target / "answers.json").write_text(json.dumps({"answers": answers}), encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--students", type=int, default=500)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--torch", action="store_true", help="add a PyTorch part")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-code-") as scratch:
        root = Path(scratch)
        (root / "set.yaml").write_text(problem_set(options.torch), encoding="utf-8")
        make_class(root / "class", options.students, options.torch)
        grader = [sys.executable, "-c", "from grader.cli import main; main()"]
        command = [*grader, "grade", str(root / "class"), "-p", str(root / "set.yaml")]
        command += ["--out", str(root / "out"), "--jobs", str(options.jobs), "-q"]
        started = time.perf_counter()
        code = subprocess.run(command, check=False, stdout=subprocess.DEVNULL).returncode
        wall = time.perf_counter() - started
        if code not in (0, 1):
            raise SystemExit(f"grader exited {code}")
        statuses: dict[str, int] = {}
        for report in (root / "out").glob("student-*.json"):
            for part in json.loads(report.read_text(encoding="utf-8"))["parts"]:
                statuses[part["status"]] = statuses.get(part["status"], 0) + 1
    parts = len(PARTS) + (1 if options.torch else 0)
    print(f"students: {options.students}, code parts each: {parts}, jobs: {options.jobs}, exit: {code}")
    rate, each = options.students / wall, wall / options.students * 1000
    print(f"wall: {wall:.1f} s ({rate:.1f} students/s, {each:.0f} ms each)")
    print(f"verdicts: {dict(sorted(statuses.items()))}")


if __name__ == "__main__":
    main()
