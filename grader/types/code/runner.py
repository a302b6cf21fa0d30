"""The one place grader runs student code: a script run inside the sandbox, never imported.

It reads one request (JSON) on standard input: the import paths, the frameworks to
import, and jobs (a part's code, its entry point, its trials' inputs as plain
arrays). It imports numpy (and PyTorch when a job needs it) once, then runs each job
in a forked child: resource limits set, root dropped to an unprivileged user when it
runs as root, standard streams closed, its own process group, stopped at the job's
time limit. Each child hands back its outputs as JSON (dtype, shape, numbers) on a
pipe; this process writes one JSON line per job to its standard output. Nothing here
imports grader, and nothing that comes back is ever unpickled by anyone.

Student code can do anything inside its child; the worst it can do to the others is
kill this process, which ends the sandbox: the caller sees which job was running
(the ``start`` line before its result) and runs the jobs after it in a fresh sandbox.

Warm (``--warm``, see :mod:`grader.types.code.warm`): this process is a template that
imports the frameworks once and never runs a job, nor reads one: of each request it reads
the head (id, frameworks, wall clock) alone, and forks a principal, which reads the jobs on
the next line: a process of new mount, PID and IPC namespaces, with a private
``/proc``, ``/tmp`` and ``/dev/shm`` of its own (sized as the cold sandbox's), that drops
the capabilities only the template holds (making those mounts) and then runs the
request's jobs exactly as a cold runner does, as the sandbox's init. The template sees
it end (or kills it at the request's wall clock) and writes ``{"done": id}``.
"""

from __future__ import annotations

import contextlib
import inspect
import json
import os
import resource
import select
import signal
import sys
import time
import types
from typing import Any

MAX_REQUEST_BYTES = 256 << 20
MAX_RESULT_BYTES = 8 << 20  # what one job may hand back
MAX_OUTPUT_ENTRIES = 1_000_000
MAX_MESSAGE_CHARS = 400
NOBODY = 65534  # the user jobs run as, unless the request names one
ANSWER_FILE = "<answer>"
PR_SET_DUMPABLE = 4
PR_SET_NO_NEW_PRIVS = 38
PR_CAPBSET_DROP = 24
CLONE_NEWNS, CLONE_NEWIPC, CLONE_NEWPID = 0x00020000, 0x08000000, 0x20000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 16384, 1 << 18
CAP_KILL, CAP_SETGID, CAP_SETUID = 5, 6, 7
KNOWN_FRAMEWORKS = ("numpy", "torch")


def main() -> None:
    _hide_from_jobs()
    _, hard = resource.getrlimit(resource.RLIMIT_AS)  # a cap grader's worker had: each job sets its own
    resource.setrlimit(resource.RLIMIT_AS, (hard, hard))
    request = json.loads(sys.stdin.buffer.read(MAX_REQUEST_BYTES))
    results = os.fdopen(os.dup(1), "w", encoding="utf-8")
    _silence_standard_streams()
    sys.path[:0] = request["paths"]
    frameworks = _import_frameworks(request["frameworks"])
    for job in request["jobs"]:
        _write(results, {"start": job["id"]})
        outcome = _run_in_child(job, frameworks)
        _write(results, {"job": job["id"], **outcome})
        if request.get("own_pid_namespace"):
            _end_strays()


