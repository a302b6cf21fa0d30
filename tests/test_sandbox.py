"""The code sandbox as it is deployed, attacked from inside by a job: every writable mount
has a size, the root is read-only, a job's memory is bounded by the kernel where the machine
offers a memory cgroup, and no job reaches the runner (its pipes, its memory, its records).

These tests run as whoever runs pytest (root in CI) and again as an unprivileged user
(tests/test_sandbox_unprivileged.py), the ``User=grader`` of docs/service.md: there
bubblewrap works in a user namespace, where the job runs as the runner's own user.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from code_support import needs_sandbox

from grader.types.code import runs
from grader.types.code.cgroups import cgroup_parent
from grader.types.code.part import CodePart
from grader.types.code.sandbox import SHM_BYTES, TMP_BYTES
from grader.types.code.source import program

ROOT = Path(__file__).parent.parent
MIB = 1 << 20


def _part(memory_limit: int = 256, time_limit: float = 10.0) -> CodePart:
    return CodePart.model_validate(
        {
            "id": "p",
            "type": "code",
            "entry": "f",
            "inputs": {"x": {"shape": [2]}},
            "trials": 1,
            "answer": "def f(x):\n    return x\n",
            "time_limit": time_limit,
            "memory_limit": memory_limit,
        }
    )


# A job's findings come back as its output: the JSON of a dict, as an array of bytes.
REPORT = """
import json as _json
import numpy as _np

def _report(found):
    return _np.frombuffer(_json.dumps(found).encode(), dtype=_np.uint8)
"""


def _record(code: str, part: CodePart | None = None) -> dict[str, Any]:
    part = part or _part()
    job = runs.build_job(part, program(part, REPORT + textwrap.dedent(code)), part.seed)
    return runs.results([job])[job["id"]]


def _findings(record: dict[str, Any]) -> dict[str, Any]:
    assert "result" in record and record["result"].get("trials"), record
    data = record["result"]["trials"][0]["output"]["data"]
    found: dict[str, Any] = json.loads(bytes(int(byte) for byte in data).decode())
    return found


WRITE = """
import errno, os

def _fill(folder, files=40, size=8 << 20):
    written = 0
    for number in range(files):
        try:
            with open(os.path.join(folder, f"fill-{number}"), "wb") as stream:
                stream.write(b"x" * size)
            written += size
        except OSError as exc:
            return {"written": written, "error": errno.errorcode.get(exc.errno, str(exc.errno))}
    return {"written": written, "error": None}
"""


@needs_sandbox
def test_the_root_dev_and_the_runner_are_read_only_and_every_writable_mount_is_capped() -> None:
    found = _findings(
        _record(
            WRITE
            + """
def f(x):
    return _report({folder: _fill(folder, files=2) for folder in ("/", "/dev", "/sandbox", "/usr")}
                   | {folder: _fill(folder) for folder in ("/tmp", "/dev/shm")})
"""
        )
    )
    for folder in ("/", "/dev", "/sandbox", "/usr"):
        assert found[folder] == {"written": 0, "error": "EROFS"}, (folder, found)
    # 320 MiB asked of each: each stops at its size, with the disk full
    assert found["/tmp"]["error"] == "ENOSPC" and found["/tmp"]["written"] <= TMP_BYTES, found
    assert found["/dev/shm"]["error"] == "ENOSPC" and found["/dev/shm"]["written"] <= SHM_BYTES, found


@needs_sandbox
def test_a_job_cannot_mount_a_tmpfs_of_no_size_of_its_own() -> None:
    """In a user namespace of its own, a job could mount a tmpfs and fill the host's memory:
    unprivileged, bubblewrap refuses it nested user namespaces; as root, the sandbox's
    memory cgroup bounds what the tmpfs holds."""
    if os.geteuid() == 0 and cgroup_parent() is None:
        pytest.skip("as root without a memory cgroup, a job's own tmpfs is bounded by nothing")
    record = _record(
        WRITE
        + """
import ctypes

def f(x):
    libc = ctypes.CDLL(None, use_errno=True)
    uid, gid = os.getuid(), os.getgid()
    libc.prctl(4, 1, 0, 0, 0)  # PR_SET_DUMPABLE: its own /proc/self/uid_map writable again
    if libc.unshare(0x10000000 | 0x00020000) != 0:  # CLONE_NEWUSER | CLONE_NEWNS
        return _report({"unshare": os.strerror(ctypes.get_errno())})
    for name, text in (("uid_map", f"0 {uid} 1"), ("setgroups", "deny"), ("gid_map", f"0 {gid} 1")):
        with open(f"/proc/self/{name}", "w") as stream:
            stream.write(text)
    os.makedirs("/tmp/mine", exist_ok=True)
    if libc.mount(b"tmpfs", b"/tmp/mine", b"tmpfs", 0, None) != 0:
        return _report({"mount": os.strerror(ctypes.get_errno())})
    return _report(_fill("/tmp/mine", files=64))
