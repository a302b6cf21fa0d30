"""A student's poll answers with the view the pool worker made of the report when it graded it
(every part shown, the key withheld): the same JSON as the one made from the whole report, used
only while every part is shown and the code that made it is the code in force; on SQLite and
PostgreSQL, over real HTTP."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from service_server import Server, make_course, wait_graded
from sqlalchemy import select, update

from grader.service.db import Database
from grader.service.models import VerdictRow
from grader.service.settings import Settings
from grader.versions import code_version

PROBLEMS = """\
assignment: view
title: A student's view
questions:
  - id: q1
    type: number
    answer: 3.14159
    visible: {q1_visible}
    mistakes:
      - {{answer: 6.28318, feedback: "You doubled it; the answer is 3.14159"}}
  - id: q2
    type: expression
    answer: "z**2 + 3*z + 17"
    symbols: {{z: real}}
    visible: {rest_visible}
  - id: q3
    type: array
    answer: [[11, 12], [13, 14]]
    visible: {rest_visible}
"""
SENT = b"answers:\n  q1: 6.28318\n  q2: 'z**2 + 3*z + 16'\n  q3: [[11, 12], [13, 15]]\n"
FUTURE = "2999-01-01T00:00:00Z"
PAST = "2000-01-01T00:00:00Z"


def _course(tmp_path: Path, db_url: str | None, release: str, all_visible: bool):  # type: ignore[no-untyped-def]
    course_yaml = f"assignments:\n  view: {{due: '{PAST}', release: '{release}'}}\n"
    course = make_course(tmp_path / "course", db_url, problems=(), course_yaml=course_yaml)
    problems = PROBLEMS.format(q1_visible="true", rest_visible="true" if all_visible else "false")
    (course.folder / "problems" / "view.yaml").write_text(problems)
    return course


def _set_shown(server: Server, submission: int, shown: bytes | None) -> None:
    db = Database(Settings(course_dir=server.course.folder, db_url=server.course.db_url).database_url)
    try:
        with db.session() as session:
            session.execute(
                update(VerdictRow).where(VerdictRow.submission_id == submission).values(shown=shown)
            )
    finally:
        db.dispose()


def _shown(server: Server, submission: int) -> bytes | None:
    db = Database(Settings(course_dir=server.course.folder, db_url=server.course.db_url).database_url)
    try:
        with db.session() as session:
            return session.scalar(select(VerdictRow.shown).where(VerdictRow.submission_id == submission))
    finally:
        db.dispose()


@pytest.mark.parametrize(
    ("release", "all_visible"),
    [(PAST, False), (FUTURE, False), (FUTURE, True)],
    ids=["released", "before-release-some-hidden", "before-release-all-visible"],
)
def test_the_poll_answers_as_the_report_would_with_the_view_made_at_grading(
    tmp_path: Path, db_url: str | None, release: str, all_visible: bool
) -> None:
    course = _course(tmp_path, db_url, release, all_visible)
    with Server(course) as running, running.client("alice") as alice, running.client("ta") as ta:
        submission = alice.post(
            "/api/v1/assignments/view/submissions", files={"file": ("answers.yaml", SENT)}
        ).json()["id"]
        made_at_grading = wait_graded(alice, submission)
        stored = _shown(running, submission)
        assert stored is not None  # the worker made the view
        kept = json.loads(stored)
        assert kept["rendering"] == code_version() and kept["all_visible"] is all_visible
        ta_view = wait_graded(ta, submission)["report"]
        for reference in ("3.14159", "z**2 + 3*z + 17", "[[11, 12], [13, 14]]"):
            assert reference in json.dumps(ta_view)
            assert reference not in stored.decode()  # the key is not in what is kept for her

        _set_shown(running, submission, None)  # as an older server's row: made from the report
        made_from_report = alice.get(f"/api/v1/submissions/{submission}").json()
        assert made_at_grading == made_from_report

        report = made_at_grading["report"]
        if release == FUTURE and not all_visible:
            assert [p["id"] for p in report["parts"]] == ["q1"] and report["hidden_parts"] == ["q2", "q3"]
        else:
            assert [p["id"] for p in report["parts"]] == ["q1", "q2", "q3"] and "hidden_parts" not in report
        assert "withheld" in report["parts"][0]["feedback"]

        # A view is used only while every part is shown and this code made it: a planted one shows
        # which reads take it.
        planted = dict(kept, report={**kept["report"], "score": 999})
        _set_shown(running, submission, json.dumps(planted).encode())
        used = alice.get(f"/api/v1/submissions/{submission}").json()["report"]["score"] == 999
        assert used is (release == PAST or all_visible)
        _set_shown(running, submission, json.dumps(dict(planted, rendering="0.0.1+old")).encode())
        assert alice.get(f"/api/v1/submissions/{submission}").json() == made_from_report
        _set_shown(running, submission, b"{not json")
        assert alice.get(f"/api/v1/submissions/{submission}").json() == made_from_report


def test_a_hand_graded_verdict_keeps_no_view(tmp_path: Path, db_url: str | None) -> None:
    """A verdict written with a TA's grade applied is shown from its report (the view the pool
    worker made has not got the grade)."""
    course = _course(tmp_path, db_url, PAST, True)
    with_proof = PROBLEMS.format(q1_visible="true", rest_visible="true") + (
        "  - id: q4\n    type: text\n    points: 2\n    answer: Because the slope is 1.\n"
    )
    (course.folder / "problems" / "view.yaml").write_text(with_proof)
    sent = SENT + b"  q4: The slope is one.\n"
    with Server(course) as running, running.client("alice") as alice, running.client("ta") as ta:
        first = alice.post("/api/v1/assignments/view/submissions", files={"file": ("answers.yaml", sent)})
        wait_graded(alice, first.json()["id"])
        graded = ta.put(
            "/api/v1/assignments/view/hand/alice/q4",
            json={"points": 1, "comment": "Partly right.", "version": 0},
        )
        assert graded.status_code == 200, graded.text
        second = alice.post("/api/v1/assignments/view/submissions", files={"file": ("answers.yaml", sent)})
        seen = wait_graded(alice, second.json()["id"])
        assert _shown(running, second.json()["id"]) is None
        q4 = next(part for part in seen["report"]["parts"] if part["id"] == "q4")
        assert q4["score"] == 1 and "Partly right." in json.dumps(q4)
