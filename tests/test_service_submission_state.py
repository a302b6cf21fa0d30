"""What a student's poll reads of a submission (its row, its author, its state and newest verdict)
is read in one statement, one moment, on SQLite and PostgreSQL, and says what the reads it
replaced said: the newest verdict, the pending job's status, 403 and 404 as before."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from grader.service.crud.submissions import submission_with_state
from grader.service.crud.verdicts import newest_verdict
from grader.service.db import Database, migrate
from grader.service.errors import ApiError
from grader.service.models import Assignment, Course, Job, JobStatus, Role, Submission, User, VerdictRow
from grader.service.settings import Settings


def _database(tmp_path: Path, db_url: str | None) -> Database:
    url = Settings(
        course_dir=tmp_path, db_url=db_url or f"sqlite:///{tmp_path / 'state.sqlite3'}"
    ).database_url
    migrate(url)
    return Database(url)


def _class(db: Database) -> dict[str, int]:
    """Alice's two hand-ins (one graded twice and regraded again, one waiting), Bob, a TA."""
    with db.session() as session:
        course = Course(name="course")
        session.add(course)
        session.flush()
        assignment = Assignment(
            course_id=course.id, name="a1", problem_hash="h", problem_text="", source_path="a1.yaml"
        )
        users = {
            name: User(course_id=course.id, name=name, role=role)
            for name, role in (("alice", Role.STUDENT), ("bob", Role.STUDENT), ("ta", Role.TA))
        }
        session.add_all([assignment, *users.values()])
        session.flush()
        ids = {name: user.id for name, user in users.items()}
        for version in (1, 2):
            submission = Submission(
                assignment_id=assignment.id,
                user_id=ids["alice"],
                version=version,
                filename="answers.yaml",
                content=b"q1: 1",
                content_hash="c",
            )
            session.add(submission)
            session.flush()
            ids[f"v{version}"] = submission.id
        session.add(Job(submission_id=ids["v2"], status=JobStatus.QUEUED))
        for score, kind in ((1.0, "grade"), (2.0, "regrade")):  # the newer verdict is the one shown
            job = Job(submission_id=ids["v1"], kind=kind, status=JobStatus.DONE)
            session.add(job)
            session.flush()
            session.add(
                VerdictRow(
                    submission_id=ids["v1"],
                    job_id=job.id,
                    problem_hash="h",
                    score=score,
                    max_score=2.0,
                    report=b"{}",
                )
            )
            session.flush()
        session.add(Job(submission_id=ids["v1"], kind="regrade", status=JobStatus.GRADING))
    return ids


def _user(db: Database, user_id: int) -> User:
    with db.session() as session:
        user = session.get(User, user_id)
        assert user is not None
        session.expunge(user)
        return user


def _as_before(db: Database, submission_id: int, user: User) -> tuple[object, ...]:
    """The same, read as the service read it before: row by row, in a transaction."""
    with db.session(read_only=True) as session:
        submission = session.get(Submission, submission_id)
        assert submission is not None
        author = session.get(User, submission.user_id)
        assert author is not None
        verdict = newest_verdict(session, submission_id)
        pending = session.scalars(
            select(Job.status)
            .where(Job.submission_id == submission_id, Job.status != JobStatus.DONE)
            .order_by(Job.id.desc())
        ).first()
        status = "graded" if verdict is not None else pending or JobStatus.QUEUED
        return (
            submission.id,
            submission.version,
            author.name,
            status,
            verdict and (verdict.id, verdict.score),
        )


def _in_one(db: Database, submission_id: int, user: User) -> tuple[object, ...]:
    with db.read_one() as connection:
        submission, author, (status, verdict) = submission_with_state(connection, submission_id, user)
    return submission.id, submission.version, author, status, verdict and (verdict.id, verdict.score)


def test_a_submission_and_its_state_are_read_in_one_statement_as_before(
    tmp_path: Path, db_url: str | None
) -> None:
    db = _database(tmp_path, db_url)
    ids = _class(db)
    alice, bob, ta = (_user(db, ids[name]) for name in ("alice", "bob", "ta"))
    for user in (alice, ta):
        assert _in_one(db, ids["v1"], user) == _as_before(db, ids["v1"], user)
        assert _in_one(db, ids["v2"], user) == _as_before(db, ids["v2"], user)
    graded = _in_one(db, ids["v1"], alice)
    assert graded[2:4] == ("alice", "graded") and graded[4][1] == 2.0  # the regrade's verdict
    assert _in_one(db, ids["v2"], ta)[2:] == ("alice", JobStatus.QUEUED, None)
    for submission_id, user, status in (
        (ids["v1"], bob, 403),
        (ids["v2"] + 1, alice, 404),
        (0, ta, 404),
        (10**30, ta, 404),
    ):
        with pytest.raises(ApiError) as refused:
            _in_one(db, submission_id, user)
        assert refused.value.status == status
    if db_url is None:  # what reaches SQLite: the one SELECT, no BEGIN, no ROLLBACK
        sent: list[str] = []
        with db.read_one() as connection:
            connection.connection.dbapi_connection.set_trace_callback(sent.append)  # type: ignore[union-attr]
            submission_with_state(connection, ids["v1"], alice)
            connection.connection.dbapi_connection.set_trace_callback(None)  # type: ignore[union-attr]
        assert len(sent) == 1 and sent[0].startswith("SELECT")
    db.dispose()
