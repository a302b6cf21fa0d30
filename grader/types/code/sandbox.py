"""Running the code runner inside bubblewrap: no network, a read-only minimal file system.

The sandbox sees only the system's ``/usr`` (and the ``/lib``, ``/bin`` links into it),
the Python installation, the environment (a virtualenv) and the site-packages grader
runs with (read-only, for numpy and PyTorch), the runner script, a private ``/proc``
and ``/dev``, and a private ``/tmp`` and ``/dev/shm``. No ``/etc``, no home, no working
directory: not the problem file, the references, the verdict store or any student's
folder. Its root and ``/dev`` are read-only; its only writable mounts, ``/tmp`` and
``/dev/shm``, have a size. It has no network, its own process, IPC and host-name
namespaces, no capabilities (as root, only the two the runner needs to drop to an
unprivileged user before any student code runs; unprivileged, a user namespace in which
no job may make another), its memory bounded by a cgroup where the machine offers one
(:mod:`cgroups`), and it is killed, with every process in it, at its wall-clock limit.

Where bubblewrap cannot run, code parts are not run at all, unless the TA passes
``--unsafe-run-code`` (``GRADER_UNSAFE_RUN_CODE=1``): the runner then runs as a
plain process, with its resource limits but no isolation.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from grader.types.code.cgroups import join_command, memory_cgroup

RUNNER = Path(__file__).with_name("runner.py")
UNSAFE_ENVIRONMENT = "GRADER_UNSAFE_RUN_CODE"
SANDBOX_RUNNER = "/sandbox/runner.py"
TMP_BYTES = 64 << 20  # the private /tmp
SHM_BYTES = 16 << 20  # the private /dev/shm (POSIX shared memory, semaphores)
# What the runner itself holds, by the frameworks it imports (numpy: 26 MiB, PyTorch 2.13:
# 218 MiB resident), with room to spare.
RUNNER_MEMORY = {"numpy": 128 << 20, "torch": 512 << 20}
MAX_STDOUT_BYTES = 64 << 20
MAX_LINE_BYTES = 16 << 20
JOB_UID_BASE, JOB_UID_SPAN = 100_000, 100_000  # users no account on the machine has
SYSTEM_DIRS = ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
_ENVIRONMENT = {
    "PATH": "/usr/bin:/bin",
    "HOME": "/tmp",
    "LANG": "C.UTF-8",
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "PYTHONHASHSEED": "0",
    "PYTHONDONTWRITEBYTECODE": "1",
}


class NoSandbox(Exception):
    """Code cannot be run here: no sandbox, and running it unsandboxed was not allowed."""


@dataclass
class RunnerOutput:
    """What came back from one runner process: its records, and how it ended."""

    records: list[dict[str, Any]] = field(default_factory=list)
    timed_out: bool = False
    overflow: bool = False
    returncode: int | None = None
    diagnostics: str = ""


def unsafe_allowed() -> bool:
    return os.environ.get(UNSAFE_ENVIRONMENT) == "1"


def allow_unsafe_run_code() -> None:
    """The TA's explicit ``--unsafe-run-code``: worker processes inherit it."""
    os.environ[UNSAFE_ENVIRONMENT] = "1"


