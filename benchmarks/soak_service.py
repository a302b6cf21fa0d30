"""A soak of the grading service: hand-ins at a steady rate for a long time, memory watched.

    python benchmarks/soak_service.py [--minutes 60] [--rate 2] [--db sqlite|postgresql]
                                      [--students 50] [--parts 20] [--tas 2]

Builds the synthetic class of benchmarks/make_class.py (``--variety``: most answers are
written afresh, as a real class writes them), starts a real ``grader serve`` with its
default grading workers and limits on a free loopback port, on SQLite in the course folder
or on a throw-away PostgreSQL cluster (as the tests make it), and hands in one sheet every
1 / ``--rate`` seconds, from ``--students`` students in turn, each waiting for its verdict
with the long poll as ``grader submit`` does. Only 127.0.0.1 is ever sent a request.

Every minute it prints the resident memory (RSS, psutil: the minute's mean of a sample every
5 s) of the web server, of its grading process and of each pool worker that grades (and of the
upload reader and the fork servers),
with the hand-ins answered and graded so far and how many workers were seen so far (a worker
retires after its 500 sheets and a fresh one takes its place). Meanwhile ``--tas`` TAs work
as TAs do, each a request every ``--ta-pause`` seconds with a token of their own: the TA
dashboard, the class's page, a student's page and a hand-in's page, the class's submissions
and queue through the API, the gradebook export, and now and then a regrade. At the end it
says, for each of them, how much its RSS grew from minute 10 to the last minute and, the
verdict where the run is long enough, from the median of minutes 10 to 15 to the median of
the last 6 minutes (a single minute's sample sits anywhere in the band that a minute's churn
makes between two of the server's trims), and whether any grew by more than 5% (exit status
1 then). The pool workers come and go, so they are judged by the largest one: the largest
worker's RSS at any minute after minute 10 against the largest at any minute up to minute 10
(a leak that outgrows a worker's lifetime shows there; the sum of the workers alive, also
printed, depends on how far each is in its lifetime). It stops by itself after
``--minutes`` (the server too).
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import random
import signal
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

import httpx
import psutil
from make_class import make_class
from service_fixtures import PG_SKIP, PostgresCluster, pg_bin
from service_server import Course, Server

from grader.client import RemoteCheckError, submit_remote
from grader.service.crud.accounts import add_user
from grader.service.service import Service
from grader.service.settings import Settings

ASSIGNMENT = "synthetic-class"  # the assignment id make_class writes
SETTLING_MINUTES = 10  # what grows after this is a leak, not a warm-up
ALLOWED_GROWTH = 0.05
MAX_SHEETS = 4000  # distinct sheets made; a longer soak hands them in again
MIB = 1024 * 1024
VERDICT_WAIT_SECONDS = 120.0  # a student's grader submit waits this long for the verdict


def build_course(
    folder: Path, db_url: str | None, students: int, sheets: int, parts: int, tas: int = 0
) -> tuple[Course, list[Path]]:
    problem_file, class_folder = make_class(folder / "class-source", sheets, parts=parts, variety=True)
    (folder / "course" / "problems").mkdir(parents=True)
    (folder / "course" / "problems" / "soak.yaml").write_text(problem_file.read_text())
    course = Course(folder / "course", db_url)
    service = Service(Settings(course_dir=course.folder, db_url=db_url), start_workers=False)
    with service.db.session() as db:
        for number in range(students):
            name = f"student-{number:03d}"
            _, course.tokens[name] = add_user(db, name, "student")
        for number in range(tas):
            name = f"ta-{number:02d}"
            _, course.tokens[name] = add_user(db, name, "ta")
    service.db.dispose()
    # the unreadable sheets make_class writes are refused at upload, every time: they stay in
    return course, sorted(path.parent for path in class_folder.glob("*/answers.*"))


@dataclass
class Tally:
    # counted when a student's grader submit returns: its verdict came, or it waited its 120 s
    accepted: int = 0
    refused: int = 0  # unreadable sheets (422)
    graded: int = 0
    late: int = 0  # hand-ins posted more than a second after their moment (the client fell behind)
    ta_requests: int = 0
    regrades: int = 0
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, **counts: int) -> None:
        with self.lock:
            for name, count in counts.items():
                setattr(self, name, getattr(self, name) + count)

    def error(self, message: str) -> None:
        with self.lock:
            self.errors.append(message)


def hand_in(folder: Path, url: str, token: str, tally: Tally) -> None:
    """One hand-in as a student's ``grader submit`` makes it (a connection of its own, the
    assignment asked for, the file posted, the verdict waited for with the long poll)."""
    try:
        handed_in = submit_remote(folder, url, token, None, VERDICT_WAIT_SECONDS)
    except RemoteCheckError as exc:
        tally.error(str(exc))
        return
    if handed_in.unreadable is not None:
        tally.add(refused=1)
        return
    tally.add(accepted=1, graded=int(handed_in.graded))


def post_steadily(
    server: Server,
    course: Course,
    sheets: list[Path],
    rate: float,
    seconds: float,
    tally: Tally,
    stop: threading.Event,
) -> None:
    """Hand-in i at i / rate seconds, from the students in turn, until ``seconds`` are up."""
    students = sorted(name for name in course.tokens if name.startswith("student-"))
    begin = time.monotonic()
    end = begin + seconds
    # a thread for each student waiting for a verdict, as many as can wait at once at this rate
    students_at_once = int(rate * VERDICT_WAIT_SECONDS) + 16
    with ThreadPoolExecutor(max_workers=students_at_once, thread_name_prefix="soak-student") as pool:
        for number in itertools.count():
            moment = begin + number / rate
            if moment >= end or stop.wait(max(0.0, moment - time.monotonic())):
                break
            if time.monotonic() - moment > 1.0:
                tally.add(late=1)
            token = course.tokens[students[number % len(students)]]
            pool.submit(hand_in, sheets[number % len(sheets)], server.url, token, tally)


EVERY = 25  # a TA's 25th request lists the class's hand-ins again, and asks for a regrade


def ta_request(
    client: httpx.Client,
    number: int,
    ids: list[int],
    paths: list[str],
    students: list[str],
    rng: random.Random,
    tally: Tally,
) -> list[httpx.Response]:
    """A TA's ``number``-th request (``ids``: the hand-ins seen, updated every 25th)."""
    if number % EVERY == 0:
        answers = [client.get(f"/api/v1/assignments/{ASSIGNMENT}/submissions")]
        if answers[0].is_success:
            ids[:] = [row["id"] for row in answers[0].json()["submissions"]]
        if ids:
            answers.append(client.post(f"/api/v1/submissions/{rng.choice(ids)}/regrade"))
            tally.add(regrades=1)
    else:
        shown = [*paths, f"/ta/students/{rng.choice(students)}"]
        if ids:
            shown.append(f"/submissions/{rng.choice(ids)}")
        answers = [client.get(rng.choice(shown))]
    return answers