def _hide_from_jobs() -> None:
    """Out of every job's reach, though a job may run as this process's user (in a user
    namespace): not dumpable, so /proc/<pid>/fd, /mem and ptrace are closed to it; and as
    the sandbox's init, deaf to any signal from inside but those it handles (none)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    with contextlib.suppress(OSError, AttributeError):
        import ctypes

        ctypes.CDLL(None).prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)


def _write(stream: Any, record: dict[str, Any]) -> None:
    stream.write(json.dumps(record, allow_nan=True) + "\n")
    stream.flush()


def _silence_standard_streams() -> None:
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    os.close(null)


def _import_frameworks(names: list[str]) -> dict[str, Any]:
    modules: dict[str, Any] = {}
    for name in names:
        try:
            modules[name] = __import__(name)  # a framework by its fixed name, never a student's text
        except ImportError:
            modules[name] = None
    return modules


# ---------------------------------------------------------------------------
# The parent side: one child per job, watched and ended.


def _run_in_child(job: dict[str, Any], frameworks: dict[str, Any]) -> dict[str, Any]:
    if frameworks.get(job["framework"]) is None:
        return {"unavailable": job["framework"]}
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns
        os.close(read_end)
        _child(job, frameworks, write_end)
    os.close(write_end)
    # CPU time is limited to time_limit (RLIMIT_CPU); wall-clock time, for code that waits, to
    # twice that: a loaded machine does not stop honest code that merely waited for a core.
    deadline = time.monotonic() + 2 * job["time_limit"] + 1
    data, overflow, status = _collect(pid, read_end, deadline)
    os.close(read_end)
    _kill_group(pid)
    if status is None:  # still running: killed with its group just now
        os.waitpid(pid, 0)
    if overflow:
        return {"killed": "output"}
    if status is None:
        return {"killed": "time"}
    if os.WIFSIGNALED(status):
        return {"killed": _signal_reason(os.WTERMSIG(status))}
    try:
        result = json.loads(data)
    except ValueError:
        return {"exited": os.WEXITSTATUS(status)}
    return {"result": result} if isinstance(result, dict) else {"exited": os.WEXITSTATUS(status)}


def _collect(pid: int, fd: int, deadline: float) -> tuple[bytes, bool, int | None]:
    """What the child wrote, whether it wrote too much, and its exit status (None: still
    running at the deadline). Reading stops when the child has exited, even if a process
    it started still holds the pipe open."""
    chunks: list[bytes] = []
    size = 0
    status: int | None = None
    while True:
        left = deadline - time.monotonic()
        if status is None:
            finished, code = os.waitpid(pid, os.WNOHANG)
            status = code if finished else None
        if left <= 0 and status is None:
            return b"".join(chunks), False, None
        ready, _, _ = select.select([fd], [], [], 0 if status is not None else min(max(left, 0), 0.05))
        if not ready:
            if status is not None:
                return b"".join(chunks), False, status
            continue
        chunk = os.read(fd, 1 << 16)
        if not chunk:
            return b"".join(chunks), False, status if status is not None else _status_by(pid, deadline)
        size += len(chunk)
        if size > MAX_RESULT_BYTES:
            return b"", True, status
        chunks.append(chunk)


def _status_by(pid: int, deadline: float) -> int | None:
    """The child's exit status once it ends, or None if it still runs at the deadline."""
    while True:
        finished, status = os.waitpid(pid, os.WNOHANG)
        if finished:
            return status
        if time.monotonic() >= deadline:
            return None
        time.sleep(0.002)


def _kill_group(pid: int) -> None:
    with contextlib.suppress(OSError):
        os.killpg(pid, signal.SIGKILL)


def _end_strays() -> None:
    """Every process of the sandbox but this one and its init: what a job left running.
    Only ever inside the sandbox's own PID namespace, where /proc lists nothing else."""
    if os.getpid() > 16:  # not in a fresh PID namespace (bubblewrap starts us as pid 2)
        return
    me = os.getpid()
    for entry in os.listdir("/proc"):
        if entry.isdigit() and int(entry) not in (1, me):
            with contextlib.suppress(OSError):
                os.kill(int(entry), signal.SIGKILL)
    try:
        while os.waitpid(-1, os.WNOHANG)[0]:
            pass
    except ChildProcessError:
        pass


def _signal_reason(number: int) -> str:
    if number == signal.SIGXCPU:
        return "cpu"
    if number == signal.SIGXFSZ:
        return "file size"
    try:
        return f"signal {signal.Signals(number).name}"
    except ValueError:
        return f"signal {number}"


