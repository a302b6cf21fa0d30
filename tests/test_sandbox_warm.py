"""The warm sandbox (grader.types.code.warm): one template per grading process, a fresh
principal per request. A job of one principal reaches neither the template nor another
principal: no process of theirs to see, signal or trace, no file of theirs, and nothing it
starts outlives its principal. Run as root and again as an unprivileged user
(tests/test_sandbox_unprivileged.py).
"""

from __future__ import annotations

import json
import os
import textwrap
import time
from pathlib import Path
from typing import Any

from code_support import needs_sandbox

from grader.types.code import runs, warm
from grader.types.code.part import CodePart
from grader.types.code.source import program

REPORT = """
import json as _json
import numpy as _np

def _report(found):
    return _np.frombuffer(_json.dumps(found).encode(), dtype=_np.uint8)
"""


def _part(marker: str) -> CodePart:
    return CodePart.model_validate(
        {
            "id": "p",
            "type": "code",
            "entry": "f",
            "inputs": {"x": {"shape": [2]}},
            "cases": [{"x": [1.0, 2.0]}],
            "trials": 0,
            "answer": "def f(x):\n    return x\n",
            "time_limit": 10.0,
            # a marker in the part makes every job new: never a remembered record
            "given": f"MARKER = {marker!r}\n",
        }
    )


def _findings(code: str, marker: str) -> dict[str, Any]:
    part = _part(marker)
    job = runs.build_job(part, program(part, REPORT + textwrap.dedent(code)), part.seed)
    record = runs.results([job])[job["id"]]
    assert "result" in record and record["result"].get("trials"), record
    data = record["result"]["trials"][0]["output"]["data"]
    found: dict[str, Any] = json.loads(bytes(int(byte) for byte in data).decode())
    return found


def _template_pid() -> int:
    sandbox = warm._sandbox
    assert sandbox is not None and sandbox.alive(), warm.warm_problem()
    return sandbox.process.pid


LEAVE_BEHIND = """
import ctypes, os, time

def f(x):
    for folder in ("/tmp", "/dev/shm"):
        with open(os.path.join(folder, "left-behind"), "w") as stream:
            stream.write("secret of the first principal")
    libc = ctypes.CDLL(None, use_errno=True)
    segment = libc.shmget(0x5EC, 4096, 0o1666)  # IPC_CREAT, readable by all
    if os.fork() == 0:  # a process that would outlive its job, under a name to look for
        os.setsid()
        libc.prctl(15, MARKER.encode(), 0, 0, 0)  # PR_SET_NAME
        time.sleep(600)
        os._exit(0)
    time.sleep(0.2)
    return _report({"uid": os.getuid(), "segment": segment})
"""

LOOK_AROUND = """
import ctypes, errno, os, signal

def f(x):
    libc = ctypes.CDLL(None, use_errno=True)
    found = {"uid": os.getuid()}
    found["files"] = [path for path in ("/tmp/left-behind", "/dev/shm/left-behind") if os.path.exists(path)]
    found["segment"] = libc.shmget(0x5EC, 0, 0)
    found["pids"] = sorted(int(entry) for entry in os.listdir("/proc") if entry.isdigit())
    names = []
    for pid in found["pids"]:
        try:
            names.append(open(f"/proc/{pid}/comm").read().strip())
        except OSError:
            pass
    found["names"] = names
    traced = []
    for pid in found["pids"]:
        if pid != os.getpid() and libc.ptrace(16, pid, 0, 0) == 0:  # PTRACE_ATTACH
            traced.append(pid)
    found["traced"] = traced
    reached = []
    for pid in range(1, 4096):  # every number a process of the template or a sibling might have
        if pid == os.getpid():
            continue
        try:
            os.kill(pid, 0)
            reached.append(pid)
        except OSError:
            pass
    found["reached"] = reached
    try:
        os.kill(-1, signal.SIGKILL)  # spares the caller and its init: nothing else is in reach
    except OSError as exc:
        found["kill_all"] = errno.errorcode.get(exc.errno, str(exc.errno))
    return _report(found)
"""