def ta_works(
    url: str, token: str, students: list[str], pause: float, tally: Tally, stop: threading.Event
) -> None:
    """A TA's requests, one every ``pause`` seconds until ``stop``: the pages and API calls a TA
    makes in a term (every answer not 2xx counted as an error); every 25th, the class's list of
    hand-ins through the API and a regrade of one of them."""
    rng = random.Random(token)
    ids: list[int] = []
    paths = ["/ta", f"/ta/assignments/{ASSIGNMENT}", "/api/v1/queue"]
    paths.append(f"/api/v1/assignments/{ASSIGNMENT}/export")
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=120) as client:
        for number in itertools.count():
            if stop.wait(pause):
                return
            try:
                answers = ta_request(client, number, ids, paths, students, rng, tally)
            except httpx.TransportError as exc:  # a keep-alive connection the server closed meanwhile
                tally.error(f"TA: {exc!r}")  # counted; the next request opens a new one
                continue
            tally.add(ta_requests=len(answers))
            for answer in answers:
                if not answer.is_success:
                    tally.error(f"TA {answer.request.method} {answer.request.url.path}: {answer.status_code}")


@dataclass
class Processes:
    """The server's processes by role, found again each minute (a worker may be replaced)."""

    roles: dict[str, list[psutil.Process]]

    @staticmethod
    def of(server: Server) -> Processes:
        top = psutil.Process(server.process.pid)
        roles: dict[str, list[psutil.Process]] = {"server": [top]}
        for child in top.children():  # the fork server (its pool's workers below it), others
            with contextlib.suppress(psutil.Error):
                command = " ".join(child.cmdline())
                if "forkserver" in command:
                    roles.setdefault("fork server", []).append(child)
                    roles.setdefault("pool worker", []).extend(child.children())
                else:
                    roles.setdefault("server's others", []).extend([child, *child.children(recursive=True)])
        return Processes(roles)

    def rss(self) -> dict[str, dict[int, int]]:
        """RSS in bytes by role and pid, of the processes alive."""
        found: dict[str, dict[int, int]] = {}
        for role, processes in self.roles.items():
            for process in processes:
                with contextlib.suppress(psutil.Error):
                    found.setdefault(role, {})[process.pid] = process.memory_info().rss
        return found


