"""The service under faults, over real HTTP, on SQLite and PostgreSQL: grading workers killed
from outside, a database that is down or hung, a full disk, a server stopped by SIGTERM.
What docs/service.md promises under each ("What holds under faults")."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import psutil
from service_server import Server, grading_process, make_course, wait_workers_ready
from sqlalchemy import select

from grader.batch.blobs import loads
from grader.service.db import Database, Job, VerdictRow
from grader.service.settings import Settings

ASSIGNMENT = "a1-activations-conv"
STUDENTS = tuple(f"s{n}" for n in range(8))


def database(course_folder: Path, db_url: str | None) -> Database:
    return Database(Settings(course_dir=course_folder, db_url=db_url).database_url)


def hand_in_many(server: Server, count: int) -> list[int]:
    """``count`` hand-ins, each a different answers sheet (the verdict store decides each anew)."""
    clients = [server.client(name) for name in STUDENTS]
    ids = []
    try:
        for index in range(count):
            answers = {
                "q6.full": f"[1, 2, 5, 8, 6, {index}]",
                "q7.output_size": index,
                "q3.two_class": "x_1 - x_2",
            }
            response = clients[index % len(clients)].post(
                f"/api/v1/assignments/{ASSIGNMENT}/submissions", json={"answers": answers}
            )
            assert response.status_code == 202, response.text
            ids.append(response.json()["id"])
    finally:
        for client in clients:
            client.close()
    return ids


def verdicts(db: Database) -> list[VerdictRow]:
    with db.session() as session:
        return list(session.scalars(select(VerdictRow)).all())


def pool_workers(server: Server) -> list[psutil.Process]:
    """The grading process's pool workers: the children of its fork server."""
    workers = []
    for child in grading_process(server).children():
        if "forkserver" in " ".join(child.cmdline()):
            workers += child.children()
    return workers


def test_pool_workers_killed_mid_queue_cost_no_submission(tmp_path: Path, db_url: str | None) -> None:
    """SIGKILL, as the OOM killer sends it, to one pool worker after another while a queue is
    graded: every submission ends graded, by its checks (no 0-point `error` verdict), once."""
    course = make_course(tmp_path / "course", db_url, students=STUDENTS)
    db = database(course.folder, db_url)
    with Server(course, 2, "--rate-limit", "100000") as server:
        wait_workers_ready(server)
        ids = hand_in_many(server, 240)
        killed: list[int] = []
        deadline = time.monotonic() + 120
        while len(killed) < 4 and time.monotonic() < deadline:
            done = len(verdicts(db))
            if done >= len(ids):
                break
            if done >= 5 * (len(killed) + 1):  # spread over the queue
                victims = [w for w in pool_workers(server) if w.pid not in killed]
                if victims:
                    os.kill(victims[0].pid, signal.SIGKILL)
                    killed.append(victims[0].pid)
            time.sleep(0.02)
        assert killed, "no pool worker was killed: nothing was tested"
        while len(verdicts(db)) < len(ids) and time.monotonic() < deadline:
            time.sleep(0.1)
        graded = verdicts(db)
        with db.session() as session:
            jobs = session.scalars(select(Job)).all()
    db.dispose()
    assert sorted(v.submission_id for v in graded) == sorted(ids), "a submission was lost or graded twice"
    assert all(job.status == "done" for job in jobs)
    failed = {}
    for verdict in graded:
        report = loads(verdict.report)
        if report.error or any(part.status.value == "error" for part in report.parts):
            failed[verdict.submission_id] = report.error
    assert not failed, f"{len(failed)} submission(s) got an error verdict after {len(killed)} kills: {failed}"


def test_sigterm_stops_the_server_with_status_0(tmp_path: Path) -> None:
    """systemd stops the documented unit with SIGTERM and counts any status but 0 as a failure
    (143 included): a graceful stop, hand-ins in flight, exits 0 and leaves no process behind."""
    course = make_course(tmp_path / "course", None, students=STUDENTS)
    server = Server(course, 2, "--rate-limit", "100000")
    hand_in_many(server, 40)
    assert server.stop(timeout=60) == 0, server.log.read_text()
    assert '"event": "stopped"' in server.log.read_text()
    assert not server.outliving(timeout=30)