# ---------------------------------------------------------------------------
# The child: limits, then the student's code.


def _child(job: dict[str, Any], frameworks: dict[str, Any], write_end: int) -> None:
    try:
        os.closerange(3, write_end)  # the runner's own streams: this process writes only its result
        os.closerange(write_end + 1, 1 << 16)
        os.setsid()
        _limit(job)
        _drop_root(job.get("uid", NOBODY))
        outcome = _run_job(job, frameworks)
        payload = json.dumps(outcome, allow_nan=True).encode("utf-8")
        _write_all(write_end, payload)
        os._exit(0)
    except BaseException:
        os._exit(70)


def _write_all(fd: int, payload: bytes) -> None:
    view = memoryview(payload)
    while view:
        view = view[os.write(fd, view) :]


def _address_space() -> int:
    with open("/proc/self/statm", "rb") as stream:
        return int(stream.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")


def _limit(job: dict[str, Any]) -> None:
    # the first process the kernel ends when the sandbox's memory is full: the job, not its runner
    with contextlib.suppress(OSError), open("/proc/self/oom_score_adj", "w") as stream:
        stream.write("1000")
    cpu = int(job["time_limit"]) + 1
    memory = _address_space() + job["memory_mb"] * (1 << 20)
    for limit, value in (
        (resource.RLIMIT_CPU, cpu),
        (resource.RLIMIT_AS, memory),
        (resource.RLIMIT_FSIZE, job["file_size_mb"] * (1 << 20)),
        (resource.RLIMIT_NPROC, job["processes"]),
        (resource.RLIMIT_CORE, 0),
        (resource.RLIMIT_NOFILE, 256),
    ):
        _, hard = resource.getrlimit(limit)
        capped = value if hard == resource.RLIM_INFINITY else min(value, hard)
        # CPU: SIGXCPU at the soft limit, SIGKILL a second later for code that catches it
        ceiling = capped + 1 if limit == resource.RLIMIT_CPU else capped
        resource.setrlimit(limit, (capped, ceiling if hard == resource.RLIM_INFINITY else min(ceiling, hard)))


def _drop_root(uid: int) -> None:
    if os.getuid() == 0:
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)
    try:  # no gaining privileges back through a set-uid file
        import ctypes

        ctypes.CDLL(None).prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
    except (OSError, AttributeError):
        pass


def _run_job(job: dict[str, Any], frameworks: dict[str, Any]) -> dict[str, Any]:
    namespace: dict[str, Any] = {"__name__": "answer", "__builtins__": __builtins__}
    for source in job["sources"]:
        try:
            exec(compile(source["text"], source["file"], "exec"), namespace)  # the sandbox's purpose
        except BaseException as exc:
            return {"trials": [], "error": _describe(exc, None, job)}
    for class_name, method in job["attach"]:
        target = namespace.get(class_name)
        if isinstance(target, type) and callable(namespace.get(method)):
            setattr(target, method, namespace[method])
    call = _harness(job, namespace)
    outputs: list[dict[str, Any]] = []
    covered: list[list[int]] = []
    for number, trial in enumerate(job["trials"]):
        try:
            inputs = {name: _decode(value, job["framework"], frameworks) for name, value in trial.items()}
            arcs: set[int] = set()
            if job.get("trace"):
                sys.settrace(_tracer(arcs))
            try:
                returned = call(inputs)
            finally:
                sys.settrace(None)
            covered.append(sorted(arcs))
            outputs.append(_encode_outputs(returned, frameworks))
        except BaseException as exc:
            return {"trials": outputs, "error": _describe(exc, number, job), **_covered(job, covered)}
    return {"trials": outputs, **_covered(job, covered)}


def _covered(job: dict[str, Any], covered: list[list[int]]) -> dict[str, Any]:
    return {"covered": covered} if job.get("trace") else {}


