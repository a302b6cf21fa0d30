"""A rubric item edited after grading (issue 50, item 2), over real HTTP on SQLite and
PostgreSQL: the grading view's form shows the scores the edit moves, applying it moves every
score graded with the item (the student's own report says so) with an audit row each, the item
lands in problems/rubric.yaml, and an item added from the page is kept there too."""

from __future__ import annotations

import re
import stat
from pathlib import Path

import httpx
import pytest
import yaml
from service_server import TA_PASSWORD, Course, Server, log_in, make_course, seed_file, wait_graded

ASSIGNMENT = "a1-activations-conv"
PART = "q1.derivative"
SEED = seed_file("activations-softmax-conv", "seed-001").decode()
OTHER = SEED.replace("Hence g'(x) = H(x)", "So g'(x) = H(x), I think,")
RUBRIC = """        rubric:
          - {id: cases, points: 2, text: "both signs of x"}
          - {id: zero, points: 2, text: "g'(0) does not exist at 0"}
"""
VIEW = f"/ta/assignments/{ASSIGNMENT}/parts/{PART}"
EDIT = f"{VIEW}/rubric"


def make_rubric_course(tmp_path: Path, db_url: str | None) -> Course:
    course = make_course(tmp_path / "course", db_url, students=("alice", "bob", "carol"))
    problems = course.folder / "problems" / "activations-softmax-conv.yaml"
    text = problems.read_text()
    marker = "      - id: derivative\n        type: text\n        points: 4\n"
    assert marker in text
    problems.write_text(text.replace(marker, marker + RUBRIC, 1))
    problems.chmod(0o640)
    return course


def hand_in_all(server: Server) -> dict[str, int]:
    ids = {}
    for name, text in (("alice", SEED), ("bob", SEED), ("carol", OTHER)):
        with server.client(name) as client:
            response = client.post(
                f"/api/v1/assignments/{ASSIGNMENT}/submissions",
                files={"file": ("answers.yaml", text.encode())},
            )
            assert response.status_code == 202, response.text
            ids[name] = response.json()["id"]
            wait_graded(client, ids[name])
    return ids


def grade(server: Server, student: str, rubric: list[str], points: float | None = None) -> None:
    with server.client("ta") as ta:
        body = {"rubric": rubric, "points": points, "comment": "", "version": 0}
        response = ta.put(f"/api/v1/assignments/{ASSIGNMENT}/hand/{student}/{PART}", json=body)
        assert response.status_code == 200, response.text


def part_of_report(server: Server, student: str, submission_id: int) -> dict:  # type: ignore[type-arg]
    with server.client(student) as client:
        report = client.get(f"/api/v1/submissions/{submission_id}").json()["report"]
    return next(p for p in report["parts"] if p["id"] == PART)


def hidden(page_text: str, name: str) -> list[str]:
    return re.findall(rf"name='{name}' value='([^']*)'", page_text)


def item_form(view: str, item: str) -> dict[str, str]:
    """The fields of the view's form for rubric item ``item``, as a browser would send them."""
    found = re.search(rf"<form [^>]*id='rubric-{item}'>(.*?)</form>", view, re.S)
    assert found is not None, view
    return dict(re.findall(r"name='([a-z_]+)'[^>]* value='([^']*)'", found.group(1)))


