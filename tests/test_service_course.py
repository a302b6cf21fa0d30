"""The course folder in force: a course.yaml or problem file that does not load changes
nothing (the TA sees why on /ta and in /healthz); deadlines in the course's time zone; several
course folders on one database never put an older problem file back in force."""

from __future__ import annotations

import datetime as dt
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from service_fixtures import PostgresCluster
from service_server import ROOT, Server, make_course, wait_graded
from sqlalchemy import column, func, insert, select, table

from grader.course.files import problem_digest
from grader.service.course import CourseState
from grader.service.db import Database, migrate
from grader.service.models import Assignment, Course, Job, Submission, VerdictRow
from grader.service.settings import Settings

BASICS = ROOT / "tests" / "fixtures" / "basics.yaml"
UTC = dt.UTC


@pytest.fixture
def database(tmp_path: Path, db_url: str | None) -> Iterator[Database]:
    """A migrated database of the service: SQLite in a file, or a fresh PostgreSQL one."""
    url = db_url or f"sqlite:///{tmp_path / 'grader.sqlite3'}"
    url = url.replace("postgresql://", "postgresql+psycopg://", 1)
    migrate(url)
    db = Database(url)
    yield db
    db.dispose()


def course_folder(root: Path, course_yaml: str | None = None) -> Path:
    (root / "problems").mkdir(parents=True)
    shutil.copy(BASICS, root / "problems" / "basics.yaml")
    if course_yaml is not None:
        (root / "course.yaml").write_text(course_yaml)
    return root


def rewrite(path: Path, text: str) -> None:
    """Write a file so that a re-read sees it changed (a new size or a new modification time)."""
    before = path.stat().st_mtime_ns if path.exists() else 0
    path.write_text(text)
    while path.stat().st_mtime_ns == before:
        time.sleep(0.01)
        path.write_text(text)


# ---- time zones (item 7) ---------------------------------------------------------------------


