"""A TA's lists as a course grows (issue 57, fault 5): the class's list of hand-ins is sent a
batch at a time and still lists every version of everyone, oldest first, with what each one's
own answer says; each student's counted version is found reading every version without the
files they hold, and comes with its file. benchmarks/ta_request_peaks.py measures the memory."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from service_server import SEEDS, Course, make_course, seed_file
from sqlalchemy import insert, select

from grader.engine import grade
from grader.loading import load_problem_set, load_submission
from grader.service.app import create_app
from grader.service.blobs import dumps
from grader.service.crud import verdicts as verdicts_crud
from grader.service.crud.queue import enqueue
from grader.service.models import Assignment, Job, JobStatus, Submission, User, VerdictRow
from grader.service.routes import api
from grader.service.service import Service
from grader.service.settings import Settings

PROBLEMS = "activations-softmax-conv"  # the file and the seeds' folder
ASSIGNMENT = "a1-activations-conv"  # its assignment
DUE = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)


def _settings(course: Course) -> Settings:
    return Settings(course_dir=course.folder, db_url=course.db_url, workers=0, rate_limit=10_000)


def _hand_ins(course: Course, order: list[tuple[str, bool]]) -> list[int]:
    """A hand-in for each (student, graded?) of ``order``, stored as the service stores them
    (the next version, its job; a graded one's job done and its verdict); their ids."""
    spec = load_problem_set(course.folder / "problems" / f"{PROBLEMS}.yaml")
    content = seed_file(PROBLEMS, "seed-001")
    report = grade(spec, load_submission(SEEDS / PROBLEMS / "seed-001"))
    service = Service(_settings(course), start_workers=False)
    ids = []
    try:
        with service.db.session() as db:
            assignment_id, problem_hash = db.execute(
                select(Assignment.id, Assignment.problem_hash).filter_by(name=ASSIGNMENT)
            ).one()
            versions: dict[str, int] = {}
            for number, (student, graded) in enumerate(order):
                user_id = db.scalar(select(User.id).filter_by(name=student))
                versions[student] = versions.get(student, 0) + 1
                at = DUE - dt.timedelta(hours=len(order) - number)  # in order, the last ones late
                at += dt.timedelta(hours=3) if number >= len(order) - 2 else dt.timedelta(0)  # past DUE
                fields = {"assignment_id": assignment_id, "user_id": user_id, "version": versions[student]}
                fields |= {"filename": "answers.yaml", "content": content + f"# {number}\n".encode()}
                fields |= {"content_hash": "0" * 64, "late": at > DUE, "created_at": at}
                submission_id = db.execute(insert(Submission).returning(Submission.id), fields).scalar_one()
                job_id = enqueue(db, submission_id)
                if graded:
                    db.execute(Job.__table__.update().where(Job.id == job_id).values(status=JobStatus.DONE))
                    scored = {"score": report.score, "max_score": report.max_score, "report": dumps(report)}
                    verdict = {"submission_id": submission_id, "job_id": job_id, "problem_hash": problem_hash}
                    db.execute(insert(VerdictRow), verdict | scored)
                ids.append(submission_id)
    finally:
        service.db.dispose()
    return ids


ORDER = [("alice", True), ("bob", True), ("alice", False), ("bob", True), ("alice", True)]
ORDER += [("bob", False), ("alice", True)]


def test_the_class_list_is_sent_in_batches_and_lists_every_version_in_order(
    tmp_path: Path, db_url: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Seven hand-ins, three to a batch: the list has all seven, oldest first, each with the
    student, version, status and score its own answer gives, no report, and is sent as it is
    read (no Content-Length: the server never held the whole list)."""
    course = make_course(tmp_path / "course", db_url)
    ids = _hand_ins(course, ORDER)
    monkeypatch.setattr(api, "CLASS_LIST_BATCH", 3)
    app = create_app(_settings(course), start_workers=False)
    try:
        with TestClient(app, headers={"Authorization": f"Bearer {course.tokens['ta']}"}) as ta:
            answer = ta.get(f"/api/v1/assignments/{ASSIGNMENT}/submissions")
            own = {s: ta.get(f"/api/v1/submissions/{s}").json() for s in ids}
            monkeypatch.setattr(api, "CLASS_LIST_BATCH", 7)  # a full batch, then an empty one
            exact = ta.get(f"/api/v1/assignments/{ASSIGNMENT}/submissions")
            monkeypatch.setattr(api, "CLASS_LIST_BATCH", 500)
            whole = ta.get(f"/api/v1/assignments/{ASSIGNMENT}/submissions")
            student = TestClient(app, headers={"Authorization": f"Bearer {course.tokens['alice']}"})
            refused = student.get(f"/api/v1/assignments/{ASSIGNMENT}/submissions")
    finally:
        app.state.service.db.dispose()
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/json"
    assert "content-length" not in answer.headers
    listed = answer.json()["submissions"]
    assert [row["id"] for row in listed] == ids
    assert [(row["student"], row["version"]) for row in listed] == [
        ("alice", 1), ("bob", 1), ("alice", 2), ("bob", 2), ("alice", 3), ("bob", 3), ("alice", 4)
    ]  # fmt: skip
    for row in listed:
        page = own[row["id"]]
        shown = ("id", "assignment", "student", "version", "filename", "submitted_at", "late", "status")
        assert {key: row[key] for key in shown} == {key: page[key] for key in shown}
        assert "report" not in row
        if page["status"] == "graded":
            assert (row["score"], row["max_score"]) == (page["report"]["score"], page["report"]["max_score"])
            assert row["current"] is True and row["graded_at"] == page["graded_at"]
        else:
            assert page["status"] == "queued" and "score" not in row
    assert exact.json() == whole.json() == answer.json()
    assert refused.status_code == 403


def test_the_counted_versions_are_found_among_many_and_come_with_their_files(
    tmp_path: Path, db_url: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each student's counted version (the newest on time) with its newest verdict and the file
    it holds, read two versions at a time: the same as read whole."""
    course = make_course(tmp_path / "course", db_url, students=("alice", "bob", "carol"))
    order = [("carol", True), *ORDER]
    ids = _hand_ins(course, order)
    service = Service(_settings(course), start_workers=False)
    try:
        loaded = service.course.by_id(service.course.all()[0].id)
        assert loaded is not None and loaded.name == ASSIGNMENT
        found = {}
        for batch in (2, 500):
            monkeypatch.setattr(verdicts_crud, "VERDICTS_A_QUERY", batch)
            with service.db.session(read_only=True) as db:
                counted = verdicts_crud.counted_submissions(db, loaded.id, lambda _: DUE)
                found[batch] = [
                    (user.name, s.id, s.version, bytes(s.content), v.id if v else None)
                    for user, s, v in counted
                ]
    finally:
        service.db.dispose()
    assert found[2] == found[500]
    by_name = {
        name: (submission_id, version, content) for name, submission_id, version, content, _ in found[2]
    }
    assert list(by_name) == ["alice", "bob", "carol"]
    # bob's third and alice's fourth came after the due: their newest on time counts
    assert by_name["alice"][:2] == (ids[5], 3) and by_name["bob"][:2] == (ids[4], 2)
    assert by_name["carol"][:2] == (ids[0], 1)
    for name, (submission_id, _, content) in by_name.items():
        assert content == seed_file(PROBLEMS, "seed-001") + f"# {ids.index(submission_id)}\n".encode(), name
    assert [verdict is not None for *_, verdict in found[2]] == [True, True, True]