@functools.cache
def sandbox_problem() -> str | None:
    """Why bubblewrap cannot run here (None when it can), found by starting one empty sandbox."""
    if shutil.which("bwrap") is None:
        return "bubblewrap (bwrap) is not installed"
    try:
        probe = subprocess.run(
            [*_bwrap_arguments(), "/bin/true" if Path("/bin/true").exists() else "/usr/bin/true"],
            capture_output=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        return f"bubblewrap cannot start ({exc})"
    if probe.returncode != 0:
        return f"bubblewrap cannot start ({probe.stderr.decode(errors='replace').strip()[:200]})"
    return None


def isolation() -> str:
    """How code is run here: ``bubblewrap``, ``unsafe`` (no isolation), or raises NoSandbox."""
    problem = sandbox_problem()
    if problem is None:
        return "bubblewrap"
    if unsafe_allowed():
        return "unsafe"
    raise NoSandbox(f"no sandbox on this machine: {problem}")


def run_runner(request: dict[str, Any], wall_seconds: float) -> RunnerOutput:
    """Start the runner (sandboxed unless the TA allowed otherwise), send ``request``,
    and read its records until it ends or ``wall_seconds`` pass; it is killed either way."""
    request = {key: value for key, value in request.items() if key != "texts"}
    if isolation() == "bubblewrap":
        command = [*_bwrap_arguments(), _python(), "-I", "-S", SANDBOX_RUNNER]
        request = {**request, "own_pid_namespace": True}
    else:
        command = [_python(), "-I", "-S", str(RUNNER)]
    if os.geteuid() == 0:
        # Jobs drop root to a user of this grader process alone: the process limit counts
        # only this sandbox's processes, and no job can signal another sandbox's.
        uid = JOB_UID_BASE + os.getpid() % JOB_UID_SPAN
        request = {**request, "jobs": [{**job, "uid": uid} for job in request["jobs"]]}
    payload = json.dumps(request, allow_nan=True).encode("utf-8")
    with tempfile.TemporaryFile() as errors, memory_cgroup(sandbox_memory(request)) as group:
        process = start_sandbox(command, group, errors)
        try:
            output = _exchange(process, payload, time.monotonic() + wall_seconds)
        finally:
            _kill(process)
        errors.seek(0)
        output.diagnostics = errors.read(2000).decode(errors="replace").strip()
    output.returncode = process.returncode
    return output


def start_sandbox(command: list[str], group: Path | None, errors: IO[bytes]) -> subprocess.Popen[bytes]:
    """Start a runner's ``command`` in ``group`` (a memory cgroup, or None), its standard
    input and output piped, its errors to ``errors``, in a session of its own (killed with
    it); the one place grader starts a runner, cold (:func:`run_runner`) or warm (:mod:`warm`)."""
    return subprocess.Popen(
        join_command(group, command),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=errors,
        env=_ENVIRONMENT,
        cwd="/",
        start_new_session=True,
    )


def sandbox_memory(request: dict[str, Any]) -> int:
    """What one sandbox may hold in all (its cgroup's limit): the runner with its frameworks,
    the largest job's own limit, and its full /tmp and /dev/shm."""
    runner = max(RUNNER_MEMORY.get(name, max(RUNNER_MEMORY.values())) for name in request["frameworks"])
    job = max((job["memory_mb"] << 20 for job in request["jobs"]), default=0)
    return runner + job + TMP_BYTES + SHM_BYTES


def _exchange(process: subprocess.Popen[bytes], payload: bytes, deadline: float) -> RunnerOutput:
    assert process.stdin is not None and process.stdout is not None
    try:
        process.stdin.write(payload)
        process.stdin.close()
    except (BrokenPipeError, OSError):
        pass
    output = RunnerOutput()
    buffer = b""
    size = 0
    fd = process.stdout.fileno()
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            output.timed_out = True
            break
        if not readable(fd, min(left, 1.0)):
            continue
        chunk = os.read(fd, 1 << 16)
        if not chunk:
            break
        size += len(chunk)
        if size > MAX_STDOUT_BYTES:
            output.overflow = True
            break
        buffer += chunk
        *lines, buffer = buffer.split(b"\n")
        output.records.extend(_records(lines))
        if len(buffer) > MAX_LINE_BYTES:
            output.overflow = True
            break
    return output


def _records(lines: list[bytes]) -> list[dict[str, Any]]:
    records = []
    for line in lines:
        try:
            record = json.loads(line)
        except (ValueError, RecursionError):
            continue
        if isinstance(record, dict):
            records.append(record)
    return records


def _kill(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(OSError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    if process.stdout is not None:
        process.stdout.close()


def _python() -> str:
    """The interpreter grader runs on, as a real file (a venv's python is a link)."""
    return os.path.realpath(sys.executable)


def site_directories() -> list[str]:
    """Every site-packages directory on grader's path, in its order: where the runner
    finds numpy and PyTorch (it runs with ``-I -S``, so it is told)."""
    found = []
    for entry in sys.path:
        if entry and Path(entry).name in ("site-packages", "dist-packages") and Path(entry).is_dir():
            real = os.path.realpath(entry)
            if real not in found:
                found.append(real)
    return found


def python_roots() -> list[str]:
    """The directories the sandbox needs to run Python with numpy and PyTorch: the
    installation, the environment grader runs in (a virtualenv's own interpreter and
    site-packages) and the site-packages directories."""
    roots = {os.path.realpath(sys.base_prefix), os.path.realpath(sys.prefix), *site_directories()}
    return sorted(root for root in roots if not _covered(root, roots - {root}))


def _covered(path: str, others: set[str]) -> bool:
    return path.startswith("/usr/") or any(path.startswith(other + "/") for other in others)


def _bwrap_arguments(warm: bool = False) -> list[str]:
    """bubblewrap's arguments for a sandbox; ``warm``: for a warm template (:mod:`warm`),
    which also holds what it needs to give each principal its own mounts (CAP_SYS_ADMIN)
    and to narrow its bounding set (CAP_SETPCAP); each principal drops them before any job."""
    extra = ["--cap-add", "CAP_SYS_ADMIN", "--cap-add", "CAP_SETPCAP"] if warm else []
    arguments = [
        "bwrap",
        "--unshare-pid",
        "--unshare-net",
        "--unshare-ipc",
        "--unshare-uts",
        "--unshare-cgroup-try",
        "--die-with-parent",
        "--new-session",
        "--as-pid-1",  # the runner is init: no other process holds its pipes, and no job can kill it
        "--hostname",
        "sandbox",
        # The private /tmp first: bubblewrap mounts in order, so what the runner needs from
        # under the host's /tmp (a virtualenv there) is bound over it afterwards.
        "--perms",
        "1777",
        "--size",
        str(TMP_BYTES),
        "--tmpfs",
        "/tmp",
        "--ro-bind",
        "/usr",
        "/usr",
    ]
    for directory in SYSTEM_DIRS:
        path = Path(directory)
        if path.is_symlink():
            arguments += ["--symlink", os.readlink(path), directory]
        elif path.is_dir():
            arguments += ["--ro-bind", directory, directory]
    made: set[str] = {"/", "/usr", "/tmp"}
    for root in python_roots():
        arguments += _parents(root, made)
        arguments += ["--ro-bind", root, root]
    arguments += ["--perms", "0755", "--dir", "/sandbox", "--ro-bind", str(RUNNER), SANDBOX_RUNNER]
    arguments += ["--proc", "/proc", "--dev", "/dev"]
    arguments += ["--perms", "1777", "--size", str(SHM_BYTES), "--tmpfs", "/dev/shm"]
    # Every writable mount has a size: the root and /dev (tmpfs bubblewrap makes without
    # one) are read-only, /tmp and /dev/shm capped.
    arguments += ["--remount-ro", "/dev", "--remount-ro", "/"]
    arguments += ["--chdir", "/tmp", "--cap-drop", "ALL"]
    if os.geteuid() == 0:
        # As root there is no user namespace: the runner keeps only what it needs to drop
        # each job's process to an unprivileged user, whose process count is limited, and to
        # stop that process at its wall-clock limit (a job that sleeps uses no CPU time: no
        # CPU limit ends it). CAP_KILL reaches no further than the sandbox's PID namespace.
        arguments += ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID", "--cap-add", "CAP_KILL"]
    else:
        # No nested user namespace either: in one, a job could mount a tmpfs of no size.
        arguments += ["--unshare-user", "--disable-userns"]
    return arguments + extra


def _parents(root: str, made: set[str]) -> list[str]:
    """``--dir`` for each missing parent of ``root``, world-readable (bubblewrap would make them 0700)."""
    arguments = []
    parents = list(reversed(Path(root).parents))
    for parent in parents:
        text = str(parent)
        if text not in made and not any(text.startswith(m + "/") for m in ("/usr",)):
            arguments += ["--perms", "0755", "--dir", text]
            made.add(text)
    return arguments


def readable(fd: int, seconds: float) -> bool:
    """Has ``fd`` data (or its end) within ``seconds``? poll, not select: select refuses a
    descriptor numbered 1024 or more, which a long-running grader may well hold."""
    poller = select.poll()
    poller.register(fd, select.POLLIN | select.POLLHUP | select.POLLERR)
    return bool(poller.poll(max(seconds, 0.0) * 1000))