def test_deadlines_are_read_in_the_course_time_zone_and_a_date_is_the_end_of_that_day(
    tmp_path: Path, database: Database
) -> None:
    folder = course_folder(
        tmp_path / "course",
        "timezone: Europe/Berlin\nassignments:\n  basics: {due: 2026-11-30, release: '2026-12-02T09:00'}\n",
    )
    course = CourseState(database, folder, "course")
    course.sync(force=True)
    basics = course.get("basics")
    assert basics is not None
    # Berlin is UTC+1 in winter: the whole of 30 November in Berlin is before the due.
    assert basics.due == dt.datetime(2026, 11, 30, 22, 59, 59, 999999, tzinfo=UTC)
    assert basics.release == dt.datetime(2026, 12, 2, 8, 0, tzinfo=UTC)
    # A time with an offset is that time, whatever the course's zone; summer time counts.
    rewrite(
        folder / "course.yaml",
        "timezone: Europe/Berlin\n"
        "assignments:\n"
        "  basics: {due: '2026-06-30T23:59:00Z', release: '2026-07-01 12:00'}\n",
    )
    course.sync()
    basics = course.get("basics")
    assert basics is not None
    assert basics.due == dt.datetime(2026, 6, 30, 23, 59, tzinfo=UTC)
    assert basics.release == dt.datetime(2026, 7, 1, 10, 0, tzinfo=UTC)
    with database.session() as db:  # what every server reads
        row = db.scalar(select(Assignment).where(Assignment.name == "basics"))
        assert row is not None and row.release == dt.datetime(2026, 7, 1, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("course_yaml", "line", "words"),
    [
        # no timezone: a time without an offset could be any of 24 hours
        ("assignments:\n  basics:\n    due: '2026-12-01T17:00'\n", 3, "timezone"),
        ("assignments:\n  basics:\n    due: 2026-12-01\n", 3, "timezone"),
        ("timezone: Europe/Berlln\nassignments:\n  basics: {due: 2026-12-01}\n", 1, "Europe/Berlln"),
        # 02:30 on the last Sunday of March does not exist in Berlin: the clocks jump to 03:00
        ("timezone: Europe/Berlin\nassignments:\n  basics:\n    due: '2026-03-29T02:30'\n", 4, "exist"),
        ("timezone: UTC\nassignments:\n  basics:\n    due: next friday\n", 4, "next friday"),
        ("assignments:\n  basics: {due: '2026-12-01T17:00:00Z', relase: 2026-12-02}\n", 2, "relase"),
        ("assignments:\n  basics: {due: '2026-12-01T17:00:00Z'\n", 3, "YAML"),
    ],
    ids=["time", "date", "zone", "no such time", "not a time", "unknown key", "yaml"],
)
def test_a_course_yaml_that_does_not_load_changes_no_deadline_and_says_where(
    tmp_path: Path, database: Database, course_yaml: str, line: int, words: str
) -> None:
    good = "assignments:\n  basics: {due: '2030-01-01T12:00:00Z', release: '2030-01-02T12:00:00Z'}\n"
    folder = course_folder(tmp_path / "course", good)
    course = CourseState(database, folder, "course")
    course.sync(force=True)
    in_force = (dt.datetime(2030, 1, 1, 12, tzinfo=UTC), dt.datetime(2030, 1, 2, 12, tzinfo=UTC))
    rewrite(folder / "course.yaml", course_yaml)
    course.sync()
    basics = course.get("basics")
    assert basics is not None and (basics.due, basics.release) == in_force
    [notice] = course.notices
    assert (notice.file, notice.line) == ("course.yaml", line)
    assert words in notice.message
    # A server started on the broken file keeps the database's deadlines, and says why.
    again = CourseState(database, folder, "course")
    again.sync(force=True)
    basics = again.get("basics")
    assert basics is not None and (basics.due, basics.release) == in_force
    assert [(n.file, n.line) for n in again.notices] == [("course.yaml", line)]
    rewrite(folder / "course.yaml", good.replace("2030-01-01", "2030-02-01"))
    again.sync()
    basics = again.get("basics")
    assert (
        again.notices == () and basics is not None and basics.due == dt.datetime(2030, 2, 1, 12, tzinfo=UTC)
    )


def test_a_new_problem_file_waits_while_course_yaml_does_not_load(tmp_path: Path, database: Database) -> None:
    """Its deadlines are in the file that does not load: taken without them, its hidden
    verdicts would be shown at once."""
    folder = course_folder(tmp_path / "course", "assignments: [\n")
    course = CourseState(database, folder, "course")
    course.sync(force=True)
    assert course.get("basics") is None
    assert {n.file for n in course.notices} == {"course.yaml", "problems/basics.yaml"}
    rewrite(folder / "course.yaml", "assignments:\n  basics: {due: '2030-01-01T12:00:00Z'}\n")
    course.sync()
    basics = course.get("basics")
    assert basics is not None and basics.due == dt.datetime(2030, 1, 1, 12, tzinfo=UTC)
    assert course.notices == ()


# ---- several course folders on one database (item 9) ------------------------------------------


