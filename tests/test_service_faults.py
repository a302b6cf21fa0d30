"""The service under faults, over real HTTP, on SQLite and PostgreSQL: grading workers killed
from outside, a database that is down or hung, a full disk, a server stopped by SIGTERM.
What docs/service.md promises under each ("What holds under faults")."""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import httpx
import psutil
import pytest
from service_fixtures import PG_SKIP, PostgresCluster, pg_bin
from service_server import (
    Course,
    Server,
    grading_paused,
    make_course,
    seed_file,
    wait_graded,
    wait_workers_ready,
)
from sqlalchemy import select

from grader.service.blobs import loads
from grader.service.db import Database
from grader.service.models import Job, Submission, VerdictRow
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
    """The server's pool workers: the children of its fork server."""
    workers = []
    for child in psutil.Process(server.process.pid).children():
        if "forkserver" in " ".join(child.cmdline()):
            workers += child.children()
    return workers


def test_pool_workers_killed_mid_queue_cost_no_submission(tmp_path: Path, db_url: str | None) -> None:
    """SIGKILL, as the OOM killer sends it, to one pool worker after another while a queue is
    graded: every submission ends graded, by its checks (no 0-point `error` verdict), once. The
    queue is handed in with grading paused, so that the kills land in it however fast the
    machine grades (a worker killed holding the pool's channel lock once stalled it for good)."""
    course = make_course(tmp_path / "course", db_url, students=STUDENTS)
    db = database(course.folder, db_url)
    with Server(course, 2, "--rate-limit", "100000") as server:
        with grading_paused(server):
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
    unfinished = [(job.id, job.status, job.attempts) for job in jobs if job.status != "done"]
    assert not unfinished, f"jobs not graded in time: {unfinished}"
    assert sorted(v.submission_id for v in graded) == sorted(ids), "a submission was graded twice"
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


class Cluster(PostgresCluster):
    """A PostgreSQL cluster of the test's own, to stop or freeze without touching the others."""

    def postgres_processes(self) -> list[psutil.Process]:
        postmaster = int((self.data / "postmaster.pid").read_text().split()[0])
        main = psutil.Process(postmaster)
        return [main, *main.children(recursive=True)]

    @contextmanager
    def frozen(self) -> Iterator[None]:
        """The database hung: the postmaster and every backend stopped (SIGSTOP), as a server
        whose machine or disk stopped answering; they go on (SIGCONT) at the end."""
        processes = self.postgres_processes()
        for process in processes:
            process.send_signal(signal.SIGSTOP)
        try:
            yield
        finally:
            for process in processes:
                process.send_signal(signal.SIGCONT)

    def pg_ctl(self, *args: str) -> None:
        self._run(str(self.bin_dir / "pg_ctl"), "-D", str(self.data), *args)

    def halt(self) -> None:
        """PostgreSQL stopped (its connections closed), as for a restart or a crash."""
        self.pg_ctl("-m", "fast", "-w", "stop")

    def read_only(self, on: bool) -> None:
        """Every transaction read-only from now (as on a replica), or writable again: the
        setting reloaded into every open session, the server's pool included."""
        import psycopg

        setting = "on" if on else "off"
        with psycopg.connect(f"postgresql://grader@127.0.0.1:{self.port}/postgres", autocommit=True) as conn:
            conn.execute(f"ALTER SYSTEM SET default_transaction_read_only = {setting}")
            conn.execute("SELECT pg_reload_conf()")
        time.sleep(0.5)  # each backend takes the reloaded setting at its next command

    def start_again(self) -> None:
        options = f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.root} -c fsync=off"
        self.pg_ctl("-o", options, "-l", str(self.root / "log"), "-w", "start")


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    bin_dir = pg_bin()
    if bin_dir is None:
        pytest.skip(PG_SKIP)
    own = Cluster(bin_dir)
    own.start()
    try:
        yield own
    finally:
        own.stop()


def test_a_hung_database_stalls_no_request_that_does_not_need_it(tmp_path: Path, cluster: Cluster) -> None:
    """PostgreSQL frozen (SIGSTOP) while students' requests wait on it: the server still answers
    at once what needs no database (/favicon.ico), /healthz says the database is down within its
    bounded check, and once the database goes on every request is answered again."""
    course = make_course(tmp_path / "course", cluster.new_database(), students=STUDENTS)
    with Server(course, 1) as server, ThreadPoolExecutor(12) as pool:
        with cluster.frozen():
            # students polling their hand-ins: each waits on the database (a token lookup)
            stuck = [
                pool.submit(lambda name=name: server.client(name).get("/api/v1/me/submissions", timeout=120))
                for name in STUDENTS * 2
            ]
            time.sleep(1.0)
            favicon = httpx.get(f"{server.url}/favicon.ico", timeout=5)
            health = httpx.get(f"{server.url}/healthz", timeout=10)
            assert not any(future.done() for future in stuck), "the database was not frozen"
        assert favicon.status_code == 204
        assert health.status_code == 503 and health.json()["database"] == "down", health.text
        answered = [future.result(timeout=120) for future in stuck]
        assert {response.status_code for response in answered} <= {200, 503}
        with server.client("s1") as student:
            assert student.get("/api/v1/me/submissions").status_code == 200
        assert httpx.get(f"{server.url}/healthz").json()["database"] == "up"


