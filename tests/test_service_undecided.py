"""A server that gains a missing dependency regrades the parts it could not decide for want of
it (issue 60, item 11), and a TA's "regrade all" on /ta; over real HTTP."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import httpx
import pytest
from service_server import ROOT, TA_PASSWORD, Server, log_in, make_course, wait_graded
from sqlalchemy import select

from grader.service.db import Database
from grader.service.models import AuditEntry, Job
from grader.service.settings import Settings

ASSIGNMENT = "a2-approximation-backprop"
SEED = ROOT / "submissions" / "approximation-backprop-cifar" / "seed-002" / "answers.yaml"
HIDE = Path(__file__).parent / "hide_torch"


def torch_parts(report: dict) -> list[dict]:  # type: ignore[type-arg]
    return [part for part in report["parts"] if "PyTorch" in (part.get("feedback") or "")]


def audit_rows(course_dir: Path, action: str) -> list[AuditEntry]:
    db = Database(Settings(course_dir=course_dir).database_url)
    try:
        with db.session() as session:
            return list(session.scalars(select(AuditEntry).where(AuditEntry.action == action)))
    finally:
        db.dispose()


def wait_regraded(client: httpx.Client, submission: int, before: str, timeout: float = 240) -> dict:  # type: ignore[type-arg]
    deadline = time.monotonic() + timeout
    while True:
        body = client.get(f"/api/v1/submissions/{submission}").json()
        if body["status"] == "graded" and body["graded_at"] != before:
            return body  # type: ignore[no-any-return]
        assert time.monotonic() < deadline, "not regraded"
        time.sleep(0.5)


def test_a_server_that_gains_pytorch_regrades_the_parts_it_could_not_decide(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("torch")
    marker = tmp_path / "no-torch"
    marker.touch()
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(HIDE), os.environ.get("PYTHONPATH", "")]))
    monkeypatch.setenv("GRADER_TEST_HIDE_TORCH", str(marker))
    monkeypatch.setenv("GRADER_DEPENDENCY_SECONDS", "1")
    course = make_course(tmp_path / "course", None, problems=("approximation-backprop-cifar",))
    with Server(course, 1) as server, server.client("alice") as alice, server.client("ta") as ta:
        handed = alice.post(
            f"/api/v1/assignments/{ASSIGNMENT}/submissions",
            files={"file": ("answers.yaml", SEED.read_bytes())},
        )
        assert handed.status_code == 202, handed.text
        submission = handed.json()["id"]
        first = wait_graded(ta, submission, timeout=240)
        undecided = torch_parts(first["report"])
        assert undecided and all(part["status"] == "error" for part in undecided), first["report"]
        time.sleep(3)  # looked again with PyTorch still missing: nothing regraded
        assert ta.get(f"/api/v1/submissions/{submission}").json()["graded_at"] == first["graded_at"]
        marker.unlink()  # PyTorch "installed" under the running server
        again = wait_regraded(ta, submission, first["graded_at"])
        assert not torch_parts(again["report"]), again["report"]
        ids = {part["id"] for part in undecided}
        assert all(part["status"] != "error" for part in again["report"]["parts"] if part["id"] in ids)
        time.sleep(3)  # regraded once: the new verdict waits for nothing
        assert ta.get(f"/api/v1/submissions/{submission}").json()["graded_at"] == again["graded_at"]
    (row,) = audit_rows(course.folder, "regrade-undecided")
    assert row.detail["installed"] == ["torch"] and row.detail["submissions"] == [submission]


def test_a_ta_regrades_an_assignment_from_ta_with_csrf_and_an_audit_row(tmp_path: Path) -> None:
    course = make_course(tmp_path / "course", None)
    answers = {"answers": {"q7.output_size": 3}}
    with Server(course, 1) as server, server.client("alice") as alice, server.client("ta") as ta:
        submission = alice.post("/api/v1/assignments/a1-activations-conv/submissions", json=answers).json()[
            "id"
        ]
        first = wait_graded(ta, submission)
        action = "/ta/assignments/a1-activations-conv/regrade"
        with httpx.Client(base_url=server.url, timeout=30) as browser:
            assert log_in(browser, "alice", "alice-password").status_code in (200, 303)
            assert browser.post(action, data={"csrf": "x"}).status_code in (401, 403)  # a student
        with httpx.Client(base_url=server.url, timeout=30) as browser:
            log_in(browser, "ta", TA_PASSWORD)
            page = browser.get("/ta")
            forms = re.findall(
                r'<form method="post" action="([^"]+)"[^>]*>'
                r"<input type=.hidden. name=.csrf. value=.([^'\"]+)",
                page.text,
            )
            assert (action, forms[0][1]) in forms, page.text
            assert browser.post(action, data={"csrf": "stale"}).status_code == 403  # CSRF
            assert browser.post(action).status_code == 403
            response = browser.post(action, data={"csrf": forms[0][1]})
            assert response.status_code == 303, response.text
        again = wait_regraded(ta, submission, first["graded_at"])
        assert again["report"]["score"] == first["report"]["score"]
    (row,) = audit_rows(course.folder, "regrade-assignment")
    assert row.detail == {"assignment": "a1-activations-conv", "submissions": 1} and row.user_id is not None
    db = Database(Settings(course_dir=course.folder).database_url)
    with db.session() as session:
        assert [job.kind for job in session.scalars(select(Job).order_by(Job.id))] == ["grade", "regrade"]
    db.dispose()