def test_a_folder_with_an_older_problem_file_never_puts_it_back(tmp_path: Path, database: Database) -> None:
    original = BASICS.read_text()
    edited = original.replace("answer: 131072", "answer: 131073")
    assert edited != original
    here, there = course_folder(tmp_path / "a"), course_folder(tmp_path / "b")
    a, b = CourseState(database, here, "course"), CourseState(database, there, "course")
    a.sync(force=True)
    b.sync(force=True)
    rewrite(here / "problems" / "basics.yaml", edited)  # a TA edits the file on machine a
    assert a.sync() == ["basics"]
    b.refresh()  # machine b grades with the database's text, its folder untouched
    assert b.get("basics").problem_hash == problem_digest(edited)  # type: ignore[union-attr]
    assert b.sync() == [] and b.get("basics").problem_hash == problem_digest(edited)  # type: ignore[union-attr]
    # machine b restarts with its older file: it is not put back, and b says so
    for restarted in (b, CourseState(database, there, "course")):
        assert restarted.sync(force=True) == []
        assert restarted.get("basics").problem_hash == problem_digest(edited)  # type: ignore[union-attr]
        [notice] = restarted.notices
        assert notice.file == "problems/basics.yaml" and "older" in notice.message
    assert a.notices == ()
    # machine a's TA takes the edit back (git checkout): the folder changed, so it is taken
    rewrite(here / "problems" / "basics.yaml", original)
    assert a.sync() == ["basics"]
    b.sync(force=True)
    assert b.get("basics").problem_hash == problem_digest(original) and b.notices == ()  # type: ignore[union-attr]
    # and an edit on machine b is taken too: the newest edit is in force
    third = original.replace("answer: 131072", "answer: 131074")
    rewrite(there / "problems" / "basics.yaml", third)
    assert b.sync() == ["basics"]
    a.sync(force=True)
    assert a.get("basics").problem_hash == problem_digest(third)  # type: ignore[union-attr]
    assert [n.file for n in a.notices] == ["problems/basics.yaml"]


def test_a_folder_with_an_older_course_yaml_never_puts_its_deadlines_back(
    tmp_path: Path, database: Database
) -> None:
    first = "assignments:\n  basics: {due: '2030-01-01T12:00:00Z'}\n"
    extended = "assignments:\n  basics: {due: '2030-01-08T12:00:00Z'}\n"
    here, there = course_folder(tmp_path / "a", first), course_folder(tmp_path / "b", first)
    a, b = CourseState(database, here, "course"), CourseState(database, there, "course")
    a.sync(force=True)
    b.sync(force=True)
    rewrite(here / "course.yaml", extended)  # the class gets a week more, on machine a
    a.sync()
    restarted = CourseState(database, there, "course")
    restarted.sync(force=True)
    assert restarted.get("basics").due == dt.datetime(2030, 1, 8, 12, tzinfo=UTC)  # type: ignore[union-attr]
    assert [n.file for n in restarted.notices] == ["course.yaml"]


# ---- over HTTP: what the TA sees (items 6 and 9) -----------------------------------------------

ASSIGNMENT = "a1-activations-conv"
PROBLEM = "problems/activations-softmax-conv.yaml"
FUTURE = (
    "assignments:\n  a1-activations-conv: {due: '2090-01-01T12:00:00Z', release: '2090-01-02T12:00:00Z'}\n"
)


def assignment_listing(server: Server) -> dict[str, object]:
    with server.client("alice") as alice:
        [listed] = [
            a for a in alice.get("/api/v1/assignments").json()["assignments"] if a["name"] == ASSIGNMENT
        ]
    return listed  # type: ignore[no-any-return]


def wait_for_health(server: Server, status: str, files: int = 0, timeout: float = 30) -> dict[str, Any]:
    """/healthz once it says ``status`` with (at least) ``files`` files not in force, or at the timeout."""
    deadline = time.monotonic() + timeout
    while True:
        health: dict[str, Any] = httpx.get(f"{server.url}/healthz").json()
        if health["status"] == status and len(health["course_files"]) >= files:
            return health
        if time.monotonic() > deadline:
            return health
        time.sleep(0.2)