""",
        _part(memory_limit=64),
    )
    if "result" in record:
        found = _findings(record)
        assert found.get("written", 0) < 512 * MIB, found
    else:  # the kernel killed the job when its cgroup was full
        assert record.get("killed"), record


@needs_sandbox
def test_a_jobs_processes_together_are_bounded_by_its_memory_cgroup() -> None:
    """Each process is held to the part's memory limit (RLIMIT_AS); together, by the cgroup:
    six processes of 200 MiB under a 256 MiB limit do not all live."""
    if cgroup_parent() is None:
        pytest.skip(
            "no memory cgroup here: grader may not make one (root, cgroup v2 delegation, or "
            "GRADER_SANDBOX_CGROUP; docs/service.md)"
        )
    found = _findings(
        _record(
            """
import os, time

def f(x):
    children = []
    for _ in range(6):
        pid = os.fork()
        if pid == 0:
            try:
                block = bytearray(200 << 20)
                for index in range(0, len(block), 4096):
                    block[index] = 1
                time.sleep(0.5)
            finally:
                os._exit(0)
        children.append(pid)
    lived = 0
    for pid in children:
        _, status = os.waitpid(pid, 0)
        lived += os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
    return _report({"lived": lived})
"""
        )
    )
    assert found["lived"] < 6, found


FORGE = """
import json, os, signal

def f(x):
    opened = []
    for pid in [entry for entry in os.listdir("/proc") if entry.isdigit()]:
        if int(pid) == os.getpid():
            continue
        for name in ("mem", "environ", "fd/0", "fd/1", "fd/2", "fd/3", "fd/4"):
            try:
                fd = os.open(f"/proc/{pid}/{name}", os.O_RDWR if name.startswith("fd/") else os.O_RDONLY)
            except OSError:
                continue
            opened.append(f"{pid}/{name}")
            if name.startswith("fd/"):
                for job in JOBS:  # a record for the job after this one
                    output = {"dtype": "float64", "shape": [2], "data": [42.0, 42.0]}
                    forged = {"job": job, "result": {"trials": [{"output": output}]}}
                    try:
                        os.write(fd, (json.dumps(forged) + "\\n").encode())
                    except OSError:
                        pass
            os.close(fd)
    for pid in (1, os.getppid()):  # and the runner stopped, so that no true record follows
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    return _report({"opened": opened})
"""


@needs_sandbox
def test_a_job_cannot_reach_the_runner_or_forge_another_jobs_record() -> None:
    part = _part()
    honest = runs.build_job(part, program(part, "def f(x):\n    return 3 * x\n"), part.seed)
    # the hostile job knows the honest job's id: ids are digests of what a job runs
    hostile = runs.build_job(
        part, program(part, REPORT + FORGE.replace("JOBS", json.dumps([honest["id"]]))), part.seed
    )
    found = runs.results([hostile, honest])
    assert found[honest["id"]]["result"]["trials"][0]["output"]["data"] == [
        3 * value for value in honest["trials"][0]["x"]["data"]
    ]
    assert _findings(found[hostile["id"]]) == {"opened": []}


@needs_sandbox
def test_a_grader_in_a_virtualenv_under_tmp_runs_code_parts(tmp_path: Path) -> None:
    """The virtualenv (its own interpreter, copied, and its site-packages) lies under /tmp,
    where the sandbox has its private /tmp: what the runner needs is bound over it."""
    assert str(tmp_path).startswith("/tmp/")
    venv = tmp_path / "venv"
    subprocess.run(
        [sys.executable, "-m", "venv", "--copies", "--system-site-packages", "--without-pip", str(venv)],
        check=True,
    )
    python = venv / "bin" / "python"
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert site.startswith(str(venv))
    (Path(site) / "venvonly.py").write_text("TIMES = 3\n", encoding="utf-8")
    problems = tmp_path / "problems.yaml"
    problems.write_text(
        textwrap.dedent(
            """\
            assignment: venv
            questions:
              - id: triple
                type: code
                entry: triple
                inputs: {x: {shape: [3]}}
                answer: |
                  import venvonly
                  def triple(x):
                      return venvonly.TIMES * x
            """
        ),
        encoding="utf-8",
    )
    environment = {**os.environ, "PYTHONPATH": str(ROOT)}
    validated = subprocess.run(
        [str(python), "-m", "grader.cli", "validate", str(problems)],
        capture_output=True,
        text=True,
        env=environment,
        timeout=300,
        check=False,
    )
    assert validated.returncode == 0, validated.stdout + validated.stderr


CAPABILITIES = """
import os

def f(x):
    status = dict(line.split(":", 1) for line in open("/proc/self/status") if ":" in line)
    found = {key: status[key].strip() for key in ("CapPrm", "CapEff", "CapAmb", "NoNewPrivs")}
    found["pids"] = sorted(int(entry) for entry in os.listdir("/proc") if entry.isdigit())
    return _report(found)
"""


@needs_sandbox
def test_a_job_holds_no_capability_of_its_runner() -> None:
    """As root the runner keeps CAP_SETUID, CAP_SETGID and CAP_KILL (to drop each job to its
    user and stop it at its wall clock); the job itself holds none, can gain none (no new
    privileges), and sees no process outside its sandbox to signal."""
    found = _findings(_record(CAPABILITIES))
    assert {key: int(found[key], 16) for key in ("CapPrm", "CapEff", "CapAmb")} == {
        "CapPrm": 0,
        "CapEff": 0,
        "CapAmb": 0,
    }
    assert found["NoNewPrivs"] == "1"
    assert max(found["pids"]) < 16  # its own PID namespace: the runner, the job and what it started