ROLES = ("server", "pool worker", "fork server", "server's others")  # the grading loop: a server thread


def line(when: str, rss: dict[str, dict[int, int]], tally: Tally, workers_seen: int = 0) -> str:
    parts = []
    for role in ROLES:
        if role in rss:
            sizes = rss[role]
            if role == "pool worker":
                shown = " ".join(f"{size / MIB:.1f}" for _, size in sorted(sizes.items()))
                total = sum(sizes.values()) / MIB
                parts.append(f"workers [{shown}] (sum {total:.1f}, {workers_seen} seen)")
            else:
                parts.append(f"{role} {sum(sizes.values()) / MIB:.1f}")
    with tally.lock:
        counts = f"{tally.accepted} handed in, {tally.graded} graded, {tally.refused} refused"
        if tally.ta_requests:
            counts += f", {tally.ta_requests} TA requests ({tally.regrades} regrades)"
    return f"{when}: RSS MiB  " + ", ".join(parts) + f"  | {counts}"


SAMPLE_SECONDS = 5.0  # a minute's figure is the mean of its samples: the server trims its free
# memory every 60 s (grader.core.allocator), and one sample a minute, taken at a phase of that
# cycle that drifts through the hour, read the drift as growth (an hour: +5.5% sampled once a
# minute, +2.1% by the server's own log of its RSS each minute at another phase)


def averaged(taken: list[dict[str, dict[int, int]]]) -> dict[str, dict[int, int]]:
    """The mean RSS of each process over the samples in which it was alive."""
    sums: dict[str, dict[int, list[int]]] = {}
    for sample in taken:
        for role, sizes in sample.items():
            for pid, size in sizes.items():
                sums.setdefault(role, {}).setdefault(pid, []).append(size)
    return {role: {pid: round(statistics.fmean(v)) for pid, v in pids.items()} for role, pids in sums.items()}


def largest_worker(samples: list[dict[str, dict[int, int]]]) -> float:
    """The largest pool worker's RSS in MiB at any of these minutes."""
    sizes = [size for sample in samples for size in sample.get("pool worker", {}).values()]
    return max(sizes, default=0) / MIB


def series(samples: dict[int, dict[str, dict[int, int]]], settled: int) -> dict[str, dict[int, float]]:
    """MiB by minute from minute ``settled`` on, of each process watched throughout: the
    server; the fork server and the server's other processes each by pid when the same ones
    lived throughout, else their sum."""
    later = {minute: sample for minute, sample in samples.items() if minute >= settled}
    rows: dict[str, dict[int, float]] = {}
    for role in ROLES:
        if role == "pool worker" or not all(sample.get(role) for sample in later.values()):
            continue
        pids = [set(sample[role]) for sample in later.values()]
        if role != "server" and all(found == pids[0] for found in pids):
            for pid in sorted(pids[0]):
                rows[f"{role} {pid}"] = {minute: s[role][pid] / MIB for minute, s in later.items()}
        else:
            rows[role] = {minute: sum(s[role].values()) / MIB for minute, s in later.items()}
    return rows


WINDOW = 6  # minutes in each window of the median check: the settled minute and 5 after it,
# the last minute and the 5 before it (a minute's sample sits anywhere in the band a minute's
# churn between two trims makes: up to 8% of the server's RSS; a median of 6 is not moved by it)