def _tracer(arcs: set[int]) -> Any:
    """A trace of the pairs of lines run one after the other in the job's own code (the
    reference's, for how many trials cover it): each as one number."""

    last = [0]

    def local(frame: Any, event: str, _: Any) -> Any:
        if event == "line":
            arcs.add(last[0] * 100_000 + frame.f_lineno)
            last[0] = frame.f_lineno
        return local

    def start(frame: Any, event: str, _: Any) -> Any:
        if frame.f_code.co_filename in (ANSWER_FILE, "<given>"):
            return local
        return None

    return start


def _harness(job: dict[str, Any], namespace: dict[str, Any]) -> Any:
    impl = types.SimpleNamespace(**{k: v for k, v in namespace.items() if not k.startswith("__")})
    if job["harness"]:
        scope: dict[str, Any] = {"__name__": "harness"}
        exec(compile(job["harness"], "<harness>", "exec"), scope)
        run = scope["run"]
        accepted = set(inspect.signature(run).parameters)
        return lambda inputs: run(impl, **{k: v for k, v in inputs.items() if k in accepted})
    entry = job["entry"]
    order = job["argument_order"]

    def call(inputs: dict[str, Any]) -> Any:
        function = namespace.get(entry)
        if function is None:
            raise NameError(f"name '{entry}' is not defined")
        return function(*(inputs[name] for name in order))

    return call


def _decode(value: Any, framework: str, frameworks: dict[str, Any]) -> Any:
    if not isinstance(value, dict):
        return value  # a size: a plain int
    numpy = frameworks["numpy"]
    array = numpy.array(value["data"], dtype=value["dtype"]).reshape(value["shape"])
    if framework == "torch":
        return frameworks["torch"].from_numpy(array.copy())
    return array


def _encode_outputs(returned: Any, frameworks: dict[str, Any]) -> dict[str, Any]:
    if isinstance(returned, dict):
        items = [(str(name), value) for name, value in returned.items()]
    elif isinstance(returned, tuple | list) and returned and not _is_number(returned[0]):
        items = [(f"output {i}", value) for i, value in enumerate(returned, start=1)]
    else:
        items = [("output", returned)]
    return {name: _encode(value, frameworks) for name, value in items}


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float | bool)


def _encode(value: Any, frameworks: dict[str, Any]) -> Any:
    if value is None:
        return None
    numpy = frameworks["numpy"]
    torch = frameworks.get("torch")
    if torch is not None and isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    array = numpy.asarray(value)
    if array.dtype.kind not in "biuf":
        return {"unsupported": f"{type(value).__name__} of dtype {array.dtype}"}
    if array.size > MAX_OUTPUT_ENTRIES:
        return {"unsupported": f"an array of {array.size} entries"}
    kind = "float64" if array.dtype.kind == "f" else "int64"
    return {"dtype": kind, "shape": list(array.shape), "data": array.astype(kind).ravel().tolist()}


def _describe(exc: BaseException, trial: int | None, job: dict[str, Any]) -> dict[str, Any]:
    line, where = None, None
    frame_line = None
    traceback = exc.__traceback__
    while traceback is not None:
        filename = traceback.tb_frame.f_code.co_filename
        if filename in (ANSWER_FILE, "<given>", "<harness>"):
            where, frame_line = filename, traceback.tb_lineno
            if filename == ANSWER_FILE:
                line = traceback.tb_lineno
        traceback = traceback.tb_next
    if isinstance(exc, SyntaxError) and exc.filename == ANSWER_FILE:
        line, where = exc.lineno, ANSWER_FILE
    try:
        message = str(exc)[:MAX_MESSAGE_CHARS]
    except BaseException:
        message = ""
    return {
        "trial": trial,
        "type": type(exc).__name__[:100],
        "message": message,
        "line": line,
        "where": where,
        "where_line": frame_line,
        "memory": isinstance(exc, MemoryError),
    }


# ---------------------------------------------------------------------------
# Warm: a template that forks one principal per request.