def _host_processes_named(name: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == name[:15]:
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


@needs_sandbox
def test_a_principal_reaches_neither_the_template_nor_a_principal_before_it() -> None:
    marker = f"warm{os.getpid() % 100000}"
    first = _findings(LEAVE_BEHIND, marker)
    template = _template_pid()
    assert first["segment"] >= 0, first
    # nothing the first principal started outlives it
    deadline = time.monotonic() + 5
    while _host_processes_named(marker) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _host_processes_named(marker) == []
    second = _findings(LOOK_AROUND, marker + "b")
    assert _template_pid() == template  # the same warm sandbox ran both
    assert second["files"] == [] and second["segment"] == -1, second
    # its own PID namespace: its init (the principal's runner) and itself, nothing else
    assert second["pids"] == [1, second["pids"][-1]] and marker not in second["names"], second
    assert second["traced"] == [], second
    assert second["reached"] in ([], [1]), second  # at most its own init, which ignores signals
    assert second["kill_all"] == "ESRCH", second
    if os.geteuid() == 0:  # each principal's jobs run as a user of their own
        assert second["uid"] != first["uid"] and first["uid"] != 0, (first, second)
    # the template lived through it all and runs the next request
    assert _findings("def f(x):\n    return _report({'ok': True})\n", marker + "c") == {"ok": True}
    assert _template_pid() == template


TEMPLATE_REACH = """
import os

def f(x):
    found = {}
    status = dict(line.split(":", 1) for line in open("/proc/self/status") if ":" in line)
    found["bounding"] = int(status["CapBnd"].strip(), 16)
    found["effective"] = int(status["CapEff"].strip(), 16)
    found["init_fds"] = []
    for number in range(0, 16):
        try:
            os.close(os.open(f"/proc/1/fd/{number}", os.O_RDONLY))
            found["init_fds"].append(number)
        except OSError:
            pass
    mounts = [line.split()[1] for line in open("/proc/self/mounts")]
    found["mounts"] = mounts
    return _report(found)
"""


@needs_sandbox
def test_a_job_holds_no_capability_the_template_kept_and_no_descriptor_of_its_runner() -> None:
    """The template holds CAP_SYS_ADMIN (to give each principal its own mounts); a job holds
    nothing, can gain nothing back (bounding set: at most the runner's three), and opens
    none of its runner's descriptors."""
    found = _findings(TEMPLATE_REACH, f"caps{os.getpid()}")
    assert found["effective"] == 0, found
    assert found["bounding"] & ~((1 << 5) | (1 << 6) | (1 << 7)) == 0, found
    assert found["init_fds"] == [], found
    for private in ("/proc", "/tmp", "/dev/shm"):
        assert private in found["mounts"], found


@needs_sandbox
def test_requests_run_warm_and_cold_alike() -> None:
    """The same job gives the same record warm and cold (GRADER_COLD_SANDBOX=1)."""
    code = "def f(x):\n    return _report({'sum': float(x.sum()), 'uid0': os.getuid() == 0})\nimport os\n"
    warm_found = _findings(code, "alike-warm")
    assert warm.warm_problem() is None
    os.environ[warm.COLD_ENVIRONMENT] = "1"
    try:
        cold_found = _findings(code, "alike-cold")
    finally:
        del os.environ[warm.COLD_ENVIRONMENT]
    assert warm_found == cold_found == {"sum": 3.0, "uid0": False}


MEMORY_SCAN = """
import ctypes

def f(x):
    needle = bytes(c ^ 1 for c in NEEDLE)  # built at run time: no constant of this job holds it
    hits = 0
    with open("/proc/self/maps") as maps:
        for line in maps:
            fields = line.split()
            if "rw" not in fields[1] or (len(fields) > 5 and fields[5].startswith("/")):
                continue
            low, high = (int(v, 16) for v in fields[0].split("-"))
            if high - low <= (256 << 20):
                hits += ctypes.string_at(low, high - low).count(needle)
    return _report({"hits": hits})
"""


@needs_sandbox
def test_a_job_finds_no_text_of_an_earlier_request_in_its_memory() -> None:
    """The template never reads a request's jobs (its principal does): a reference's source,
    or another student's, is never in the memory a later principal is forked with."""
    secret = "REFSECRET_q9Zt4Lw"
    part = _part("reference-before")
    reference = "def f(x):\n    # " + f"{secret} " * 40 + "\n    return x * 2\n"
    job = runs.build_job(part, program(part, reference, reference=True), part.seed)
    assert "trials" in runs.results([job])[job["id"]]["result"]
    coded = bytes(c ^ 1 for c in secret.encode())
    found = _findings(f"NEEDLE = {coded!r}\n" + MEMORY_SCAN, "student-after")
    assert found["hits"] <= 1, found  # its own needle only, never the reference's text


def test_a_principal_reads_its_jobs_line_in_blocks_and_nothing_past_it() -> None:
    """The head gives the jobs line's length: the principal reads exactly that many bytes, in
    blocks (a byte at a time, a 300 KB line cost 300,000 reads), and leaves what follows (the
    next request's head, the template's) in the pipe; a length past the limit is refused."""
    import threading

    import pytest

    from grader.types.code import runner

    jobs = ('{"jobs": [' + ", ".join(['{"x": "' + "y" * 1000 + '"}'] * 300) + "]}\n").encode()
    following = b'{"id": 2}\n'
    read_end, write_end = os.pipe()
    sending = threading.Thread(target=runner._write_all, args=(write_end, jobs + following))
    sending.start()
    try:
        assert runner._read_exactly(read_end, len(jobs)) == jobs
        sending.join(10)
        assert os.read(read_end, 1 << 16) == following
    finally:
        os.close(read_end)
        os.close(write_end)
    with pytest.raises(ValueError):
        runner._read_exactly(0, runner.MAX_REQUEST_BYTES + 1)
