"""The service's queue over real HTTP when processes die: a server killed or stopped mid-queue,
a worker killed mid-job, two servers and a worker on one database: every hand-in graded once.
(Apart from tests/test_service_queue.py so that the suite's two workers share these slow tests.)"""

from __future__ import annotations

import os
import signal
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psutil
import pytest
from queue_support import assert_graded_once, database, graded_count, submit_many
from service_server import Server, Worker, make_course, wait_graded
from sqlalchemy import func, select

from grader.service.models import Job, VerdictRow


@pytest.mark.parametrize("how", ["SIGKILL", "SIGTERM", "SIGTERM to the group"])
def test_a_restart_mid_queue_grades_every_job_exactly_once(
    tmp_path: Path, db_url: str | None, how: str
) -> None:
    course = make_course(tmp_path / "course", db_url)
    db = database(course.folder, db_url)
    # ten claims' worth (a worker claims 16 jobs at once, and a graceful stop finishes the
    # ones in hand), queued by a server that grades nothing (a hand-in may take longer than a
    # grading: a fast grader would empty the queue before the stop), then a server grades them
    with Server(course, 1, "--web-only") as intake:
        ids = submit_many(intake, 160)
    assert graded_count(db) == 0
    server = Server(course, 1)
    deadline = time.monotonic() + 120
    while graded_count(db) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    if how == "SIGKILL":
        server.kill()  # jobs in hand stay 'grading' in the database until the next start
    else:  # graceful (the group: as systemd stops a service): jobs in hand finished or put back
        assert server.stop(timeout=60, group=how.endswith("group")) in (0, 143), server.log.read_text()
        assert '"event": "stopped"' in server.log.read_text()
        outliving = server.outliving(timeout=30)
        assert not outliving, f"processes of the server outlived it: {outliving}"
        with db.session() as session:
            assert session.scalar(select(func.count()).where(Job.status == "grading")) == 0
    stopped_with = graded_count(db)
    assert stopped_with < len(ids), "the queue was empty before the stop: nothing was tested"
    with Server(course, 2) as again, again.client("ta") as ta:
        deadline = time.monotonic() + 120
        while graded_count(db) < len(ids) and time.monotonic() < deadline:
            time.sleep(0.1)
        for submission in (ids[0], ids[-1]):  # as a TA's page asks (a poll each would meet the rate limit)
            wait_graded(ta, submission)
    with db.session() as session:
        jobs = session.scalars(select(Job)).all()
        verdicts = session.scalars(select(VerdictRow)).all()
    db.dispose()
    assert len(jobs) == len(ids) and all(job.status == "done" for job in jobs)
    assert sorted(v.submission_id for v in verdicts) == sorted(ids)  # one verdict per submission
    assert sorted(v.job_id for v in verdicts) == sorted(job.id for job in jobs)  # and per job


def test_a_worker_killed_mid_job_loses_nothing_and_each_hand_in_is_graded_once(
    tmp_path: Path, db_url: str | None
) -> None:
    """A ``--web-only`` server and a ``grader serve --worker``; the worker is killed (SIGKILL,
    its pool too) mid-queue and another started: its jobs in hand are claimed again, every
    hand-in ends graded, each once; the long poll sees verdicts written by another process."""
    course = make_course(tmp_path / "course", db_url)
    db = database(course.folder, db_url)
    with Server(course, 1, "--web-only") as server, server.client("ta") as ta:
        first = Worker(course, 1)
        try:
            ids = submit_many(server, 48)
            deadline = time.monotonic() + 120
            while graded_count(db) < 2 and time.monotonic() < deadline:
                time.sleep(0.05)
            with db.session() as session:
                held = session.scalar(select(func.count()).where(Job.status == "grading"))
            first.kill()
            assert graded_count(db) < len(ids), "the queue was empty before the kill: nothing was tested"
            second = Worker(course, 1)
            try:
                for submission in ids:
                    assert wait_graded(ta, submission, timeout=180)["status"] == "graded"
            finally:
                assert second.stop() == 0, second.log.read_text()
        finally:
            first.kill()
        assert held, "the killed worker held no job"
        assert "re-queued" in second.log.read_text()
    assert_graded_once(db, ids)
    db.dispose()


def test_two_servers_and_a_worker_on_one_database_grade_each_hand_in_once(
    tmp_path: Path, db_url: str | None
) -> None:
    """Two ``grader serve`` (each with its grading thread) and a ``--worker`` share one
    database; round after round of hand-ins to both servers: each is graded exactly once."""
    course = make_course(tmp_path / "course", db_url)
    db = database(course.folder, db_url)
    ids: list[int] = []
    with Server(course, 1) as one, Server(course, 1) as two, one.client("ta") as ta:
        worker = Worker(course, 1)
        try:
            for _ in range(6):
                with ThreadPoolExecutor(2) as pool:
                    rounds = list(pool.map(lambda server: submit_many(server, 12), [one, two]))
                ids += [submission for handed in rounds for submission in handed]
                for submission in ids[-24:]:
                    wait_graded(ta, submission, timeout=180)
        finally:
            assert worker.stop() == 0, worker.log.read_text()
    assert len(set(ids)) == len(ids) == 144
    assert_graded_once(db, ids)
    db.dispose()


def test_a_server_killed_alone_takes_its_pool_with_it_and_the_next_grades_its_jobs(tmp_path: Path) -> None:
    course = make_course(tmp_path / "course", None)
    db = database(course.folder, None)
    server = Server(course, 1)
    ids = submit_many(server, 48)
    deadline = time.monotonic() + 120
    while graded_count(db) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    family = psutil.Process(server.process.pid).children(recursive=True)
    os.kill(server.process.pid, signal.SIGKILL)  # the server only, not its process group
    server.process.wait(30)
    _gone, alive = psutil.wait_procs(family, timeout=60)
    assert not alive, f"the grading pool outlived its server: {alive}"
    assert graded_count(db) < len(ids), "the queue was empty before the kill: nothing was tested"
    with Server(course, 1) as again, again.client("ta") as ta:
        for submission in ids:
            wait_graded(ta, submission)
    assert_graded_once(db, ids)
    db.dispose()