def growth_report(
    samples: dict[int, dict[str, dict[int, int]]], settled: int
) -> list[tuple[str, float, float, tuple[float, float] | None]]:
    """(name, MiB at minute ``settled``, MiB at the end, the medians of the first and the last
    :data:`WINDOW` minutes from ``settled`` on or None when the run is too short for two
    windows) of each process watched throughout; the pool workers, which retire and are
    replaced, as (the largest at any minute up to ``settled``, the largest at any minute after
    it, None)."""
    last = max(samples)
    rows: list[tuple[str, float, float, tuple[float, float] | None]] = []
    early = [sample for minute, sample in samples.items() if minute <= settled]
    later = [sample for minute, sample in samples.items() if minute > settled]
    if largest_worker(early) and largest_worker(later):
        rows.append(("largest pool worker", largest_worker(early), largest_worker(later), None))
    for name, sizes in series(samples, settled).items():
        medians = None
        if last - settled + 1 >= 2 * WINDOW:
            first = [sizes[minute] for minute in range(settled, settled + WINDOW)]
            final = [sizes[minute] for minute in range(last - WINDOW + 1, last + 1)]
            medians = (statistics.median(first), statistics.median(final))
        rows.append((name, sizes[settled], sizes[last], medians))
    return rows


def start_postgres() -> tuple[PostgresCluster, str]:
    bin_dir = pg_bin()
    if bin_dir is None:
        raise SystemExit(PG_SKIP)
    cluster = PostgresCluster(bin_dir)
    cluster.start()
    return cluster, cluster.new_database()


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--minutes", type=float, default=60.0, help="how long hand-ins arrive (default 60)")
    parser.add_argument("--rate", type=float, default=2.0, help="hand-ins per second (default 2)")
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--students", type=int, default=50, help="students handing in, in turn (default 50)")
    parser.add_argument("--parts", type=int, default=20, help="parts of the problem set (default 20)")
    parser.add_argument("--tas", type=int, default=2, help="TAs at work meanwhile (default 2)")
    parser.add_argument(
        "--ta-pause", type=float, default=2.0, help="seconds between a TA's requests (default 2)"
    )
    args = parser.parse_args()

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    cluster = None
    with tempfile.TemporaryDirectory(prefix="grader-soak-") as scratch:
        db_url = None
        if args.db == "postgresql":
            cluster, db_url = start_postgres()
        try:
            sheets_needed = min(MAX_SHEETS, int(args.minutes * 60 * args.rate) + 1)
            course, sheets = build_course(
                Path(scratch), db_url, args.students, sheets_needed, args.parts, args.tas
            )
            workers = Settings.model_fields["workers"].default  # grader serve's own default
            server = Server(course, workers)
            try:
                return soak(server, course, sheets, args, stop)
            finally:
                server.stop()
        finally:
            if cluster is not None:
                cluster.stop()


def say_what_went_wrong(server: Server, tally: Tally) -> None:
    if tally.accepted > tally.graded:  # a verdict not in within its 120 s: what the server said
        print(f"{tally.accepted - tally.graded} hand-ins had no verdict within {VERDICT_WAIT_SECONDS:g} s")
        said = server.log.read_text(errors="replace").splitlines()
        print("\n".join(text for text in said if "WARNING" in text or "ERROR" in text)[-4000:])
    if tally.errors:
        print(f"{len(tally.errors)} requests failed, the first: {tally.errors[0]}")
        said = server.log.read_text(errors="replace").splitlines()
        starts = [n for n, text in enumerate(said) if text.startswith("Traceback")]
        if starts:  # the first one's innermost frames and its error
            block = list(itertools.takewhile(lambda text: text[:1] in (" ", "T"), said[starts[0] :]))
            print("\n".join(block[-24:] + said[starts[0] + len(block) : starts[0] + len(block) + 1]))
    if tally.late:
        print(f"{tally.late} hand-ins were posted more than a second late (this client fell behind)")


