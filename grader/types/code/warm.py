"""A warm sandbox per grading process: the frameworks imported once, a fresh principal a request.

A cold sandbox (:func:`sandbox.run_runner`) starts bubblewrap and Python and imports numpy
(and PyTorch: about 2 s of CPU) for every request. Here one bubblewrap sandbox lives as
long as the grading process: its runner (``runner.py --warm``) is a template that imports
the frameworks and never runs a job. For each request it forks a principal of new mount,
PID and IPC namespaces, with its own ``/proc``, ``/tmp`` and ``/dev/shm`` (sized as a cold
sandbox's), its own user for its jobs as root, and no capability the cold runner lacks; the
principal runs the request's jobs as a cold runner does, as its namespace's init. A job
sees no process outside its principal (not the template, not a principal before it), no
file a principal before it wrote, and holds no capability.

The sandbox's memory cgroup is set to each request's limit before it runs (the cold
sandbox's, with the frameworks the template holds). Where the warm sandbox cannot start,
or a principal cannot have its own mounts and capabilities, each request runs cold
instead (:func:`warm_problem` says why); ``GRADER_COLD_SANDBOX=1`` asks for cold always.
"""

from __future__ import annotations

import atexit
import contextlib
import itertools
import json
import os
import signal
import tempfile
import threading
import time
from typing import IO, Any

from grader.types.code.cgroups import make_group, remove_group, set_limit, working_set
from grader.types.code.sandbox import (
    JOB_UID_BASE,
    JOB_UID_SPAN,
    MAX_LINE_BYTES,
    MAX_STDOUT_BYTES,
    SANDBOX_RUNNER,
    SHM_BYTES,
    TMP_BYTES,
    RunnerOutput,
    _bwrap_arguments,
    _python,
    _records,
    isolation,
    python_roots,
    readable,
    run_runner,
    sandbox_memory,
    site_directories,
    start_sandbox,
)

COLD_ENVIRONMENT = "GRADER_COLD_SANDBOX"
START_SECONDS = 60.0  # a loaded machine starting Python and importing PyTorch
SPARE_SECONDS = 10.0  # past a request's wall clock, which the template enforces itself
PRINCIPALS = 16  # users a grading process's principals take in turn (as root)
PRINCIPAL_BYTES = 64 << 20  # a principal's runner: what it writes of the template's pages, its buffers

_LOCK = threading.Lock()
_problem: str | None = None
_sandbox: WarmSandbox | None = None


def warm_problem() -> str | None:
    """Why requests run cold here (None: they run warm, as far as is known)."""
    if os.environ.get(COLD_ENVIRONMENT) == "1":
        return f"{COLD_ENVIRONMENT}=1"
    return _problem


def run(request: dict[str, Any], wall_seconds: float) -> RunnerOutput:
    """The runner's records for ``request``: from the warm sandbox, else (unsafe or no warm
    sandbox here) a cold one."""
    global _problem
    if isolation() != "bubblewrap" or warm_problem() is not None:
        return run_runner(request, wall_seconds)
    with _LOCK:
        for attempt in range(2):
            sandbox = _current(request["frameworks"])
            if sandbox is None:
                break
            output = sandbox.exchange(request, wall_seconds)
            if output is None:  # the principal could not be made: never again in this process
                _problem = sandbox.failure or "a principal could not have its own mounts"
                _close()
                break
            if output.records or output.timed_out or output.overflow or attempt:
                return output
            _close()  # the template ended before the request began: once more, afresh
    return run_runner(request, wall_seconds)


def _current(frameworks: list[str]) -> WarmSandbox | None:
    global _sandbox, _problem
    if _sandbox is not None and (_sandbox.owner != os.getpid() or not _sandbox.alive()):
        _close()
    if _sandbox is None:
        started = WarmSandbox(frameworks)
        if started.failure is not None:
            _problem = started.failure
            started.close()
            return None
        _sandbox = started
    return _sandbox


def _close() -> None:
    global _sandbox
    if _sandbox is not None and _sandbox.owner == os.getpid():
        _sandbox.close()
    _sandbox = None


atexit.register(_close)


