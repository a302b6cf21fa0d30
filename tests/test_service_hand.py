"""Hand grades through the service, over real HTTP (SQLite and PostgreSQL): answer groups
of a part, a group graded at once, versioned writes by concurrent TAs, overrides with a
reason, the audit log, the export in the file form (graded the same by ``grader grade
--hand``), and a resubmission that keeps the grade, marked stale."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from service_server import Server, add_account, make_course, seed_file, wait_graded

from grader.cli import main
from grader.hand import parse_hand_grades
from grader.loading import load_problem_set

ROOT = Path(__file__).parent.parent
ASSIGNMENT = "a1-activations-conv"
SEEDS = "activations-softmax-conv"
PART = "q1.derivative"
SEED = seed_file(SEEDS, "seed-001").decode()
OTHER = SEED.replace("Hence g'(x) = H(x)", "So g'(x) = H(x), I think,")


def _hand_in(server: Server, student: str, text: str) -> int:
    with server.client(student) as client:
        response = client.post(
            f"/api/v1/assignments/{ASSIGNMENT}/submissions", files={"file": ("answers.yaml", text.encode())}
        )
        assert response.status_code == 202, response.text
        submission_id: int = response.json()["id"]
        wait_graded(client, submission_id)
        return submission_id


def _part(report: dict, part_id: str) -> dict:
    return next(p for p in report["parts"] if p["id"] == part_id)


@pytest.fixture
def graded_class(tmp_path: Path, db_url: str | None):  # type: ignore[no-untyped-def]
    course = make_course(tmp_path / "course", db_url, students=("alice", "bob", "carol"))
    add_account(course, "ta2", "ta", "second-ta-password")
    with Server(course) as server:
        ids = {
            name: _hand_in(server, name, SEED if name != "carol" else OTHER)
            for name in ("alice", "bob", "carol")
        }
        yield server, ids


def test_a_group_graded_once_counts_for_every_student_and_every_export(graded_class) -> None:  # type: ignore[no-untyped-def]
    server, ids = graded_class
    ta = server.client("ta")
    groups = ta.get(f"/api/v1/assignments/{ASSIGNMENT}/parts/{PART}/groups").json()["groups"]
    same = next(g for g in groups if g["kind"] == "text")
    assert sorted(same["students"]) == ["alice", "bob"]
    assert [g["students"] for g in groups if g["kind"] == "single"] == [["carol"]]

    body = {
        "points": 3.5,
        "comment": "Right; say why g is not differentiable at 0.",
        "versions": {"alice": 0, "bob": 0},
    }
    response = ta.post(f"/api/v1/assignments/{ASSIGNMENT}/parts/{PART}/groups/{same['id']}", json=body)
    assert response.status_code == 200, response.text

    with server.client("alice") as alice:
        report = alice.get(f"/api/v1/submissions/{ids['alice']}").json()["report"]
    part = _part(report, PART)
    assert part["score"] == 3.5 and part["hand"]["by"] == "ta" and part["status"] == "partial"
    assert part["hand"]["comment"].startswith("Right; say why")

    # grader's own CSV: a Canvas export needs a roster to match students (a 422 without one)
    export = ta.get(f"/api/v1/assignments/{ASSIGNMENT}/export", params={"format": "csv"}).text
    rows = {row["student"]: row for row in csv.DictReader(io.StringIO(export))}
    auto_only = float(rows["carol"]["total"])
    assert float(rows["alice"]["total"]) == pytest.approx(auto_only + 3.5)  # carol's proof is not graded yet


def test_a_stale_write_is_refused_naming_who_changed_it(graded_class) -> None:  # type: ignore[no-untyped-def]
    server, _ = graded_class
    url = f"/api/v1/assignments/{ASSIGNMENT}/hand/alice/{PART}"
    first = server.client("ta").put(url, json={"points": 4, "comment": "Full marks.", "version": 0})
    assert first.status_code == 200, first.text and first.json()["version"] == 1
    late = server.client("ta2").put(url, json={"points": 1, "comment": "Too short.", "version": 0})
    assert late.status_code == 409
    error = late.json()["error"]
    assert "changed by ta" in error["message"]
    assert error["conflicts"][0]["changed_by"] == "ta" and error["conflicts"][0]["version"] == 1
    again = server.client("ta2").put(url, json={"points": 3, "comment": "Nearly.", "version": 1})
    assert again.status_code == 200 and again.json()["version"] == 2

    audit = server.client("ta").get(f"/api/v1/assignments/{ASSIGNMENT}/hand/audit").json()["changes"]
    assert [(c["who"], (c["old"] or {}).get("points"), c["new"]["points"]) for c in audit] == [
        ("ta", None, 4),
        ("ta2", 4, 3),
    ]
    text = (
        server.client("ta").get(f"/api/v1/assignments/{ASSIGNMENT}/hand/audit", params={"format": "csv"}).text
    )
    assert list(csv.DictReader(io.StringIO(text)))[1]["new points"] == "3.0"
    with server.client("alice") as alice:
        assert alice.get(f"/api/v1/assignments/{ASSIGNMENT}/hand/audit").status_code == 403
        assert alice.put(url, json={"points": 4, "version": 2}).status_code == 403


def test_an_override_needs_a_reason_and_the_export_grades_the_same_by_file(
    graded_class, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    server, ids = graded_class
    ta = server.client("ta")
    url = f"/api/v1/assignments/{ASSIGNMENT}/hand/bob/q8.3b"
    refused = ta.put(url, json={"points": 1, "version": 0})
    assert refused.status_code == 422 and "needs a reason" in refused.json()["error"]["message"]
    done = ta.put(url, json={"points": 1, "reason": "the sign convention of the lecture", "version": 0})
    assert done.status_code == 200, done.text
    ta.put(
        f"/api/v1/assignments/{ASSIGNMENT}/hand/bob/{PART}",
        json={"points": 2, "comment": "Half.", "version": 0},
    )

    served = ta.get(f"/api/v1/submissions/{ids['bob']}").json()["report"]
    assert _part(served, "q8.3b")["hand"]["overrides"]["status"] == "incorrect"
    # the grading view's filter finds the override; a part graded by hand has none
    view = f"/ta/assignments/{ASSIGNMENT}/parts"
    overridden = ta.get(f"{view}/q8.3b", params={"show": "overridden"}).text
    assert "<strong>overridden</strong>" in overridden and "name='student' value='bob'" in overridden
    assert (
        "No group to grade here (overridden)" in ta.get(f"{view}/{PART}", params={"show": "overridden"}).text
    )

    exported = ta.get(f"/api/v1/assignments/{ASSIGNMENT}/hand", params={"format": "yaml"}).text
    command = ["hand", "export", str(server.course.folder), "-a", ASSIGNMENT]
    if server.course.db_url:
        command += ["--db", server.course.db_url]
    assert CliRunner().invoke(main, command).stdout == exported  # grader hand export: the same file
    spec = load_problem_set(ROOT / "problems" / f"{SEEDS}.yaml")
    book = parse_hand_grades(exported, spec=spec)
    assert {(g.student, g.part) for g in book.grades} == {("bob", "q8.3b"), ("bob", PART)}
    assert all(g.answer for g in book.grades)  # pinned to the answer the TA saw
    folder = tmp_path / "by-file" / "bob"
    folder.mkdir(parents=True)
    (folder / "answers.yaml").write_text(SEED)
    hand = tmp_path / "hand.yaml"
    hand.write_text(exported)
    problems = ROOT / "problems" / f"{SEEDS}.yaml"
    result = CliRunner().invoke(
        main, ["grade", str(folder), "-p", str(problems), "--hand", str(hand), "-f", "json"]
    )
    assert result.exit_code == 0, result.output
    by_file = json.loads(result.stdout)
    assert by_file["score"] == served["score"]
    for part_id in ("q8.3b", PART):
        expected = {k: v for k, v in _part(served, part_id).items() if k != "expected"}  # staff see it
        assert _part(by_file, part_id) == expected


def test_a_resubmission_keeps_the_grade_marked_stale(graded_class) -> None:  # type: ignore[no-untyped-def]
    server, _ = graded_class
    ta = server.client("ta")
    ta.put(f"/api/v1/assignments/{ASSIGNMENT}/hand/alice/{PART}", json={"points": 4, "version": 0})
    second = _hand_in(server, "alice", OTHER)
    with server.client("alice") as alice:
        report = alice.get(f"/api/v1/submissions/{second}").json()["report"]
    part = _part(report, PART)
    assert part["score"] == 4 and part["hand"]["stale"] is True
    groups = ta.get(f"/api/v1/assignments/{ASSIGNMENT}/parts/{PART}/groups").json()["groups"]
    member = next(m for g in groups for m in g["members"] if m["student"] == "alice")
    assert member["hand"]["stale"] is True and member["score"] == 4  # listed for review
    page = ta.get(f"/ta/assignments/{ASSIGNMENT}/parts/{PART}").text
    assert "to review" in page