HAND_IN = f"/api/v1/assignments/{ASSIGNMENT}/submissions"
ONE_ANSWER = {"answers": {"q7.output_size": 1}}


def assert_refused_and_not_kept(response: httpx.Response) -> None:
    """The answer to a hand-in the database could not take: JSON a person can act on."""
    assert response.status_code == 503, response.text
    assert response.headers["content-type"] == "application/json"
    assert int(response.headers["retry-after"]) > 0
    error = response.json()["error"]
    assert error["status"] == 503 and error["kept"] is False
    assert "NOT kept" in error["message"] and "send it again" in error["message"]


def refusals(server: Server) -> int:
    """How many hand-ins the server answered 503 for its database (from its log)."""
    return server.log.read_text().count(f"POST {HAND_IN} answered 503")


def grader_submit(server: Server, folder: Path, student: str) -> subprocess.Popen[str]:
    """``grader submit`` of ``folder`` as ``student``, in a process of its own."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "answers.yaml").write_bytes(seed_file("activations-softmax-conv", "seed-001"))
    command = [sys.executable, "-c", "from grader.cli import main; main()", "submit", str(folder)]
    command += ["--server", server.url, "--token", server.course.tokens[student], "--assignment", ASSIGNMENT]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for(condition: object, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def kept_versions(course: Course) -> list[tuple[int, int]]:
    """(user id, version) of every hand-in the database holds."""
    db = database(course.folder, course.db_url)
    try:
        with db.session() as session:
            return sorted(session.execute(select(Submission.user_id, Submission.version)).all())
    finally:
        db.dispose()


def assert_submit_sent_again_and_graded(submit: subprocess.Popen[str]) -> None:
    out, err = submit.communicate(timeout=180)
    assert submit.returncode == 0, (out, err)
    assert "the server answered 503" in err and "NOT kept" in err and "sending it again in 5 s" in err, err
    assert out.splitlines()[-1].startswith("score "), out


class Held:
    """A transaction of another client that holds what a hand-in writes, as a stuck job or a
    backup tool can: PostgreSQL's ACCESS EXCLUSIVE lock on the submissions, SQLite's write lock."""

    def __init__(self, course: Course):
        if course.db_url is None:
            path = course.folder / ".grader-service" / "grader.sqlite3"
            self.connection: object = sqlite3.connect(path, isolation_level=None)
            self.connection.execute("BEGIN IMMEDIATE")  # type: ignore[attr-defined]
        else:
            import psycopg

            self.connection = psycopg.connect(course.db_url)
            self.connection.execute("LOCK TABLE submissions IN ACCESS EXCLUSIVE MODE")

    def release(self) -> None:
        self.connection.rollback()  # type: ignore[attr-defined]
        self.connection.close()  # type: ignore[attr-defined]


def test_a_database_held_past_its_statement_timeout_answers_503_and_grader_submit_sends_again(
    tmp_path: Path, db_url: str | None
) -> None:
    """A hand-in that waits on the database past --db-statement-timeout is answered 503 at once
    (JSON: NOT kept, Retry-After), nothing of it stored; `grader submit` meeting it sends again
    after the Retry-After, saying so, and its hand-in is kept and graded once the lock is gone."""
    course = make_course(tmp_path / "course", db_url, students=STUDENTS)
    with Server(course, 1, "--db-statement-timeout", "2") as server, server.client("s0") as student:
        held = Held(course)
        try:
            assert_refused_and_not_kept(student.post(HAND_IN, json=ONE_ANSWER, timeout=20))
            submit = grader_submit(server, tmp_path / "repo", "s1")
            wait_for(lambda: refusals(server) >= 2)  # grader submit met the 503 too
        finally:
            held.release()
        assert_submit_sent_again_and_graded(submit)
        kept = student.post(HAND_IN, json=ONE_ANSWER)
        assert kept.status_code == 202 and kept.json()["version"] == 1  # the refused one was not kept
        wait_graded(student, kept.json()["id"])
    assert len(kept_versions(course)) == 2


def test_postgresql_stopped_answers_503_and_grader_submit_hands_in_once_it_is_back(
    tmp_path: Path, cluster: Cluster
) -> None:
    """PostgreSQL stopped under a running server: /healthz says so, a hand-in is answered 503
    (NOT kept) at once, `grader submit` sends again until PostgreSQL is back; then the server
    serves and grades again without a restart."""
    course = make_course(tmp_path / "course", cluster.new_database(), students=STUDENTS)
    with Server(course, 1) as server, server.client("s0") as student:
        wait_workers_ready(server)
        cluster.halt()
        try:
            # /healthz shares one look at the database for --counts-seconds (1 s): the next says so
            wait_for(lambda: httpx.get(f"{server.url}/healthz", timeout=10).status_code == 503, timeout=10)
            health = httpx.get(f"{server.url}/healthz", timeout=10)
            assert health.status_code == 503 and health.json()["database"] == "down"
            assert_refused_and_not_kept(student.post(HAND_IN, json=ONE_ANSWER, timeout=20))
            page = student.get("/", headers={"accept": "text/html"}, timeout=20)
            submit = grader_submit(server, tmp_path / "repo", "s1")
            wait_for(lambda: refusals(server) >= 2)
        finally:
            cluster.start_again()
        assert_submit_sent_again_and_graded(submit)
        kept = student.post(HAND_IN, json=ONE_ANSWER)
        assert kept.status_code == 202 and kept.json()["version"] == 1
        wait_graded(student, kept.json()["id"])
        assert httpx.get(f"{server.url}/healthz").json()["database"] == "up"
    assert page.status_code == 503  # a bearer token on a page: the same message
    assert len(kept_versions(course)) == 2


def test_postgresql_turned_read_only_answers_503_not_kept_and_grader_submit_sends_again(
    tmp_path: Path, cluster: Cluster
) -> None:
    """PostgreSQL turned read-only under a running server (as a replica is after a fail-over):
    every write, a student's hand-in and a TA's regrade alike, is answered the JSON 503 "NOT
    kept" with Retry-After (never a bare 500); `grader submit` sends again until writes are
    taken, and the server then serves and grades without a restart."""
    course = make_course(tmp_path / "course", cluster.new_database(), students=STUDENTS)
    with Server(course) as server, server.client("s0") as student, server.client("ta") as ta:
        wait_workers_ready(server)
        first = student.post(HAND_IN, json=ONE_ANSWER)
        assert first.status_code == 202
        wait_graded(student, first.json()["id"])
        cluster.read_only(True)
        try:
            for _ in range(3):  # every pooled connection, not only a fresh one
                assert_refused_and_not_kept(student.post(HAND_IN, json=ONE_ANSWER, timeout=20))
            regrade = ta.post(f"/api/v1/submissions/{first.json()['id']}/regrade", timeout=20)
            assert regrade.status_code == 503 and regrade.headers["content-type"] == "application/json"
            assert regrade.json()["error"]["kept"] is False
            submit = grader_submit(server, tmp_path / "repo", "s1")
            wait_for(lambda: refusals(server) >= 4)
        finally:
            cluster.read_only(False)
        assert_submit_sent_again_and_graded(submit)
        kept = student.post(HAND_IN, json=ONE_ANSWER)
        assert kept.status_code == 202 and kept.json()["version"] == 2
        wait_graded(student, kept.json()["id"])
    assert len(kept_versions(course)) == 3


@contextmanager
def small_disk(folder: Path, size: str = "8m") -> Iterator[None]:
    """``folder`` on a tmpfs of ``size`` of its own (its files copied there): a disk that fills."""
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("a disk to fill: mounting a small tmpfs needs root")
    kept = Path(tempfile.mkdtemp())
    shutil.copytree(folder, kept, dirs_exist_ok=True)
    mount = ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)]
    mounted = subprocess.run(mount, check=False)
    if mounted.returncode != 0:
        pytest.skip("a disk to fill: mounting a small tmpfs is not allowed here (CAP_SYS_ADMIN)")
    try:
        shutil.copytree(kept, folder, dirs_exist_ok=True)
        yield
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)
        shutil.rmtree(kept, ignore_errors=True)


def fill(folder: Path) -> Path:
    """Write a file in ``folder`` until its disk is full; the file."""
    filler = folder / "filler"
    with filler.open("wb", buffering=0) as stream:  # unbuffered: nothing left to write at its close
        try:
            while True:
                stream.write(b"\0" * 65536)
        except OSError:
            pass
    return filler


def test_a_full_disk_answers_503_and_keeps_nothing_half_written(tmp_path: Path) -> None:
    """The disk under the SQLite database full (a tmpfs of 8 MB filled by another file): a hand-in
    is answered 503 (JSON, NOT kept), nothing of it stored; once space is freed, hand-ins are
    kept and graded again without a restart."""
    course = make_course(tmp_path / "course", None, students=STUDENTS)
    data = course.folder / ".grader-service"
    with small_disk(data), Server(course, 1) as server, server.client("s0") as student:
        wait_workers_ready(server)
        filler = fill(data)
        answers = {"answers": {"q6.full": "[" + ", ".join(["1"] * 20000) + "]"}}  # a page or more
        for _ in range(3):
            assert_refused_and_not_kept(student.post(HAND_IN, json=answers, timeout=30))
        filler.unlink()
        kept = student.post(HAND_IN, json=answers)
        assert kept.status_code == 202 and kept.json()["version"] == 1, kept.text
        wait_graded(student, kept.json()["id"])
        assert [version for _, version in kept_versions(course)] == [1]  # the refused ones: not kept


def assert_degraded_then_ok(
    server: Server, ta: httpx.Client, ids: list[int], db: Database, free: object
) -> None:
    """Grading cannot store its verdicts: /healthz and /ta say so with the reason; once
    ``free()`` gives the database its writes back, grading resumes by itself, each hand-in once."""
    wait_for(lambda: httpx.get(f"{server.url}/healthz").json()["grading_loop"] != "ok", timeout=120)
    health = httpx.get(f"{server.url}/healthz").json()
    assert health["status"] == "degraded" and "database" in health["grading_loop"], health
    page = ta.get("/ta")
    assert page.status_code == 200 and "grading-trouble" in page.text and "Grading is held up" in page.text
    free()  # type: ignore[operator]
    for submission in ids:
        assert wait_graded(ta, submission, timeout=180)["status"] == "graded"
    wait_for(lambda: httpx.get(f"{server.url}/healthz").json()["grading_loop"] == "ok")
    assert httpx.get(f"{server.url}/healthz").json()["status"] == "ok"
    assert "grading-trouble" not in ta.get("/ta").text
    graded = [row.submission_id for row in verdicts(db)]
    assert sorted(set(graded) & set(ids)) == sorted(ids) and len(graded) == len(set(graded))


def test_a_disk_filled_under_grading_is_degraded_with_its_reason_and_resumes_by_itself(
    tmp_path: Path,
) -> None:
    """Hand-ins queued, then the disk under SQLite filled (a tmpfs of 8 MB): the grading loop
    cannot write its verdicts (nor checkpoint the log); /healthz says "degraded" with the
    reason, /ta shows it, a new hand-in is refused 503 not kept; space freed, it resumes."""
    course = make_course(tmp_path / "course", None, students=STUDENTS)
    data = course.folder / ".grader-service"
    db = database(course.folder, None)
    big = {"answers": {"q6.full": "[" + ", ".join(["1"] * 20000) + "]", "q7.output_size": 1}}
    with small_disk(data), Server(course, 1) as server, server.client("ta") as ta:
        with grading_paused(server):
            ids = []
            for name in STUDENTS:
                with server.client(name) as student:
                    response = student.post(HAND_IN, json=big)
                    assert response.status_code == 202, response.text
                    ids.append(response.json()["id"])
            filler = fill(data)
        with server.client("s0") as student:
            assert_refused_and_not_kept(student.post(HAND_IN, json=ONE_ANSWER, timeout=30))
        assert_degraded_then_ok(server, ta, ids, db, filler.unlink)
    db.dispose()


def test_postgresql_read_only_under_grading_is_degraded_with_its_reason_and_resumes(
    tmp_path: Path, cluster: Cluster
) -> None:
    """PostgreSQL's equivalent: hand-ins queued, then every transaction read-only (a replica):
    grading is "degraded" with the reason on /healthz and /ta; writable again, it resumes."""
    course = make_course(tmp_path / "course", cluster.new_database(), students=STUDENTS)
    db = database(course.folder, course.db_url)
    with Server(course, 1) as server, server.client("ta") as ta:
        try:
            with grading_paused(server):
                ids = []
                for name in STUDENTS:
                    with server.client(name) as student:
                        response = student.post(HAND_IN, json=ONE_ANSWER)
                        assert response.status_code == 202, response.text
                        ids.append(response.json()["id"])
                cluster.read_only(True)
            assert_degraded_then_ok(server, ta, ids, db, lambda: cluster.read_only(False))
        finally:
            cluster.read_only(False)
    db.dispose()
