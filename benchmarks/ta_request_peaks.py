"""What each of a TA's requests costs as a course grows: its peak Python allocation and its time.

    python benchmarks/ta_request_peaks.py [--hand-ins 500,2000,8000] [--students 50] [--parts 20]

The soak (benchmarks/soak_service.py) has TAs make these requests while students hand in; the
allocator keeps a request's high-water mark, so a request whose peak grows with the number of
hand-ins grows the server. This builds the soak's synthetic class (``--students`` students, one
TA), grades a few distinct sheets in this process, then stores hand-ins with their verdicts
straight into the database (each a version of a student in turn, a graded report of those few,
its job done), and at each count of ``--hand-ins`` asks the service in this process (the app
called as a server calls it, in the event loop of FastAPI's TestClient, which runs its lifespan;
no grading workers; the body counted and dropped as it is sent, as a socket takes it) for each
path of a TA's: the peak that tracemalloc sees over the request (every thread's allocations,
above what was held when it began: the figure the allocator's high-water mark follows) and the
median time of ``--runs`` untraced requests. Prints a table
(path x hand-ins -> peak KiB, ms). SQLite in a scratch folder.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import anyio  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402
from make_class import make_class  # noqa: E402
from sqlalchemy import insert, select  # noqa: E402
from starlette.types import ASGIApp, Message  # noqa: E402

from grader.engine import grade  # noqa: E402
from grader.loading import load_problem_set, load_submission  # noqa: E402
from grader.service.app import create_app  # noqa: E402
from grader.service.blobs import dumps  # noqa: E402
from grader.service.crud.accounts import add_user  # noqa: E402
from grader.service.models import Assignment, Job, JobStatus, Submission, User, VerdictRow, utcnow  # noqa: E402
from grader.service.service import Service  # noqa: E402
from grader.service.settings import Settings  # noqa: E402

ASSIGNMENT = "synthetic-class"  # the assignment id make_class writes
GRADED_SHEETS = 12  # distinct reports the stored verdicts take in turn


def paths(first_student: str, submission_id: int) -> dict[str, str]:
    """The soak's TA requests (``ta_request``), by the name printed."""
    return {
        "/ta": "/ta",
        "/ta/assignments/A": f"/ta/assignments/{ASSIGNMENT}",
        "/api/v1/queue": "/api/v1/queue",
        "/api/v1/assignments/A/export": f"/api/v1/assignments/{ASSIGNMENT}/export",
        "/ta/students/X": f"/ta/students/{first_student}",
        "/submissions/ID": f"/submissions/{submission_id}",
        "/api/v1/assignments/A/submissions": f"/api/v1/assignments/{ASSIGNMENT}/submissions",
    }


def build(
    folder: Path, students: int, parts: int
) -> tuple[Settings, str, list[tuple[bytes, bytes, float, float]]]:
    """The course (its students and a TA), the TA's token, and the graded sheets: (answers file,
    stored report, score, max score) of each."""
    problem_file, class_folder = make_class(
        folder / "class-source", GRADED_SHEETS * 2, parts=parts, variety=True
    )
    (folder / "course" / "problems").mkdir(parents=True)
    (folder / "course" / "problems" / "soak.yaml").write_text(problem_file.read_text())
    settings = Settings(course_dir=folder / "course", workers=0, rate_limit=1_000_000)
    service = Service(settings, start_workers=False)
    with service.db.session() as db:
        for number in range(students):
            add_user(db, f"student-{number:03d}", "student")
        _, token = add_user(db, "ta-00", "ta")
    service.db.dispose()
    spec = load_problem_set(folder / "course" / "problems" / "soak.yaml")
    graded = []
    for sheet in sorted(class_folder.glob("*/answers.yaml")):
        submission = load_submission(sheet.parent)
        if submission.load_error:
            continue
        report = grade(spec, submission)
        graded.append((sheet.read_bytes(), dumps(report), report.score, report.max_score))
        if len(graded) == GRADED_SHEETS:
            break
    return settings, token, graded


