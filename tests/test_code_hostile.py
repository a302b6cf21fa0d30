"""The hostile code corpus: each student's first code part is an attack, the second an honest
answer run in the same sandbox after it. Graded as one class by the CLI with two workers:
every attack gets a verdict for its own part, the honest part is still correct, no file
outside the sandbox changes, and the run ends in bounded time."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from code_support import needs_sandbox

from grader.cli import main

TIME_LIMIT = 5.0  # generous: a loaded CI machine still finishes honest code in it

PROBLEMS = f"""
assignment: hostile-code
questions:
  - id: attack
    type: code
    entry: double
    time_limit: {TIME_LIMIT}
    memory_limit: 256
    inputs: {{x: {{shape: [3]}}}}
    answer: |
      def double(x):
          return 2 * x
  - id: honest
    type: code
    entry: square
    inputs: {{x: {{shape: [2]}}}}
    answer: |
      def square(x):
          return x * x
"""

HONEST = "def square(x):\n    return x ** 2\n"


def _attacks(tmp_path: Path) -> dict[str, tuple[str, str, str]]:
    """name -> (code, expected status, expected feedback substring)."""
    problem_file = tmp_path / "hostile.yaml"
    other_student = tmp_path / "class" / "honest-student" / "answers.json"
    outside = tmp_path / "written-from-the-sandbox"
    return {
        "infinite-loop": (
            "def double(x):\n    while True:\n        pass",
            "incorrect",  # the student's code, not the grader, ran out of time (issue 49 item 12)
            f"did not finish within {TIME_LIMIT:g} s (the part's time limit)",
        ),
        # stopped by its job's wall clock: as root the runner may signal the job's user (CAP_KILL)
        "sleep-forever": (
            "import time\ndef double(x):\n    time.sleep(10**6)",
            "incorrect",
            f"did not finish within {TIME_LIMIT:g} s",
        ),
        "fork-bomb": ("import os\ndef double(x):\n    while True:\n        os.fork()", "*", ""),
        "memory-bomb": ("def double(x):\n    return bytearray(10**10)", "incorrect", "more than 256 MiB"),
        "gigabyte-of-output": (
            "import os\ndef double(x):\n    chunk = b'x' * 2**24\n    for _ in range(64):\n"
            "        os.write(1, chunk)\n    print('y' * 2**20)\n    return 2 * x",
            "correct",
            "",
        ),
        "gigabyte-file": (
            "def double(x):\n    with open('/tmp/big', 'wb') as f:\n"
            "        for _ in range(1024):\n            f.write(b'x' * 2**20)\n    return 2 * x",
            "incorrect",
            "File too large",
        ),
        "read-etc-passwd": (
            "def double(x):\n    return len(open('/etc/passwd').read()) * x",
            "incorrect",
            "FileNotFoundError",
        ),
        "read-the-problem-file": (
            f"def double(x):\n    open({str(problem_file)!r}).read()\n    return 2 * x",
            "incorrect",
            "FileNotFoundError",
        ),
        "read-another-student": (
            f"def double(x):\n    open({str(other_student)!r}).read()\n    return 2 * x",
            "incorrect",
            "FileNotFoundError",
        ),
        "open-a-socket": (
            "import socket\ndef double(x):\n    socket.create_connection(('1.1.1.1', 80), timeout=1)\n"
            "    return 2 * x",
            "incorrect",
            "raised",
        ),
        "write-outside-tmp": (
            f"def double(x):\n    open({str(outside)!r}, 'w').write('pwned')\n    return 2 * x",
            "incorrect",
            "raised",
        ),
        "write-to-usr": (
            "def double(x):\n    open('/usr/pwned', 'w')\n    return 2 * x",
            "incorrect",
            "raised",
        ),
        "patch-numpy-allclose": (
            "import numpy\nnumpy.allclose = lambda *a, **k: True\nnumpy.isclose = lambda a, b, **k: a == a\n"
            "def double(x):\n    return 3 * x",
            "incorrect",
            "the expected",
        ),
        "pickle-bomb": (
            "import os\nclass Bomb:\n    def __reduce__(self):\n"
            "        return (os.system, ('touch /tmp/pwned',))\n"
            "def double(x):\n    return Bomb()",
            "incorrect",
            "not an array of numbers",
        ),
        # The runner is the sandbox's init: as root the job's user may not signal it, and
        # unprivileged (one user in a user namespace) a signal it does not handle is dropped.
        "kill-the-parent": (
            "import os, signal\ndef double(x):\n    os.kill(os.getppid(), signal.SIGKILL)\n    return 2 * x",
            "incorrect" if os.geteuid() == 0 else "correct",
            "PermissionError" if os.geteuid() == 0 else "",
        ),
        "kill-everything": (  # kill(-1) spares the caller and init: nothing else is in reach
            "import os, signal\ndef double(x):\n    os.kill(-1, signal.SIGKILL)\n    return 2 * x",
            "incorrect",
            "ProcessLookupError",
        ),
        "sys-exit": ("import sys\ndef double(x):\n    sys.exit(0)", "incorrect", "raised SystemExit"),
        "keyboard-interrupt": (
            "def double(x):\n    raise KeyboardInterrupt",
            "incorrect",
            "raised KeyboardInterrupt",
        ),
        "os-exit": ("import os\ndef double(x):\n    os._exit(0)", "incorrect", "ended its own process"),
        "segfault": ("import ctypes\ndef double(x):\n    return ctypes.string_at(0)", "incorrect", "killed"),
        "exit-at-import": (
            "import os\nos._exit(3)\ndef double(x):\n    return 2 * x",
            "incorrect",
            "ended its own",
        ),
    }


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any], float]:
    tmp_path = tmp_path_factory.mktemp("hostile-code")
    (tmp_path / "hostile.yaml").write_text(PROBLEMS, encoding="utf-8")
    attacks = _attacks(tmp_path)
    for name, (code, _, _) in {
        **attacks,
        "honest-student": ("def double(x):\n    return x + x", "", ""),
    }.items():
        folder = tmp_path / "class" / name
        folder.mkdir(parents=True)
        answers = {"answers": {"attack": code, "honest": HONEST}}
        (folder / "answers.json").write_text(json.dumps(answers), encoding="utf-8")
    started = time.monotonic()
    result = CliRunner().invoke(
        main,
        [
            "grade",
            str(tmp_path / "class"),
            "-p",
            str(tmp_path / "hostile.yaml"),
            "-o",
            str(tmp_path / "out"),
            "-j",
            "2",
            "-q",
        ],
    )
    elapsed = time.monotonic() - started
    assert result.exit_code == 0, result.output
    return tmp_path, attacks, elapsed


def _report(tmp_path: Path, name: str) -> dict[str, dict[str, Any]]:
    report = json.loads((tmp_path / "out" / f"{name}.json").read_text(encoding="utf-8"))
    return {part["id"]: part for part in report["parts"]}


ATTACK_NAMES = sorted(_attacks(Path("/nowhere")))


@needs_sandbox
@pytest.mark.parametrize("name", ATTACK_NAMES)
def test_an_attack_gets_a_verdict_for_its_part_and_breaks_nothing_else(
    graded: tuple[Path, dict[str, Any], float], name: str
) -> None:
    tmp_path, attacks, _ = graded
    _, status, feedback = attacks[name]
    parts = _report(tmp_path, name)
    attack = parts["attack"]
    if status == "*":
        assert attack["status"] in ("incorrect", "error"), attack
    else:
        assert attack["status"] == status, attack["feedback"]
    assert feedback in attack["feedback"]
    assert "Traceback" not in attack["feedback"]
    assert parts["honest"]["status"] == "correct", parts["honest"]["feedback"]


@needs_sandbox
def test_the_class_is_graded_in_bounded_time_and_nothing_leaks(
    graded: tuple[Path, dict[str, Any], float],
) -> None:
    tmp_path, attacks, elapsed = graded
    assert _report(tmp_path, "honest-student") == _report(tmp_path, "honest-student") | {}
    assert all(part["status"] == "correct" for part in _report(tmp_path, "honest-student").values())
    assert not (tmp_path / "written-from-the-sandbox").exists()
    assert not Path("/tmp/pwned").exists() and not Path("/usr/pwned").exists()
    # every attack may use its whole time limit (and its re-run), plus start-up for each student
    assert elapsed < len(attacks) * (4 * TIME_LIMIT + 10)