def warm() -> None:
    _hide_from_jobs()
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    resource.setrlimit(resource.RLIMIT_AS, (hard, hard))
    requests = os.dup(0)
    setting = json.loads(_read_line(requests, MAX_REQUEST_BYTES))
    sys.path[:0] = setting["paths"]
    frameworks: dict[str, Any] = {}
    _load(frameworks, setting["frameworks"])
    out = os.dup(1)
    _silence_standard_streams()
    _send(out, {"ready": sorted(name for name, module in frameworks.items() if module is not None)})
    while True:
        # The request's head only (its id, frameworks and wall clock): its jobs, on the next
        # line, are read by the principal, so no job's text (a reference's, another student's)
        # ever lands in this process's memory, which every later principal inherits.
        line = _read_line(requests, MAX_REQUEST_BYTES)
        if not line:
            os._exit(0)
        request = json.loads(line)
        _load(frameworks, request["frameworks"])
        pid = os.fork()
        if pid == 0:
            try:
                request.update(json.loads(_read_exactly(requests, int(request["size"]))))
                os.close(requests)
            except Exception:
                os._exit(72)
            _principal(request, frameworks, setting, out)
        os.waitpid(pid, 0)
        _send(out, {"done": request["id"]})


def _read_line(fd: int, limit: int) -> bytes:
    """One line of ``fd``, read a byte at a time: nothing past its newline is taken."""
    line = bytearray()
    while len(line) < limit:
        byte = os.read(fd, 1)
        if not byte:
            break
        line += byte
        if byte == b"\n":
            break
    return bytes(line)


def _read_exactly(fd: int, size: int) -> bytes:
    """``size`` bytes of ``fd`` (the jobs line, whose length its head gives), read in blocks:
    a byte at a time, a 300 KB line cost its principal 300,000 reads."""
    if not 0 <= size <= MAX_REQUEST_BYTES:
        raise ValueError("a request's jobs line is too long")
    blocks, wanted = [], size
    while wanted:
        block = os.read(fd, min(wanted, 1 << 20))
        if not block:
            break
        blocks.append(block)
        wanted -= len(block)
    return b"".join(blocks)


def _load(frameworks: dict[str, Any], names: list[str]) -> None:
    fresh = [name for name in names if name in KNOWN_FRAMEWORKS and name not in frameworks]
    if fresh:  # a fixed name, never a student's text
        frameworks.update(_import_frameworks(fresh))
        _warm_up(frameworks)


def _warm_up(frameworks: dict[str, Any]) -> None:
    """What every job's first use of a framework would set up anew (its dispatch tables, the
    autograd engine), done once here by fixed code of this file's own, never a job's."""
    numpy, torch = frameworks.get("numpy"), frameworks.get("torch")
    with contextlib.suppress(Exception):
        if numpy is not None:
            array = numpy.array([[1.0, 2.0], [3.0, 4.0]], dtype="float64")
            (array @ array.T + numpy.exp(array).sum(axis=1, keepdims=True)).astype("int64").ravel().tolist()
        if torch is not None and numpy is not None:
            x = torch.from_numpy(array.copy()).requires_grad_(True)
            y = torch.softmax(x @ x.T, dim=1).log().mean() + torch.relu(x).sum() + (x * x).sum()
            y.backward()
            torch.nn.functional.cross_entropy(x, torch.tensor([0, 1])).detach().cpu().numpy()


def _send(fd: int, record: dict[str, Any]) -> None:
    # a newline first: ends any line a principal was killed in the middle of
    _write_all(fd, ("\n" + json.dumps(record, allow_nan=True) + "\n").encode("utf-8"))


def _principal(
    request: dict[str, Any], frameworks: dict[str, Any], setting: dict[str, Any], out: int
) -> None:
    """Fork of the template (never returns): new namespaces, then their init runs the jobs;
    this process only waits for it, killing it (and so every process of its namespace) at
    the request's wall clock."""
    try:
        libc = _libc()
        if libc.unshare(CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC) != 0:
            os._exit(71)
        init = os.fork()
        if init == 0:
            _principal_init(request, frameworks, setting, out, libc)
        os.close(out)
        pidfd = os.pidfd_open(init)
        poller = select.poll()
        poller.register(pidfd, select.POLLIN)
        if not poller.poll(max(float(request["wall"]), 0.0) * 1000):
            with contextlib.suppress(OSError):
                os.kill(init, signal.SIGKILL)
        os.waitpid(init, 0)
    finally:
        os._exit(0)