def store_hand_ins(
    settings: Settings, first: int, last: int, graded: list[tuple[bytes, bytes, float, float]]
) -> int:
    """Hand-ins ``first`` to ``last`` (exclusive), each graded; the id of the last one stored."""
    service = Service(settings, start_workers=False)
    try:
        with service.db.session() as db:
            assignment_id, problem_hash = db.execute(
                select(Assignment.id, Assignment.problem_hash).filter_by(name=ASSIGNMENT)
            ).one()
            users = [
                row[0] for row in db.execute(select(User.id).filter_by(role="student").order_by(User.name))
            ]
            now = utcnow()
            for number in range(first, last):
                content, report, score, max_score = graded[number % len(graded)]
                user_id = users[number % len(users)]
                fields = {"assignment_id": assignment_id, "user_id": user_id, "filename": "answers.yaml"}
                fields |= {"version": number // len(users) + 1, "content": content, "content_hash": "x" * 64}
                fields |= {"late": False, "created_at": now}
                submission_id = db.execute(insert(Submission).returning(Submission.id), fields).scalar_one()
                job = {"submission_id": submission_id, "kind": "grade", "status": JobStatus.DONE}
                job |= {"created_at": now, "finished_at": now, "seconds": 0.1}
                job_id = db.execute(insert(Job).returning(Job.id), job).scalar_one()
                verdict = {"submission_id": submission_id, "job_id": job_id, "problem_hash": problem_hash}
                verdict |= {"score": score, "max_score": max_score, "report": report, "created_at": now}
                db.execute(insert(VerdictRow), verdict)
        return submission_id
    finally:
        service.db.dispose()


def traced_peak(call: Callable[[], object]) -> int:
    """The peak bytes Python allocated over ``call()`` above what was held when it began."""
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        call()
        return tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()


async def served(app: ASGIApp, path: str, token: str) -> int:
    """GET ``path`` straight through the app, as a server hands it a connection: each piece of
    the body counted and let go as it is sent (a client's copy is not the server's memory)."""
    status, received = 0, False
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET"}
    scope |= {"scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b""}
    scope |= {"root_path": "", "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 80)}
    scope["headers"] = [(b"host", b"127.0.0.1"), (b"authorization", f"Bearer {token}".encode())]

    async def receive() -> Message:
        nonlocal received
        if not received:
            received = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await anyio.sleep_forever()  # the client stays until the answer ends
        raise AssertionError

    async def send(message: Message) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(scope, receive, send)
    return status


def measure(client: TestClient, app: ASGIApp, token: str, path: str, runs: int) -> tuple[float, float]:
    """(peak KiB, median ms) of GET ``path``."""

    def get() -> None:
        status = client.portal.call(served, app, path, token)  # type: ignore[union-attr]
        if status != 200:
            raise SystemExit(f"GET {path}: {status}")

    get()  # warm: the first request of a kind builds what later ones reuse
    peak = traced_peak(get)
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        get()
        times.append((time.perf_counter() - began) * 1000)
    return peak / 1024, statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--hand-ins", default="500,2000,8000", help="counts to measure at (default 500,2000,8000)"
    )
    parser.add_argument("--students", type=int, default=50)
    parser.add_argument("--parts", type=int, default=20)
    parser.add_argument(
        "--runs", type=int, default=3, help="untraced requests timed at each count (default 3)"
    )
    args = parser.parse_args()
    counts = sorted(int(count) for count in args.hand_ins.split(","))
    table: dict[str, dict[int, tuple[float, float]]] = {}
    with tempfile.TemporaryDirectory(prefix="grader-ta-peaks-") as scratch:
        began = time.perf_counter()
        settings, token, graded = build(Path(scratch), args.students, args.parts)
        print(f"{len(graded)} distinct sheets graded in {time.perf_counter() - began:.1f} s", flush=True)
        stored = 0
        for count in counts:
            began = time.perf_counter()
            last_id = store_hand_ins(settings, stored, count, graded)
            stored = count
            print(f"{count} hand-ins stored ({time.perf_counter() - began:.1f} s)", flush=True)
            app = create_app(settings, start_workers=False)
            with TestClient(app) as client:  # its lifespan: the service started
                for name, path in paths("student-000", last_id).items():
                    table.setdefault(name, {})[count] = measure(client, app, token, path, args.runs)
            app.state.service.db.dispose()
    width = max(map(len, table))
    print()
    print(f"{'path':{width}s}  " + "  ".join(f"{f'{count} hand-ins':>22s}" for count in counts))
    print(f"{'':{width}s}  " + "  ".join(f"{'peak KiB':>11s} {'ms':>10s}" for _ in counts))
    for name, figures in table.items():
        cells = [f"{figures[count][0]:11,.0f} {figures[count][1]:10.1f}" for count in counts]
        print(f"{name:{width}s}  " + "  ".join(cells))
    return 0


if __name__ == "__main__":
    sys.exit(main())