class WarmSandbox:
    """One bubblewrap sandbox whose runner is a template (see the module's text)."""

    def __init__(self, frameworks: list[str]) -> None:
        self.owner = os.getpid()
        self.frameworks = sorted(set(frameworks))
        self.failure: str | None = None
        self.numbers = itertools.count()
        self.buffer = b""
        self.received = 0
        self.errors: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 (closed with the sandbox)
        self.group = make_group(sandbox_memory({"frameworks": self.frameworks, "jobs": []}))
        command = [*_bwrap_arguments(warm=True), _python(), "-I", "-S", SANDBOX_RUNNER, "--warm"]
        self.process = start_sandbox(command, self.group, self.errors)
        setting = {
            "paths": site_directories(),
            "frameworks": self.frameworks,
            "tmp_binds": [root for root in python_roots() if root.startswith("/tmp/")],
            "tmp_bytes": TMP_BYTES,
            "shm_bytes": SHM_BYTES,
        }
        if not self._send(setting):
            self.failure = f"the warm sandbox did not start ({self._diagnostics()})"
            return
        ready = self._next(time.monotonic() + START_SECONDS)
        if not isinstance(ready, dict) or "ready" not in ready:
            self.failure = f"the warm sandbox did not start ({self._diagnostics()})"

    def alive(self) -> bool:
        return self.process.poll() is None

    def exchange(self, request: dict[str, Any], wall_seconds: float) -> RunnerOutput | None:
        """Send one request, read its records until the template says it is done; None when
        the principal could not be made (then no job of it ran)."""
        loaded = sorted({*self.frameworks, *request["frameworks"]})
        if self.group is not None:
            try:
                set_limit(self.group, self._limit(request, loaded))
            except OSError as exc:
                self.failure = f"the warm sandbox's memory limit could not be set ({exc})"
                return None
        number = next(self.numbers)
        head: dict[str, Any] = {"id": number, "frameworks": request["frameworks"], "wall": wall_seconds}
        if os.geteuid() == 0:  # each principal's jobs as a user of their own
            head["uid"] = JOB_UID_BASE + ((os.getpid() * PRINCIPALS) + number % PRINCIPALS) % JOB_UID_SPAN
        texts = request.get("texts") or [json.dumps(job, allow_nan=True) for job in request["jobs"]]
        # the head, read by the template; the jobs on a line of their own, read by the principal
        jobs = '{"jobs": [' + ", ".join(texts) + "]}\n"
        head["size"] = len(jobs.encode("utf-8"))
        line = json.dumps(head, allow_nan=True) + "\n" + jobs
        output = RunnerOutput()
        if not self._send_text(line):
            output.diagnostics = self._diagnostics()
            return output
        self.frameworks = loaded
        deadline = time.monotonic() + wall_seconds + SPARE_SECONDS
        start = self.received
        while True:
            record = self._next(deadline)
            if record is None:  # the template ended, or did not answer in time
                output.timed_out = self.alive()
                output.diagnostics = self._diagnostics()
                self.close()
                return output
            if record.get("done") == number:
                return output
            if "failed" in record:
                self.failure = f"a principal could not be made ({str(record['failed'])[:200]})"
                self._next(deadline)
                return None
            if self.received - start > MAX_STDOUT_BYTES:
                output.overflow = True
                self.close()
                return output
            output.records.append(record)

    def _limit(self, request: dict[str, Any], loaded: list[str]) -> int:
        """The cgroup's limit for ``request``: a cold sandbox's for it (with the frameworks
        the template holds), and no more than what the template holds now (its page cache
        aside), the principal's own runner, its largest job, ``/tmp`` and ``/dev/shm``: a
        numpy request gains nothing from a template that imported PyTorch for another."""
        cold = sandbox_memory({**request, "frameworks": loaded})
        held = working_set(self.group) if self.group is not None else None
        if held is None:
            return cold
        job = max((job["memory_mb"] << 20 for job in request["jobs"]), default=0)
        return min(cold, held + PRINCIPAL_BYTES + job + TMP_BYTES + SHM_BYTES)

    def _send(self, message: dict[str, Any]) -> bool:
        return self._send_text(json.dumps(message, allow_nan=True) + "\n")

    def _send_text(self, line: str) -> bool:
        assert self.process.stdin is not None
        try:
            self.process.stdin.write(line.encode("utf-8"))
            self.process.stdin.flush()
        except (BrokenPipeError, OSError, ValueError):
            return False
        return True

    def _next(self, deadline: float) -> dict[str, Any] | None:
        """The next record the template writes (None: it ended, or the deadline passed)."""
        assert self.process.stdout is not None
        fd = self.process.stdout.fileno()
        while True:
            while b"\n" in self.buffer:
                line, self.buffer = self.buffer.split(b"\n", 1)
                found = _records([line])
                if found:
                    return found[0]
            left = deadline - time.monotonic()
            if left <= 0 or len(self.buffer) > MAX_LINE_BYTES:
                return None
            if not readable(fd, min(left, 1.0)):
                continue
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                return None
            self.received += len(chunk)
            self.buffer += chunk

    def _diagnostics(self) -> str:
        with contextlib.suppress(OSError, ValueError):
            self.errors.seek(0)
            return self.errors.read(2000).decode(errors="replace").strip() or "no message"
        return "no message"

    def close(self) -> None:
        with contextlib.suppress(OSError):
            os.killpg(self.process.pid, signal.SIGKILL)
        with contextlib.suppress(Exception):  # a sandbox that will not end: killed already
            self.process.wait(timeout=10)
        for stream in (self.process.stdin, self.process.stdout, self.errors):
            with contextlib.suppress(OSError):
                if stream is not None:
                    stream.close()
        if self.group is not None:
            remove_group(self.group)
            self.group = None
