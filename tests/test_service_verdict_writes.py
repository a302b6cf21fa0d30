"""The grading loop writes the verdicts that came back together in one transaction: each is
written unless its job was taken back from the loop, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

from service_server import make_course, seed_file
from sqlalchemy import select, update

from grader.batch.executors import InProcessExecutor
from grader.service.crud import queue
from grader.service.crud.accounts import user_named
from grader.service.crud.submissions import add_submission
from grader.service.models import Job, JobStatus, VerdictRow, utcnow
from grader.service.service import Service
from grader.service.settings import Settings
from grader.service.worker import Finished

STUDENTS = ("alice", "bob", "carol")


def test_a_job_taken_back_is_left_out_and_the_verdicts_that_came_back_with_it_are_written(
    tmp_path: Path, db_url: str | None
) -> None:
    course = make_course(tmp_path / "course", db_url, students=STUDENTS)
    service = Service(Settings(course_dir=course.folder, db_url=db_url))  # its grading loop not started
    loop = service.grading
    try:
        loaded = service.course.get("a1-activations-conv")
        assert loaded is not None
        content = seed_file("activations-softmax-conv", "seed-001")
        with service.db.session() as db:
            for name in STUDENTS:
                user = user_named(db, name)
                fields = {"assignment_id": loaded.id, "user_id": user.id, "filename": "answers.yaml"}
                fields |= {"content_hash": "x", "late": False, "created_at": utcnow()}
                add_submission(db.connection(), fields, content, 10)
                queue.enqueue(db, fields["id"])
        loop._claim()  # type: ignore[union-attr]
        ((problem_hash, (spec, items)),) = loop._claimed.items()  # type: ignore[union-attr]
        setup = loop.setups.setup_for(problem_hash, spec)  # type: ignore[union-attr]
        graded = [
            g for chunk in InProcessExecutor().grade(setup, [[task] for _, task, _ in items]) for g in chunk
        ]
        finished = [
            Finished(job, author, one, 1.0) for (job, _, author), one in zip(items, graded, strict=True)
        ]
        taken_back = finished[1].job.id
        with service.db.write() as db:  # another worker's lease took it over
            db.execute(update(Job).where(Job.id == taken_back).values(owner="another worker"))

        loop._finish(finished, problem_hash)  # type: ignore[union-attr]

        with service.db.session(read_only=True) as db:
            written = sorted(db.scalars(select(VerdictRow.job_id)))
            jobs = {job.id: (job.status, job.owner) for job in db.scalars(select(Job))}
        assert written == sorted(one.job.id for one in finished if one.job.id != taken_back)
        assert jobs[taken_back] == (JobStatus.GRADING, "another worker")
        assert all(jobs[one.job.id][0] == JobStatus.DONE for one in finished if one.job.id != taken_back)
        assert loop.in_hand == set()  # type: ignore[union-attr]
    finally:
        service.db.dispose()
