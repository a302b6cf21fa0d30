"""What the queue's tests over real HTTP share: a course's database, hand-ins in bulk, counts."""

from __future__ import annotations

from pathlib import Path

from service_server import Server
from sqlalchemy import func, select

from grader.service.db import Database
from grader.service.models import Job, VerdictRow
from grader.service.settings import Settings

ASSIGNMENT = "a1-activations-conv"


def database(course_folder: Path, db_url: str | None) -> Database:
    return Database(Settings(course_dir=course_folder, db_url=db_url).database_url)


def submit_many(server: Server, count: int) -> list[int]:
    ids = []
    with server.client("alice") as alice, server.client("bob") as bob:
        for index in range(count):
            client = alice if index % 2 else bob
            answers = {
                "q6.full": f"[1, 2, 5, 8, 6, {index}]",
                "q7.output_size": index,
                "q3.two_class": "x_1 - x_2",
            }
            response = client.post(f"/api/v1/assignments/{ASSIGNMENT}/submissions", json={"answers": answers})
            assert response.status_code == 202, response.text
            ids.append(response.json()["id"])
    return ids


def graded_count(db: Database) -> int:
    with db.session() as session:
        return int(session.scalar(select(func.count()).select_from(VerdictRow)) or 0)


def assert_graded_once(db: Database, ids: list[int]) -> None:
    with db.session() as session:
        jobs = session.scalars(select(Job)).all()
        verdicts = session.scalars(select(VerdictRow)).all()
    assert len(jobs) == len(ids) and all(job.status == "done" for job in jobs)
    assert sorted(v.submission_id for v in verdicts) == sorted(ids)
