"""Jobs are claimed in turn (SQLite and PostgreSQL): one student's flood of hand-ins delays
nobody else's verdict, a hand-in goes before a regrade of the class, and a version a newer one
supersedes waits until every other job is taken (issue 45, item 8)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from grader.service.crud import queue
from grader.service.db import Database, migrate
from grader.service.models import Assignment, Course, Job, Submission, User


@pytest.fixture
def database(tmp_path: Path, db_url: str | None) -> Iterator[Database]:
    url = (db_url or f"sqlite:///{tmp_path / 'grader.sqlite3'}").replace(
        "postgresql://", "postgresql+psycopg://", 1
    )
    migrate(url)
    db = Database(url)
    with db.session() as session:
        session.add(Course(id=1, name="course"))
        session.flush()
        for number, name in enumerate(("a1", "a2"), start=1):
            session.add(
                Assignment(
                    id=number, course_id=1, name=name, problem_hash="x", problem_text="", source_path=""
                )
            )
        for number in range(1, 6):
            session.add(User(id=number, course_id=1, name=f"s{number}", role="student"))
        session.flush()
    yield db
    db.dispose()


def hand_in(db: Database, student: int, assignment: int = 1, kind: str = "grade") -> int:
    """A new version of ``student``'s work (or, with kind regrade, their newest again); its job's id."""
    with db.session() as session:
        versions = list(session.query(Submission).filter_by(assignment_id=assignment, user_id=student))
        if kind == "grade" or not versions:
            submission = Submission(
                assignment_id=assignment,
                user_id=student,
                version=len(versions) + 1,
                filename="answers.yaml",
                content=b"",
                content_hash="",
            )
            session.add(submission)
            session.flush()
        else:
            submission = max(versions, key=lambda s: s.version)
        return queue.enqueue(session, submission.id, kind=kind)


def claim(db: Database, limit: int) -> list[int]:
    with db.session() as session:
        return [job.id for job in queue.claim(session, "worker", limit)]


def test_a_students_flood_waits_behind_everyone_elses_first_job(database: Database) -> None:
    flood = [
        hand_in(database, 1, assignment=1 + n % 2) for n in range(12)
    ]  # two assignments: none superseded
    others = [hand_in(database, student) for student in (2, 3)]
    first = claim(database, 3)
    assert set(others) <= set(first), f"the other students waited behind a flood: {first}"
    rest = claim(database, 100)
    assert sorted(first + rest) == sorted(flood + others)


def test_a_superseded_version_waits_and_is_still_graded(database: Database) -> None:
    versions = [hand_in(database, 1) for _ in range(6)]  # one assignment: each supersedes the one before
    other = hand_in(database, 2)
    first = claim(database, 2)
    assert sorted(first) == sorted([versions[-1], other]), first
    assert claim(database, 100) == versions[:-1]  # graded all the same, oldest first


def test_a_hand_in_goes_before_a_regrade_of_the_class(database: Database) -> None:
    for student in (1, 2, 3):
        hand_in(database, student)
    claim(database, 100)  # graded
    regrades = [hand_in(database, student, kind="regrade") for student in (1, 2, 3)]
    fresh = hand_in(database, 4)
    assert claim(database, 1) == [fresh]
    assert claim(database, 100) == regrades


def test_claims_hold_each_job_once(database: Database) -> None:
    jobs = [hand_in(database, 1 + n % 5, assignment=1 + n % 2) for n in range(30)]
    taken = [claim(database, 7) for _ in range(6)]
    flat = [job for batch in taken for job in batch]
    assert sorted(flat) == sorted(jobs) and len(flat) == len(set(flat))
    with database.session() as session:
        assert {job.status for job in session.query(Job)} == {"grading"}
