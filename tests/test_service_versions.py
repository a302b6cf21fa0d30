"""The versions of an assignment on the student's own page and on the TA's page of the student
(issue 50, item 5): each with its score and which one counts; a student sees scores only once
the assignment is released, a TA always."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from service_server import TA_PASSWORD, Server, make_course, seed_file, wait_graded
from test_service_grading_view import OTHER, _session

from grader.core.report import points_value

ASSIGNMENT = "a1-activations-conv"
SEED = seed_file("activations-softmax-conv", "seed-001")
FUTURE = (
    "assignments:\n  a1-activations-conv: {due: '2090-01-01T12:00:00Z', release: '2090-01-02T12:00:00Z'}\n"
)


def _rows(page: str) -> list[str]:
    section = page.split(f"id='assignment-{ASSIGNMENT}'", 1)[1].split("</section>", 1)[0]
    return re.findall(r"<tr><td><a href='/submissions/\d+'>version \d.*?</tr>", section)


@pytest.mark.parametrize("released", [True, False], ids=["released", "before-release"])
def test_versions_list_their_scores_and_which_one_counts(tmp_path: Path, released: bool) -> None:
    course = make_course(tmp_path / "course", None, course_yaml=None if released else FUTURE)
    with Server(course) as server:
        scores = []
        with server.client("alice") as alice:
            for text in (SEED, OTHER.encode()):
                response = alice.post(
                    f"/api/v1/assignments/{ASSIGNMENT}/submissions", files={"file": ("answers.yaml", text)}
                )
                wait_graded(alice, response.json()["id"])
                with server.client("ta") as ta:
                    report = ta.get(f"/api/v1/submissions/{response.json()['id']}").json()["report"]
                scores.append(f"{points_value(report['score'])}/{points_value(report['max_score'])}")
        with _session(server, "ta", TA_PASSWORD) as ta:
            newest, oldest = _rows(ta.get("/ta/students/alice").text)
        assert "version 2" in newest and f"<td class='score'>{scores[1]}</td>" in newest
        assert "version 1" in oldest and f"<td class='score'>{scores[0]}</td>" in oldest
        assert "<strong class=counts>counts</strong>" in newest and "counts" not in oldest
        with _session(server, "alice", "alice-password") as alice:
            newest, oldest = _rows(alice.get("/").text)
        assert "<strong class=counts>counts</strong>" in newest and "counts" not in oldest
        if released:
            assert f"<td class='score'>{scores[1]}</td>" in newest
        else:
            assert "after release" in newest and scores[1] not in newest and scores[0] not in oldest
