"""Stored reports are JSON (the batch's codec), and migration 0014 converts the pickles older
graders stored, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import pickle
import zlib
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import column, insert, select, table

from grader.core.report import Report
from grader.loading import load_problem_set
from grader.service.blobs import dumps, loads
from grader.service.db import MIGRATIONS, Database, migrate
from grader.service.executing import WorkerSetups, make_executor, one_task
from grader.service.models import Assignment, Course, Submission, User, VerdictRow
from grader.service.settings import Settings

ROOT = Path(__file__).parent.parent
PROBLEMS = ROOT / "problems" / "activations-softmax-conv.yaml"
SEED = ROOT / "submissions" / "activations-softmax-conv" / "seed-001" / "answers.yaml"


class Hostile:
    """A pickle that would run a command if an unrestricted unpickler read it."""

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (exec, ("open('PWNED', 'w').write('x')",))


def graded_report(tmp_path: Path) -> Report:
    settings = Settings(course_dir=tmp_path, workers=0)
    spec = load_problem_set(PROBLEMS)
    setup = WorkerSetups(settings).setup_for("hash", spec)
    executor = make_executor(settings)
    (chunk,) = list(executor.grade(setup, [[one_task("alice", "answers.yaml", SEED.read_bytes())]]))
    executor.close()
    report = chunk[0].whole_report()
    report.folder = None
    return report


def test_a_report_is_stored_as_json_and_read_back_equal(tmp_path: Path) -> None:
    report = graded_report(tmp_path)
    blob = dumps(report)
    assert blob[:1] == b"{" and b"\x80" not in blob[:2]
    assert loads(blob) == report and loads(blob).score == report.score
    assert loads(pickle.dumps(report)) is None  # a pickle is never read


def test_migration_0014_converts_the_pickles_older_graders_stored(tmp_path: Path, db_url: str | None) -> None:
    url = db_url or f"sqlite:///{tmp_path / 'old.sqlite3'}"
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", Settings(course_dir=tmp_path, db_url=url).database_url)
    command.upgrade(config, "0013_unsent_links")  # the schema the old code wrote
    url = Settings(course_dir=tmp_path, db_url=url).database_url
    report = graded_report(tmp_path)
    old = {  # what the old code's blobs.dumps wrote, and its compressed form
        "plain": pickle.dumps(report, protocol=pickle.HIGHEST_PROTOCOL),
        "packed": b"zlib:" + zlib.compress(pickle.dumps(report, protocol=pickle.HIGHEST_PROTOCOL)),
        "hostile": pickle.dumps(Hostile()),
    }
    db = Database(url)
    ids = {}
    with db.session() as session:
        course = Course(name="course")
        session.add(course)
        session.flush()
        assignment = Assignment(
            course_id=course.id, name="a1", problem_hash="h", problem_text="", source_path="a1.yaml"
        )
        user = User(course_id=course.id, name="alice", role="student")
        session.add_all([assignment, user])
        session.flush()
        for version, (name, blob) in enumerate(old.items(), start=1):
            submission = Submission(
                assignment_id=assignment.id,
                user_id=user.id,
                version=version,
                filename="answers.yaml",
                content=b"",
                content_hash="c",
            )
            session.add(submission)
            session.flush()
            row = {"submission_id": submission.id, "problem_hash": "h", "score": report.score}
            row |= {"max_score": report.max_score, "report": blob, "created_at": dt.datetime.now(dt.UTC)}
            verdicts = table("verdicts", *map(column, row), column("id"))  # 0013's columns
            ids[name] = session.execute(insert(verdicts).values(row).returning(verdicts.c.id)).scalar_one()
    db.dispose()

    migrate(url)

    db = Database(url)
    with db.session() as session:
        stored = {row.id: row.report for row in session.scalars(select(VerdictRow))}
    db.dispose()
    for name in ("plain", "packed"):
        assert stored[ids[name]][:1] == b"{", name
        again = loads(stored[ids[name]])
        assert isinstance(again, Report) and again == report, name
    assert stored[ids["hostile"]] == old["hostile"] and loads(stored[ids["hostile"]]) is None
    assert not Path("PWNED").exists() and not (tmp_path / "PWNED").exists()