def test_an_edited_item_moves_every_score_graded_with_it_and_the_audit_says_so(
    tmp_path: Path, db_url: str | None
) -> None:
    course = make_rubric_course(tmp_path, db_url)
    with Server(course) as server:
        ids = hand_in_all(server)
        grade(server, "alice", ["cases"])
        grade(server, "bob", ["cases", "zero"])
        grade(server, "carol", ["cases"], points=3)  # points written by hand: they stay
        assert part_of_report(server, "alice", ids["alice"])["score"] == 2
        browser = httpx.Client(base_url=server.url, timeout=30)
        with browser:
            assert log_in(browser, "ta", TA_PASSWORD).status_code == 303
            view = browser.get(VIEW).text
            form = item_form(view, "cases")
            assert form["was_points"] == "2" and form["was_text"] == "both signs of x"
            form |= {"points": "3", "text": "both signs of x, and why"}
            preview = browser.post(EDIT, data=form)
            assert preview.status_code == 200, preview.text
            rows = re.findall(r"<tr><td>([^<]+)</td><td>([^<]+)</td><td>([^<]+)</td></tr>", preview.text)
            assert rows == [("alice", "2", "3")]  # bob: 3 + 2 is more than the part's 4 points
            assert "3 grades given with this item" in preview.text
            assert "1 grade with this item keep" in preview.text  # carol's
            # nothing moved yet
            assert part_of_report(server, "alice", ids["alice"])["score"] == 2
            confirm = dict(
                re.findall(r"name='([a-z_]+)' value='([^']*)'", preview.text.split("id='confirm'")[1])
            )
            applied = browser.post(EDIT, data=confirm)
            assert applied.status_code == 200, applied.text
            assert "Applied: item cases is now" in applied.text
            again = browser.post(EDIT, data=confirm)  # the same form again: the item changed since
            assert again.status_code == 409 and "changed meanwhile" in again.text
        alice = part_of_report(server, "alice", ids["alice"])
        assert alice["score"] == 3
        assert any("both signs of x, and why" in item for item in str(alice).split("'"))
        assert part_of_report(server, "bob", ids["bob"])["score"] == 4  # 3 + 2, at most the part's 4
        assert part_of_report(server, "carol", ids["carol"])["score"] == 3
        with server.client("ta") as ta:
            changes = ta.get(f"/api/v1/assignments/{ASSIGNMENT}/hand/audit").json()["changes"]
            export = ta.get(f"/api/v1/assignments/{ASSIGNMENT}/export?format=csv").text
        edits = {c["student"]: c for c in changes if c.get("rubric_edit")}
        assert sorted(edits) == ["alice", "bob", "carol"]
        assert edits["alice"]["old"]["awarded"] == 2 and edits["alice"]["new"]["awarded"] == 3
        assert edits["alice"]["rubric_edit"]["old"]["points"] == 2
        assert edits["alice"]["rubric_edit"]["new"] == {
            "id": "cases",
            "points": 3,
            "text": "both signs of x, and why",
        }
        assert edits["alice"]["who"] == "ta"
        assert "alice" in export
    written = yaml.safe_load((course.folder / "problems" / "rubric.yaml").read_text())
    assert written == {
        ASSIGNMENT: {PART: [{"id": "cases", "points": 3.0, "text": "both signs of x, and why"}]}
    }
    assert stat.S_IMODE((course.folder / "problems" / "rubric.yaml").stat().st_mode) == 0o640
    assert not list((course.folder / "problems").glob(".rubric-*"))  # no temporary file left


def test_an_item_added_on_the_page_is_kept_in_rubric_yaml_and_offered_after_a_restart(
    tmp_path: Path, db_url: str | None
) -> None:
    course = make_rubric_course(tmp_path, db_url)
    with Server(course) as server:
        hand_in_all(server)
        browser = httpx.Client(base_url=server.url, timeout=30)
        with browser:
            assert log_in(browser, "ta", TA_PASSWORD).status_code == 303
            view = browser.get(VIEW).text
            form = {
                "csrf": hidden(view, "csrf")[0],
                "id": "sketch",
                "points": "-1",
                "text": "no <b>sketch</b>",
            }
            added = browser.post(EDIT, data=form, follow_redirects=False)
            assert added.status_code == 303, added.text
            view = browser.get(added.headers["location"]).text
            assert "value='sketch'" in view and "no &lt;b&gt;sketch&lt;/b&gt;" in view
            twice = browser.post(EDIT, data=form)
            assert twice.status_code == 409 and "has an item sketch already" in twice.text
            without_csrf = browser.post(EDIT, data={k: v for k, v in form.items() if k != "csrf"})
            assert without_csrf.status_code == 403
        with server.client("alice") as alice:
            assert alice.post(EDIT, data=form).status_code in (401, 403)
        with server.client("ta") as ta:
            # the course page names no file of the folder as not loaded (rubric.yaml is no problem set)
            assert "rubric.yaml" not in ta.get("/healthz").text
    text = (course.folder / "problems" / "rubric.yaml").read_text()
    assert yaml.safe_load(text) == {
        ASSIGNMENT: {PART: [{"id": "sketch", "points": -1.0, "text": "no <b>sketch</b>"}]}
    }
    with Server(course) as server, server.client("ta") as ta:  # read from the folder at start
        groups = ta.get(f"/api/v1/assignments/{ASSIGNMENT}/parts/{PART}/groups")
        assert groups.status_code == 200
        grade(server, "alice", ["sketch"])  # a known item: the write is accepted


@pytest.mark.parametrize("bad", ["{", "a1-activations-conv: [1, 2]"])
def test_a_rubric_file_that_does_not_load_is_named_and_changes_nothing(tmp_path: Path, bad: str) -> None:
    course = make_rubric_course(tmp_path, None)
    (course.folder / "problems" / "rubric.yaml").write_text(bad)
    with Server(course) as server, server.client("ta") as ta:
        health = ta.get("/healthz").text
        assert "rubric.yaml" in health
        view = ta.get(f"/api/v1/assignments/{ASSIGNMENT}/parts/{PART}/groups")
        assert view.status_code == 200