def test_a_broken_course_file_keeps_what_is_in_force_and_the_ta_sees_where(
    tmp_path: Path, db_url: str | None
) -> None:
    course = make_course(tmp_path / "course", db_url, course_yaml=FUTURE)
    problem = course.folder / PROBLEM
    with Server(course) as server, server.client("ta") as ta:
        listed = assignment_listing(server)
        assert listed["due"] == "2090-01-01T12:00:00+00:00"
        assert wait_for_health(server, "ok")["status"] == "ok"
        rewrite(course.folder / "course.yaml", FUTURE.replace("release:", "relase:"))  # a typo
        rewrite(problem, problem.read_text().replace("answer: 73728", "answer: [73728"))
        health = wait_for_health(server, "degraded", files=2)
        assert health["status"] == "degraded", health
        files = {entry["file"]: entry for entry in health["course_files"]}
        assert files["course.yaml"]["line"] == 2 and "relase" in files["course.yaml"]["message"]
        assert files[PROBLEM]["line"] and files[PROBLEM]["message"]
        time.sleep(3)  # the grading process re-read the folder (every 2 s)
        assert assignment_listing(server) == listed  # the due and release stay, the problem file too
        page = ta.get("/ta").text
        assert "relase" in page and "course.yaml:2" in page and PROBLEM in page
    log = server.log.read_text()
    assert "course.yaml:2" in log
    # A start with the broken files says so, and keeps the deadlines of the database.
    with Server(course) as again:
        assert assignment_listing(again) == listed
        assert wait_for_health(again, "degraded")["status"] == "degraded"
        rewrite(course.folder / "course.yaml", FUTURE)
        rewrite(problem, problem.read_text().replace("answer: [73728", "answer: 73728"))
        assert wait_for_health(again, "ok")["status"] == "ok"
    assert again.log.read_text().count("course.yaml:2") >= 1


def test_two_servers_on_one_database_grade_with_the_newest_problem_file(
    tmp_path: Path, postgres: PostgresCluster
) -> None:
    """Two servers with a course folder each on one PostgreSQL: after an edit on a, the
    regrades b grades are graded with the edited file (b's folder still holds the old one), so
    is a hand-in to b; b, restarted with its older file, does not put it back and says so."""
    db_url = postgres.new_database()
    students = tuple(f"s{n}" for n in range(6))
    course = make_course(tmp_path / "a", db_url, students=students)
    shutil.copytree(course.folder / "problems", tmp_path / "b" / "problems")
    other = replace(course, folder=tmp_path / "b")
    problem = course.folder / PROBLEM
    answers = {"q7.output_size": 73729}  # wrong until the key is fixed on a
    database = Database(Settings(course_dir=course.folder, db_url=db_url).database_url)
    # Each grading process is woken by its own server's hand-ins and regrades; a looks for
    # jobs b queued only every 5 s, so b grades what b's TA queues.
    with Server(course, 1, "--poll-seconds", "5") as a, Server(other, 1, "--poll-seconds", "5") as b:
        ids = [hand_in(a, student, answers) for student in students]
        with a.client("ta") as ta:
            for submission in ids:
                wait_graded(ta, submission)
        rewrite(problem, problem.read_text().replace("answer: 73728", "answer: 73729"))  # fixed on a
        edited = problem_digest(problem.read_text())
        wait_until(lambda: jobs_done(database, "regrade") == len(ids))  # a regrades the class
        with b.client("ta") as ta:  # b's TA regrades each again, on b
            for submission in ids:
                assert ta.post(f"/api/v1/submissions/{submission}/regrade").status_code == 202
        wait_until(lambda: jobs_done(database, "regrade") == 2 * len(ids))
        regraded = regrade_verdicts(database)
        by_a, by_b = regraded[: len(ids)], regraded[len(ids) :]  # queued by a's edit, by b's TA
        assert {owner for owner, _ in by_b} - {owner for owner, _ in by_a}, "a graded all: nothing was tested"
        assert {problem_hash for _, problem_hash in regraded} == {edited}
        with b.client("s0") as student:  # a hand-in to b is graded with the edited file too
            graded = wait_graded(student, hand_in(b, "s0", answers))
            assert part_status(graded, "q7.output_size") == "correct"
        b.stop()
        jobs_before = job_count(database)
        with Server(other, 1) as restarted, restarted.client("ta") as ta:
            health = wait_for_health(restarted, "degraded", files=1)
            assert [entry["file"] for entry in health["course_files"]] == [PROBLEM]
            assert "older" in health["course_files"][0]["message"] and "older" in ta.get("/ta").text
            time.sleep(3)  # its grading process re-read its folder
            with database.session() as db:
                assert db.scalar(select(Assignment.problem_hash)) == edited
            assert job_count(database) == jobs_before  # no regrade of the class with the old file
            graded = wait_graded(ta, hand_in(restarted, "s1", answers))
            assert part_status(graded, "q7.output_size") == "correct"
        assert "older" in restarted.log.read_text()
    database.dispose()


