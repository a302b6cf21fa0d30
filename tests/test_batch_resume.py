"""A batch killed with SIGKILL mid-run, started again: it picks up where it stopped, cleans the
temporary files left behind, and ends with the same files as a run never interrupted."""

from __future__ import annotations

import importlib.util
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from grader.batch.store import STORE_FILE

# Batches of 150 sheets through the CLI in subprocesses, stopped and run again: a minute or
# more on 2 cores. CI runs them (the whole suite); `pytest -m "not slow"` leaves them out.
pytestmark = pytest.mark.slow

ROOT = Path(__file__).parent.parent
SHEETS = 150


def _make_class(out: Path) -> tuple[Path, Path]:
    spec = importlib.util.spec_from_file_location("make_class", ROOT / "benchmarks" / "make_class.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    problem_file, class_folder = module.make_class(out, SHEETS, seed=11, parts=24)
    return Path(problem_file), Path(class_folder)


def _command(problem_file: Path, class_folder: Path, out: Path, *extra: str) -> list[str]:
    grade = ["grade", str(class_folder), "-p", str(problem_file), "--out", str(out), "--jobs", "2"]
    return [sys.executable, "-m", "grader.cli", *grade, *extra]


def _files(out: Path) -> dict[str, bytes]:
    return {
        p.name: p.read_bytes()
        for p in sorted(out.iterdir())
        if p.is_file() and not p.name.startswith(STORE_FILE)
    }


def _kill_when_some_are_written(command: list[str], out: Path, wanted: int) -> int:
    """Start the command, SIGKILL it and its workers once ``wanted`` reports exist; how many did."""
    process = subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    deadline = time.monotonic() + 300
    try:
        while time.monotonic() < deadline and process.poll() is None:
            if out.is_dir() and len(list(out.glob("*.json"))) >= wanted:
                break
            time.sleep(0.02)
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    return len(list(out.glob("*.json")))


def test_a_batch_killed_mid_run_resumes_and_ends_as_a_clean_run(tmp_path: Path) -> None:
    problem_file, class_folder = _make_class(tmp_path / "synthetic")
    out = tmp_path / "out"
    finished = _kill_when_some_are_written(_command(problem_file, class_folder, out, "-q"), out, wanted=40)
    assert 40 <= finished < SHEETS, "the run was killed mid-batch"
    leftover = out / ".student-00003.json.x1y2z3w4.tmp"
    leftover.write_text('{"half": ')

    resumed = subprocess.run(
        _command(problem_file, class_folder, out), cwd=ROOT, capture_output=True, text=True, timeout=600
    )
    assert resumed.returncode in (0, 1), resumed.stderr
    regraded = int(re.search(r"\((\d+) graded, (\d+) unchanged from the store", resumed.stderr).group(1))
    assert regraded < SHEETS, "finished students are taken from the store"
    removed = re.search(r"removed (\d+) files left by an interrupted run", resumed.stderr)
    assert removed is not None and int(removed.group(1)) >= 1  # ours, and any the kill left
    assert not list(out.glob(".*.tmp"))

    clean = tmp_path / "clean"
    done = subprocess.run(
        _command(problem_file, class_folder, clean, "-q", "--no-cache"), cwd=ROOT, timeout=600
    )
    assert done.returncode in (0, 1)
    assert _files(out) == _files(clean)


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "Ctrl-C"])
def test_a_stopped_batch_says_so_in_one_line_ends_its_workers_and_keeps_what_it_finished(
    tmp_path: Path, stop: signal.Signals
) -> None:
    """A CI job cancelled (SIGTERM to the job's processes) or Ctrl-C at a terminal (SIGINT to
    the foreground group): the command stops its workers, keeps every finished student and
    says so; the exit code is the shell's for a command that signal ended (128 + its number)."""
    problem_file, class_folder = _make_class(tmp_path / "synthetic")
    out = tmp_path / "out"
    process = subprocess.Popen(
        _command(problem_file, class_folder, out, "-q"),
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and len(list(out.glob("*.json"))) < 70 and process.poll() is None:
        time.sleep(0.02)
    os.killpg(process.pid, stop)
    _, stderr = process.communicate(timeout=60)
    finished = len(list(out.glob("*.json")))
    assert finished < SHEETS, "the run was stopped mid-batch"
    assert process.returncode == 128 + stop, stderr
    said = [line for line in stderr.splitlines() if line.strip()]
    assert said == [
        f"stopped ({stop.name}): every submission finished so far is kept, and running the same "
        "command again grades the rest"
    ]
    time.sleep(0.5)
    left = subprocess.run(["ps", "-o", "pid=,stat=", "-g", str(process.pid)], capture_output=True, text=True)
    assert [line for line in left.stdout.splitlines() if not line.split()[1].startswith("Z")] == []

    resumed = subprocess.run(
        _command(problem_file, class_folder, out), cwd=ROOT, capture_output=True, text=True, timeout=600
    )
    assert resumed.returncode in (0, 1), resumed.stderr
    counts = re.search(r"\((\d+) graded, (\d+) unchanged from the store", resumed.stderr)
    graded, kept = map(int, counts.groups())
    assert kept > 0 and graded + kept == SHEETS  # reports written but not yet stored are graded again
