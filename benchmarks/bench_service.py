"""The grading service under load: many clients hand in at once over real HTTP.

    python benchmarks/bench_service.py [--submissions 500] [--clients 50] [--workers 2]
                                       [--burst | --rate R] [--poll SECONDS | --wait SECONDS]
                                       [--db URL] [--variety]

Builds the synthetic class of benchmarks/make_class.py (seeded: reference answers,
shipped answers, listed mistakes, wrong variants, hostile strings, unreadable
sheets; with ``--variety`` the varied class, whose students each write their answers
afresh, so that most (part, answer) pairs are distinct), starts ``grader serve`` on a
free loopback port with a fresh SQLite database (or ``--db``), and has ``--clients``
clients post the sheets (each client a student with a token, taking sheets in turn; threads
of ``--client-processes`` processes, so that no client waits for 49 others' interpreter
lock, as a student's own machine would not). How they post:

* by default, as students do: a client hands in a sheet, waits for its verdict and then
  hands in its next sheet, so 50 clients keep up to 50 sheets in the queue; the clients
  make their first hand-in at random moments of the first ``--ramp`` seconds (default 1:
  a deadline rush of 50 students in one second). A client waits as the product's clients
  do, with a long poll (``GET /api/v1/submissions/{id}?wait=``, ``--wait`` seconds, default
  30, asked again until graded), or with ``--poll S`` asks every S seconds (a script
  that polls; the waiting page reloads every 2 s);
* ``--burst``: each client posts its next sheet as soon as the last upload is answered,
  never waiting for a verdict: a test of the server's capacity, not a load students
  make (by Little's law the upload latency is then clients / upload throughput);
* ``--rate R``: sheet i arrives at i / R seconds whatever the server's speed (an open
  loop: what a student handing in at that load waits).

Prints:

* upload latency: POST to 202, p50 / p99 / max (what a student waits for), and the
  latency of the verdict polls (with ``--poll``);
* verdict to student: from a verdict's commit to the moment its student's client has it;
* upload to verdict: a job's finish time minus its submission's, p50 / p99 / max,
  read from the service's own database;
* throughput: submissions graded per second, first upload to last verdict.

Unreadable sheets are refused at upload (422) and counted separately.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import multiprocessing
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

import httpx
import psutil
from make_class import make_class
from service_server import Course, Server
from sqlalchemy import select

from grader.service.crud.accounts import add_user
from grader.service.db import Database
from grader.service.models import Job, JobStatus, Submission
from grader.service.service import Service
from grader.service.settings import Settings


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def course_with_students(
    folder: Path, db_url: str | None, clients: int, sheets: int, variety: bool = False
) -> tuple[Course, list[Path]]:
    problem_file, class_folder = make_class(folder / "class-source", sheets, variety=variety)
    (folder / "course" / "problems").mkdir(parents=True)
    (folder / "course" / "problems" / "bench.yaml").write_text(problem_file.read_text())
    course = Course(folder / "course", db_url)
    service = Service(Settings(course_dir=course.folder, db_url=db_url), start_workers=False)
    with service.db.session() as db:
        for number in range(clients):
            _, course.tokens[f"client-{number:03d}"] = add_user(db, f"client-{number:03d}", "student")
    service.db.dispose()
    sheets_found = sorted(p for p in class_folder.glob("*/answers.*"))
    return course, sheets_found


SETTLING_SECONDS = 2.0


ASSIGNMENT = "synthetic-class"  # the assignment id make_class writes


class Load:
    """What the clients measure: each accepted upload's (latency, start) in seconds after
    the first, each poll's latency, when each submission's verdict reached its client (epoch
    seconds), and the sheets refused as unreadable."""

    def __init__(self) -> None:
        self.uploads: list[tuple[float, float]] = []
        self.polls: list[float] = []
        self.long_polls = 0
        self.seen: dict[int, float] = {}
        self.refused = 0
        self.errors: list[str] = []  # what stopped a client
        self.lock = threading.Lock()
        self.begin = time.perf_counter()

    def upload(self, response: httpx.Response, started: float) -> None:
        elapsed = time.perf_counter() - started
        with self.lock:
            if response.status_code == 202:
                self.uploads.append((elapsed, started - self.begin))
            elif response.status_code == 422:
                self.refused += 1
            else:
                raise RuntimeError(f"{response.status_code}: {response.text[:300]}")

    def poll(self, started: float | None) -> None:
        """A verdict poll answered (``started``: when it was sent) or a long poll (None)."""
        with self.lock:
            if started is None:
                self.long_polls += 1
            else:
                self.polls.append(time.perf_counter() - started)


@dataclass(frozen=True)
class Waiting:
    """How a student waits for a verdict: a long poll of ``wait`` seconds asked again until
    it is graded, or a poll every ``poll`` seconds."""

    wait: float | None = None
    poll: float | None = None


class Client:
    """One student: posts the sheets it is given, paced by ``rate`` (sheets a second over
    all clients) or waiting for each verdict (``waiting``), or neither."""

    def __init__(
        self, http: httpx.Client, load: Load, rate: float | None, waiting: Waiting | None, start: float = 0.0
    ):
        self.http, self.load, self.rate, self.waiting, self.start = http, load, rate, waiting, start

    def hand_in(self, sheets: list[tuple[int, Path]]) -> None:
        try:
            self._hand_in(sheets)
        except Exception as error:  # said by the process, not lost in a thread
            with self.load.lock:
                self.load.errors.append(f"{type(error).__name__}: {error}")

    def _hand_in(self, sheets: list[tuple[int, Path]]) -> None:
        time.sleep(max(0.0, self.load.begin + self.start - time.perf_counter()))
        for number, sheet in sheets:
            if self.rate:
                time.sleep(max(0.0, self.load.begin + number / self.rate - time.perf_counter()))
            started = time.perf_counter()
            response = self.http.post(
                f"/api/v1/assignments/{ASSIGNMENT}/submissions",
                files={"file": (sheet.name, sheet.read_bytes())},
            )
            self.load.upload(response, started)
            if self.waiting and response.status_code == 202:
                body = response.json()
                self.wait_for_verdict(body["url"], self.waiting)
                with self.load.lock:
                    self.load.seen[body["id"]] = time.time()

    def wait_for_verdict(self, url: str, waiting: Waiting) -> None:
        while True:
            if waiting.poll:
                time.sleep(waiting.poll)
            started = time.perf_counter()
            if waiting.wait:
                answer = self.http.get(url, params={"wait": waiting.wait}, timeout=waiting.wait + 30)
            else:
                answer = self.http.get(url)
            self.load.poll(None if waiting.wait else started)
            if answer.json()["status"] == "graded":
                return


def run_clients(
    server: Server,
    course: Course,
    sheets: list[Path],
    clients: int,
    rate: float | None = None,
    waiting: Waiting | None = None,
    ramp: float = 0.0,
    processes: int = 1,
) -> tuple[Load, float]:
    """Post every sheet, each client taking sheets in turn: with ``waiting``, a client waits
    for each verdict before its next sheet; with ``rate``, sheet i is posted at i / rate
    seconds; with neither, as soon as the last upload is answered.
    With ``ramp``, each client starts at a random moment of the first ``ramp`` seconds.

    The clients run as threads of ``processes`` processes: each student's machine has its own
    interpreter, and 50 threads behind one lock would measure their own wait for it. Returns
    what they measured and the CPU seconds they used."""
    names = [n for n in sorted(course.tokens) if n.startswith("client-")][:clients]
    starts = random.Random(0)
    plans = [
        (name, starts.uniform(0, ramp), [(n, sheets[n]) for n in range(index, len(sheets), len(names))])
        for index, name in enumerate(names)
    ]
    groups = [plans[i::processes] for i in range(processes)]
    context = multiprocessing.get_context("fork")
    ready = context.Barrier(len(groups) + 1)
    begin = context.Value("d", 0.0)
    pipes = [context.Pipe(duplex=False) for _ in groups]
    children = [
        context.Process(
            target=_client_process, args=(server, course, group, rate, waiting, ready, begin, sending)
        )
        for group, (_, sending) in zip(groups, pipes, strict=True)
    ]
    for child in children:
        child.start()
    ready.wait()  # every client made and connected: the clock starts
    load, cpu = Load(), 0.0
    for child, (receiving, _) in zip(children, pipes, strict=True):
        measured = receiving.recv()
        child.join()
        if "error" in measured:
            raise RuntimeError(measured["error"])
        load.uploads += measured["uploads"]
        load.polls += measured["polls"]
        load.long_polls += measured["long_polls"]
        load.seen |= measured["seen"]
        load.refused += measured["refused"]
        cpu += measured["cpu"]
    load.begin = begin.value
    return load, cpu


def _client_process(
    server: Server,
    course: Course,
    plans: list[tuple[str, float, list[tuple[int, Path]]]],
    rate: float | None,
    waiting: Waiting | None,
    ready: Any,
    begin: Any,
    results: Any,
) -> None:
    """One process's clients (``plans``: each client's name, start and sheets), measured and
    sent back as plain data."""
    try:
        # Every client made (an httpx client loads its TLS settings: milliseconds of CPU each)
        # and connected before the first hand-in, so that the clock measures the server.
        https = [server.client(token=course.tokens[name]) for name, _, _ in plans]
        for http in https:
            http.get("/healthz")
        ready.wait()
        load = Load()
        with begin.get_lock():
            if not begin.value:
                begin.value = time.perf_counter()  # CLOCK_MONOTONIC: one clock for every process
        load.begin = begin.value
        cpu = time.process_time()
        threads = [
            threading.Thread(target=Client(http, load, rate, waiting, start).hand_in, args=(mine,))
            for http, (_, start, mine) in zip(https, plans, strict=True)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        for http in https:
            http.close()
        if load.errors:
            raise RuntimeError(load.errors[0])
        results.send(
            {
                "uploads": load.uploads,
                "polls": load.polls,
                "long_polls": load.long_polls,
                "seen": load.seen,
                "refused": load.refused,
                "cpu": time.process_time() - cpu,
            }
        )
    except BaseException as error:  # the parent says what went wrong
        results.send({"error": f"{type(error).__name__}: {error}"})


UPLOAD_ROUTE = "/api/v1/assignments/{assignment}/submissions"


def server_times(log: Path, keep: Path | None = None) -> list[float]:
    """Seconds the server took for each accepted upload, from its access log (from reading
    the request to the response: the client's own time and the network are not in it); the
    log copied to ``keep``."""
    if keep is not None:
        keep.write_bytes(log.read_bytes())
    times = []
    for line in log.read_text(errors="replace").splitlines():
        if UPLOAD_ROUTE in line and '"status": 202' in line:
            entry = json.loads(line[line.index("{") :])
            times.append(entry["ms"] / 1000)
    return times


def wait_workers_ready(server: Server, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if httpx.get(f"{server.url}/healthz").json()["workers"] == "ready":
            return
        time.sleep(0.2)
    raise RuntimeError(f"the grading workers were not ready after {timeout:.0f} s")


def cpu_seconds(server: Server) -> tuple[float, float]:
    """CPU seconds (user and system) so far of the web server's process, and of all its
    children (the fork server and the pool's workers, the check runner)."""
    process = psutil.Process(server.process.pid)
    own = process.cpu_times()
    children = 0.0
    for child in process.children(recursive=True):
        with contextlib.suppress(psutil.Error):
            times = child.cpu_times()
            children += times.user + times.system
    return own.user + own.system, children


def start_worker(course: Course, workers: int) -> subprocess.Popen[bytes]:
    """``grader serve --worker`` for the course, its output in ``worker.log`` of the course folder."""
    command = [sys.executable, "-c", "from grader.cli import main; main()", "serve", str(course.folder)]
    command += ["--worker", "--workers", str(workers), *(("--db", course.db_url) if course.db_url else ())]
    with (course.folder / "worker.log").open("ab") as log:
        return subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def wait_worker_ready(course: Course, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if "started" in (course.folder / "worker.log").read_text(errors="replace"):
            time.sleep(3)  # its pool's workers import and warm up
            return
        time.sleep(0.2)
    raise RuntimeError(f"the --worker process did not start in {timeout:.0f} s")


def worker_cpu(worker: subprocess.Popen[bytes] | None) -> tuple[float, float]:
    """A --worker process's CPU seconds as (its grading loop's, its pool's), both 0 without one."""
    if worker is None:
        return 0.0, 0.0
    process = psutil.Process(worker.pid)
    own = process.cpu_times()
    children = sum(
        child.cpu_times().user + child.cpu_times().system for child in process.children(recursive=True)
    )
    return 0.0, own.user + own.system + children


def add(first: tuple[float, float], second: tuple[float, float]) -> tuple[float, float]:
    return first[0] + second[0], first[1] + second[1]


def wait_all_graded(db: Database, expected: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with db.session() as session:
            done = len(session.scalars(select(Job.id).where(Job.status == JobStatus.DONE)).all())
        if done >= expected:
            return
        time.sleep(0.2)
    raise RuntimeError(f"only {done} of {expected} graded after {timeout:.0f} s")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--submissions", type=int, default=500)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--client-processes",
        type=int,
        default=10,
        help="the clients run as threads of this many processes (default 10: 5 students a process);"
        " 1 is the old bench, whose 50 threads waited for one interpreter's lock",
    )
    loads = parser.add_mutually_exclusive_group()
    loads.add_argument("--rate", type=float, default=None, help="open loop: hand-ins per second")
    loads.add_argument(
        "--burst",
        action="store_true",
        help="each client posts again as soon as its upload is answered, never waiting for a verdict",
    )
    waits = parser.add_mutually_exclusive_group()
    waits.add_argument(
        "--wait",
        type=float,
        default=30.0,
        help="students: the long poll's ?wait= in seconds (default 30), asked again until graded",
    )
    waits.add_argument(
        "--poll",
        type=float,
        default=None,
        help="students: ask for the verdict every POLL seconds instead of a long poll (the old load: 1)",
    )
    parser.add_argument(
        "--ramp",
        type=float,
        default=1.0,
        help="students: the clients' first hand-ins spread over this many seconds (default 1)",
    )
    parser.add_argument(
        "--request-threads", type=int, default=None, help="the server's --request-threads (default: its own)"
    )
    parser.add_argument("--db", default=None, help="a database URL (default: SQLite in the course folder)")
    parser.add_argument(
        "--keep-log", type=Path, default=None, help="copy the server's log (its access log) here"
    )
    parser.add_argument(
        "--separate-worker",
        action="store_true",
        help="grade in a `grader serve --worker` process beside a `--web-only` server (a large course's"
        " set-up), not in the server's own grading thread",
    )
    parser.add_argument(
        "--variety",
        action="store_true",
        help="the varied class (make_class.py --variety): answers written afresh",
    )
    args = parser.parse_args()
    # The server as deployed: an install writes grader's bytecode, so a module a first request
    # imports is not compiled then (this environment may forbid writing it)
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)

    with tempfile.TemporaryDirectory(prefix="grader-bench-service-") as scratch:
        course, sheets = course_with_students(
            Path(scratch), args.db, args.clients, args.submissions, args.variety
        )
        threads = ("--request-threads", str(args.request_threads)) if args.request_threads else ()
        web_only = ("--web-only",) if args.separate_worker else ()
        server = Server(course, args.workers, "--rate-limit", "100000", *threads, *web_only)
        worker = start_worker(course, args.workers) if args.separate_worker else None
        try:
            wait_workers_ready(server)  # a server that runs for the term: its workers are up
            if worker is not None:
                wait_worker_ready(course)
            cpu_before = add(cpu_seconds(server), worker_cpu(worker))
            students = not args.rate and not args.burst
            load, clients_cpu = run_clients(
                server,
                course,
                sheets,
                args.clients,
                args.rate,
                (Waiting(poll=args.poll) if args.poll else Waiting(wait=args.wait)) if students else None,
                args.ramp if students else 0.0,
                args.client_processes,
            )
            uploads, refused = load.uploads, load.refused
            latencies = [latency for latency, _ in uploads]
            uploaded = time.perf_counter() - load.begin
            db = Database(Settings(course_dir=course.folder, db_url=args.db).database_url)
            wait_all_graded(db, len(latencies), timeout=1800)
            cpu_after = add(cpu_seconds(server), worker_cpu(worker))
            server_cpu = (cpu_after[0] - cpu_before[0], cpu_after[1] - cpu_before[1])
            with db.session() as session:
                rows = session.execute(
                    select(Submission.created_at, Job.finished_at, Job.claimed_at, Submission.id).join(
                        Job, Job.submission_id == Submission.id
                    )
                ).all()
            db.dispose()
        finally:
            server.stop()
            if worker is not None:
                worker.terminate()
                worker.wait(60)
        served = server_times(server.log, args.keep_log)
    to_verdict = [(finished - created).total_seconds() for created, finished, _, _ in rows]
    in_queue = [(claimed - created).total_seconds() for created, _, claimed, _ in rows]
    finished_at = {submission: finished.timestamp() for _, finished, _, submission in rows}
    to_student = [seen - finished_at[submission] for submission, seen in load.seen.items()]
    first = min(created for created, _, _, _ in rows)
    last = max(finished for _, finished, _, _ in rows)
    wall = (last - first).total_seconds()
    machine = f"{platform.python_version()}, {os.cpu_count()} CPUs"
    if args.rate:
        loop = f"open loop, {args.rate:g} hand-ins/s"
    elif args.burst:
        loop = "burst: closed loop, no client waits for a verdict"
    else:
        how = f"polls every {args.poll:g} s" if args.poll else f"long polls, ?wait={args.wait:g}"
        loop = f"students: a client waits for each verdict ({how}), first hand-ins over {args.ramp:g} s"
    shape = " in a --worker process beside a --web-only server" if args.separate_worker else ""
    print(f"grader service benchmark: {machine}, --workers {args.workers}{shape}, {loop}")
    accepted = len(latencies)
    print(f"  {accepted} submissions accepted, {refused} refused as unreadable (422), {args.clients} clients")
    p50, p99 = percentile(latencies, 0.5) * 1000, percentile(latencies, 0.99) * 1000
    print(
        f"  upload latency  p50 {p50:.0f} ms  p99 {p99:.0f} ms"
        f"  max {max(latencies) * 1000:.0f} ms  (all uploads in {uploaded:.1f} s)"
    )
    if served:
        p50, p99 = percentile(served, 0.5) * 1000, percentile(served, 0.99) * 1000
        print(
            f"  in the server   p50 {p50:.0f} ms  p99 {p99:.0f} ms  max {max(served) * 1000:.0f} ms"
            "  (its access log: the upload from request to response)"
        )
    if load.polls:
        p50, p99 = percentile(load.polls, 0.5) * 1000, percentile(load.polls, 0.99) * 1000
        print(f"  verdict polls   p50 {p50:.0f} ms  p99 {p99:.0f} ms  ({len(load.polls)} polls)")
    if load.long_polls:
        print(f"  long polls      {load.long_polls} for {len(load.seen)} verdicts")
    if to_student:
        p50, p99 = percentile(to_student, 0.5) * 1000, percentile(to_student, 0.99) * 1000
        print(
            f"  verdict->client p50 {p50:.0f} ms  p99 {p99:.0f} ms"
            "  (from the verdict's commit to its student's client having it)"
        )
    print(
        f"  upload->verdict p50 {percentile(to_verdict, 0.5):.1f} s  p99 {percentile(to_verdict, 0.99):.1f} s"
        f"  max {max(to_verdict):.1f} s  (mean {statistics.mean(to_verdict):.1f} s)"
    )
    print(
        f"  of which queued p50 {percentile(in_queue, 0.5):.2f} s  p99 {percentile(in_queue, 0.99):.2f} s"
        "  (upload to a worker's claim)"
    )
    print(f"  throughput      {len(rows) / wall:.1f} submissions/s: {len(rows)} graded in {wall:.1f} s")
    print(
        f"  the clients     {clients_cpu:.1f} s of CPU in {args.client_processes} processes"
        f" ({clients_cpu / uploaded:.0%} of a core while they posted),"
        " taken from the server's cores as students' own machines would not"
    )
    where = (
        "the --worker process and its pool" if args.separate_worker else "its pool's workers and fork server"
    )
    print(
        f"  CPU             {server_cpu[0]:.1f} s in the web server's process"
        f"{'' if args.separate_worker else ' (its grading thread too)'},"
        f" {server_cpu[1]:.1f} s in {where}; load average {os.getloadavg()[0]:.1f}"
    )
    worst = sorted(uploads)[-5:][::-1]
    slowest = ", ".join(f"{latency * 1000:.0f} ms at {at:.1f} s" for latency, at in worst)
    print(f"  slowest uploads {slowest} (after the first upload)")
    settled = [latency for latency, at in uploads if at >= SETTLING_SECONDS]
    if settled:
        p50, p99 = percentile(settled, 0.5) * 1000, percentile(settled, 0.99) * 1000
        print(
            f"  after the first {SETTLING_SECONDS:g} s of hand-ins:"
            f" upload p50 {p50:.0f} ms  p99 {p99:.0f} ms  max {max(settled) * 1000:.0f} ms"
        )


if __name__ == "__main__":
    main()