def hand_in(server: Server, student: str, answers: dict[str, Any]) -> int:
    with server.client(student) as client:
        response = client.post(f"/api/v1/assignments/{ASSIGNMENT}/submissions", json={"answers": answers})
    assert response.status_code == 202, response.text
    return int(response.json()["id"])


def part_status(graded: dict[str, Any], part_id: str) -> str:
    [part] = [p for p in graded["report"]["parts"] if p["id"] == part_id]
    return str(part["status"])


def wait_until(condition: Callable[[], bool], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "not done in time"
        time.sleep(0.2)


def jobs_done(database: Database, kind: str) -> int:
    with database.session() as db:
        return int(db.scalar(select(func.count()).where(Job.kind == kind, Job.status == "done")) or 0)


def regrade_verdicts(database: Database) -> list[tuple[str | None, str]]:
    """Each regrade's grading process (its owner) and the problem file's digest it graded with."""
    with database.session() as db:
        rows = db.execute(
            select(Job.owner, VerdictRow.problem_hash)
            .join(VerdictRow, VerdictRow.job_id == Job.id)
            .where(Job.kind == "regrade")
            .order_by(Job.id)
        )
        return [(owner, problem_hash) for owner, problem_hash in rows]


def job_count(database: Database) -> int:
    with database.session() as db:
        return int(db.scalar(select(func.count()).select_from(Job)) or 0)


def test_a_database_made_before_the_versions_were_kept_knows_the_older_problem_files(
    tmp_path: Path, db_url: str | None
) -> None:
    """The upgrade fills in the problem files the database knows: the one in force and those
    verdicts were graded with; a folder that still holds one of those is older after it."""
    from alembic import command
    from alembic.config import Config

    from grader.service.db import MIGRATIONS

    url = (db_url or f"sqlite:///{tmp_path / 'grader.sqlite3'}").replace(
        "postgresql://", "postgresql+psycopg://", 1
    )
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    command.upgrade(config, "0005_lti_advantage")
    original = BASICS.read_text()
    edited = original.replace("answer: 131072", "answer: 131073")
    database = Database(url)
    with database.session() as db:  # a class graded with the original, then the edit in force
        db.add(Course(id=1, name="course"))
        db.flush()
        now = dt.datetime.now(dt.UTC)
        user = {"id": 1, "course_id": 1, "name": "alice", "role": "student", "created_at": now}
        db.execute(insert(table("users", *map(column, user))).values(user))  # 0005's columns
        columns = {  # the columns of 0005's table (the model has later ones)
            "id": 1,
            "course_id": 1,
            "name": "basics",
            "problem_hash": problem_digest(edited),
            "problem_text": edited,
            "source_path": "problems/basics.yaml",
            "active": True,
            "updated_at": dt.datetime.now(dt.UTC),
        }
        db.execute(insert(table("assignments", *map(column, columns))).values(columns))
        db.add(
            Submission(
                id=1, assignment_id=1, user_id=1, version=1, filename="a", content=b"", content_hash=""
            )
        )
        db.flush()
        verdict = {"submission_id": 1, "problem_hash": problem_digest(original), "score": 0, "max_score": 1}
        verdict |= {"report": b"", "created_at": now}  # 0005's columns
        db.execute(insert(table("verdicts", *map(column, verdict))).values(verdict))
    command.upgrade(config, "head")
    course = CourseState(database, course_folder(tmp_path / "course"), "course")  # the original file
    assert course.sync(force=True) == []
    assert course.get("basics").problem_hash == problem_digest(edited)  # type: ignore[union-attr]
    assert [notice.file for notice in course.notices] == ["problems/basics.yaml"]
    assert "older" in course.notices[0].message
    database.dispose()