def soak(
    server: Server, course: Course, sheets: list[Path], args: argparse.Namespace, stop: threading.Event
) -> int:
    deadline = time.monotonic() + 300
    while httpx.get(f"{server.url}/healthz").json()["workers"] != "ready":
        if time.monotonic() > deadline:
            raise SystemExit("the grading workers did not warm up in 5 minutes")
        time.sleep(0.2)
    print(
        f"soak: {args.minutes:g} min at {args.rate:g} hand-ins/s on {args.db}, {args.students} students,"
        f" {args.tas} TAs (a request each every {args.ta_pause:g} s),"
        f" {len(sheets)} distinct sheets of {args.parts} parts; grader serve at {server.url}"
    )
    tally = Tally()
    seconds = args.minutes * 60
    poster = threading.Thread(
        target=post_steadily, args=(server, course, sheets, args.rate, seconds, tally, stop), daemon=True
    )
    students = [name for name in sorted(course.tokens) if name.startswith("student-")]
    tas = [
        threading.Thread(
            target=ta_works,
            args=(server.url, course.tokens[name], students, args.ta_pause, tally, stop),
            daemon=True,
        )
        for name in sorted(course.tokens)
        if name.startswith("ta-")
    ]
    started = time.monotonic()
    poster.start()
    for ta in tas:
        ta.start()
    samples: dict[int, dict[str, dict[int, int]]] = {0: Processes.of(server).rss()}
    workers_seen: set[int] = set(samples[0].get("pool worker", {}))
    print(line("minute   0", samples[0], tally, len(workers_seen)), flush=True)
    minute = 1
    while minute * 60 <= seconds:
        taken, stopped = [], False
        while not stopped and time.monotonic() < started + minute * 60:
            taken.append(Processes.of(server).rss())
            workers_seen |= set(taken[-1].get("pool worker", {}))
            left = started + minute * 60 - time.monotonic()
            stopped = stop.wait(max(0.0, min(SAMPLE_SECONDS, left)))
        if not taken or stopped:
            break
        samples[minute] = averaged(taken)
        print(line(f"minute {minute:3d}", samples[minute], tally, len(workers_seen)), flush=True)
        if server.process.poll() is not None:
            print(f"the server ended ({server.process.returncode})")
            return 1
        minute += 1
    stop.set()
    poster.join(timeout=180)
    for ta in tas:
        ta.join(timeout=180)
    print(line("the last verdicts in", Processes.of(server).rss(), tally, len(workers_seen)))
    say_what_went_wrong(server, tally)
    last = max(samples)
    settled = f"after the first {SETTLING_MINUTES} minutes"
    if last <= SETTLING_MINUTES:
        print(f"ran {last} min: no verdict on growth, measured {settled}")
        return 0
    return verdict(samples, last, len(workers_seen))


def verdict(samples: dict[int, dict[str, dict[int, int]]], last: int, workers_seen: int) -> int:
    """Print how much each process grew after the settling minutes; 1 if any grew too much."""
    settled = f"after the first {SETTLING_MINUTES} minutes"
    rows = growth_report(samples, SETTLING_MINUTES)
    grown = []
    print(f"RSS from minute {SETTLING_MINUTES} to minute {last} (the largest pool worker: up to minute")
    print(f"{SETTLING_MINUTES}, then after it; {workers_seen} pool workers seen in all)", end="")
    if last - SETTLING_MINUTES + 1 >= 2 * WINDOW:
        early, final = f"{SETTLING_MINUTES}-{SETTLING_MINUTES + WINDOW - 1}", f"{last - WINDOW + 1}-{last}"
        print(f", judged by the median\nof minutes {early} against that of minutes {final}", end="")
    print(":")
    for name, before, after, medians in rows:
        change = (after - before) / before
        shown = f"  {name:24s} {before:7.1f} -> {after:7.1f} MiB  {change:+.1%}"
        if medians is not None:
            change = (medians[1] - medians[0]) / medians[0]
            shown += f"   medians {medians[0]:7.1f} -> {medians[1]:7.1f} MiB  {change:+.1%}"
        print(shown)
        if change > ALLOWED_GROWTH:
            grown.append(name)
    if grown:
        print(f"GREW by more than {ALLOWED_GROWTH:.0%} {settled}: {', '.join(grown)}")
        return 1
    print(f"none grew by more than {ALLOWED_GROWTH:.0%} {settled}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