def _principal_init(
    request: dict[str, Any], frameworks: dict[str, Any], setting: dict[str, Any], out: int, libc: Any
) -> None:
    try:
        try:
            _own_mounts(setting, libc)
            _drop_capabilities(libc)
            _hide_from_jobs()
        except Exception as exc:  # no job runs in a principal short of its own mounts and user
            _send_line(out, {"failed": f"{type(exc).__name__}: {exc}"[:MAX_MESSAGE_CHARS]})
            os._exit(0)
        for job in request["jobs"]:
            if "uid" in request:  # as root: the user of this principal's jobs
                job["uid"] = request["uid"]
            _send_line(out, {"start": job["id"]})
            outcome = _run_in_child(job, frameworks)
            _send_line(out, {"job": job["id"], **outcome})
            _end_strays()
    finally:
        os._exit(0)


def _send_line(fd: int, record: dict[str, Any]) -> None:
    _write_all(fd, (json.dumps(record, allow_nan=True) + "\n").encode("utf-8"))


def _libc() -> Any:
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p]
    return libc


def _mount(
    libc: Any, source: str | None, target: str, kind: str | None, flags: int, data: str | None
) -> None:
    encoded = [None if text is None else text.encode() for text in (source, target, kind, data)]
    if libc.mount(encoded[0], encoded[1], encoded[2], flags, encoded[3]) != 0:
        import ctypes

        raise OSError(ctypes.get_errno(), f"mount {target}")


def _own_mounts(setting: dict[str, Any], libc: Any) -> None:
    """A private /proc (this PID namespace's), /tmp and /dev/shm, as bubblewrap makes them
    for a cold sandbox, with what the runner needs from under /tmp bound over it again."""
    _mount(libc, None, "/", None, MS_REC | MS_PRIVATE, None)
    _mount(libc, "proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, None)
    kept = [(root, os.open(root, os.O_PATH | os.O_DIRECTORY)) for root in setting["tmp_binds"]]
    plain = MS_NOSUID | MS_NODEV
    _mount(libc, "tmpfs", "/tmp", "tmpfs", plain, f"mode=1777,size={setting['tmp_bytes']}")
    for root, fd in kept:
        os.makedirs(root, mode=0o755, exist_ok=True)
        _mount(libc, f"/proc/self/fd/{fd}", root, None, MS_BIND | MS_REC, None)
        _mount(libc, None, root, None, MS_REMOUNT | MS_BIND | MS_RDONLY | plain, None)
        os.close(fd)
    _mount(libc, "tmpfs", "/dev/shm", "tmpfs", plain, f"mode=1777,size={setting['shm_bytes']}")


def _drop_capabilities(libc: Any) -> None:
    """Every capability but those the cold runner keeps as root (to drop each job to its
    user and stop it): none at all in a user namespace."""
    import ctypes

    keep = {CAP_SETUID, CAP_SETGID, CAP_KILL} if os.getuid() == 0 else set()
    for number in range(64):
        if number not in keep:
            libc.prctl(PR_CAPBSET_DROP, number, 0, 0, 0)
    mask = sum(1 << number for number in keep)
    header = (ctypes.c_uint32 * 2)(0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3, this thread
    data = (ctypes.c_uint32 * 6)(mask, mask, 0, 0, 0, 0)  # effective, permitted, inheritable x 2
    if libc.capset(header, data) != 0:
        raise OSError(ctypes.get_errno(), "capset")


if __name__ == "__main__":
    if sys.argv[1:] == ["--warm"]:
        warm()
    else:
        main()
