"""A rubric item edited after grading (issue 50, item 2), over real HTTP on SQLite and
PostgreSQL: the grading view's form shows the scores the edit moves, applying it moves every
score graded with the item (the student's own report says so) with an audit row each, the item
lands in problems/rubric.yaml, and an item added from the page is kept there too."""

from __future__ import annotations

import json
import re
import stat
import time
from pathlib import Path

import httpx
import pytest
import yaml
from chromium import Chromium, Page, chromium_path
from service_server import (
    SERVICE_WORKERS,
    TA_PASSWORD,
    Course,
    Server,
    log_in,
    make_course,
    seed_file,
    wait_graded,
)
from sqlalchemy import select

from grader.service.db import Database
from grader.service.models import AuditEntry
from grader.service.settings import Settings

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
    part = text.index("      - id: derivative\n        type: text\n")  # q1's hand-graded part
    end = text.index("        points: 4\n", part) + len("        points: 4\n")
    problems.write_text(text[:end] + RUBRIC + text[end:])
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


def press(page: Page, key: str, code: int, text: str | None = None) -> None:
    """A real key press, as the browser's input pipeline delivers it."""
    params: dict[str, object] = {"key": key, "windowsVirtualKeyCode": code}
    if key == "Enter":
        params["code"] = key
    page.send("Input.dispatchKeyEvent", type="keyDown", text=text or key, **params)
    page.send("Input.dispatchKeyEvent", type="keyUp", **params)


def go(page: Page, url: str) -> None:
    page.send("Page.navigate", url=url)
    page.wait_for(f"location.href === {json.dumps(url)}")


def test_an_edited_item_moves_every_score_graded_with_it_and_the_audit_says_so(
    tmp_path: Path, db_url: str | None
) -> None:
    course = make_rubric_course(tmp_path, db_url)
    with Server(course, SERVICE_WORKERS) as server:
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
    assert not list((course.folder / "problems").glob(".*.tmp"))  # no temporary file left


def test_an_item_added_on_the_page_is_kept_in_rubric_yaml_and_offered_after_a_restart(
    tmp_path: Path, db_url: str | None
) -> None:
    course = make_rubric_course(tmp_path, db_url)
    with Server(course, SERVICE_WORKERS) as server:
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
    with (
        Server(course, SERVICE_WORKERS) as server,
        server.client("ta") as ta,
    ):  # read from the folder at start
        groups = ta.get(f"/api/v1/assignments/{ASSIGNMENT}/parts/{PART}/groups")
        assert groups.status_code == 200
        grade(server, "alice", ["sketch"])  # a known item: the write is accepted


@pytest.mark.parametrize("bad", ["{", "a1-activations-conv: [1, 2]"])
def test_a_rubric_file_that_does_not_load_is_named_and_changes_nothing(tmp_path: Path, bad: str) -> None:
    course = make_rubric_course(tmp_path, None)
    (course.folder / "problems" / "rubric.yaml").write_text(bad)
    with Server(course, SERVICE_WORKERS) as server, server.client("ta") as ta:
        health = ta.get("/healthz").text
        assert "rubric.yaml" in health
        view = ta.get(f"/api/v1/assignments/{ASSIGNMENT}/parts/{PART}/groups")
        assert view.status_code == 200


@pytest.mark.skipif(chromium_path() is None, reason="chromium is not installed")
def test_in_chromium_an_item_changed_after_grading_moves_the_scores_given_with_it(tmp_path: Path) -> None:
    course = make_rubric_course(tmp_path, None)
    with Server(course, SERVICE_WORKERS) as server:
        ids = hand_in_all(server)
        with Chromium() as browser:
            page = browser.open(f"{server.url}/login")
            page.evaluate(
                f"document.getElementById('user').value = 'ta';"
                f"document.getElementById('password').value = {json.dumps(TA_PASSWORD)};"
                "document.getElementById('password').form.submit(); true"
            )
            page.wait_for("location.pathname === '/ta'")
            go(page, f"{server.url}{VIEW}")
            # the group of alice and bob: rubric item 1 (cases) by its key, Enter saves
            page.wait_for("document.querySelectorAll('#grade input[name=student]').length === 2")
            press(page, "1", 49)  # rubric item 1 (cases) on
            assert page.evaluate("document.querySelector('#grade input[value=cases]').checked")
            press(page, "Enter", 13, "\r")  # save, and on to the next group
            page.wait_for("document.getElementById('progress').textContent.startsWith('1 of 2')")
            assert part_of_report(server, "alice", ids["alice"])["score"] == 2
            # the rubric edited on the page: the form, then the scores it moves, then applied
            page.evaluate(
                "document.getElementById('rubric-edit').open = true;"
                "const form = document.getElementById('rubric-cases');"
                "form.querySelector('input[name=points]').value = '3.5';"
                "form.submit(); true"
            )
            page.wait_for("document.getElementById('moves') !== null")
            moved = page.evaluate("document.getElementById('moves').innerText")
            assert "alice\t2\t3.5" in moved and "bob\t2\t3.5" in moved
            page.screenshot(tmp_path / "rubric-preview.png")
            page.evaluate("document.getElementById('confirm').submit(); true")
            page.wait_for("document.getElementById('applied') !== null")
            assert "2 scores moved" in page.evaluate("document.getElementById('applied').textContent")
            assert page.errors == [], page.errors
        assert part_of_report(server, "alice", ids["alice"])["score"] == 3.5
        assert part_of_report(server, "bob", ids["bob"])["score"] == 3.5
        with server.client("ta") as ta:
            changes = ta.get(f"/api/v1/assignments/{ASSIGNMENT}/hand/audit").json()["changes"]
        said = [
            (c["student"], c["old"]["awarded"], c["new"]["awarded"]) for c in changes if c.get("rubric_edit")
        ]
        assert sorted(said) == [("alice", 2, 3.5), ("bob", 2, 3.5)]


def test_an_item_edited_in_rubric_yaml_is_brought_in_and_moves_the_scores(tmp_path: Path) -> None:
    course = make_rubric_course(tmp_path, None)
    with Server(course, SERVICE_WORKERS) as server:
        ids = hand_in_all(server)
        grade(server, "alice", ["cases"])
        assert part_of_report(server, "alice", ids["alice"])["score"] == 2
        (course.folder / "problems" / "rubric.yaml").write_text(
            f"{ASSIGNMENT}:\n  {PART}:\n    - {{id: cases, points: 3, text: both signs of x}}\n"
        )
        deadline = time.monotonic() + 120
        while part_of_report(server, "alice", ids["alice"])["score"] != 3:
            assert time.monotonic() < deadline, "the edited rubric.yaml never moved alice's score"
            time.sleep(0.5)
        # The server reads the folder on its own clock (the grading process may see it first).
        with server.client("ta") as ta:
            while item_form(ta.get(VIEW).text, "cases")["was_points"] != "3":
                assert time.monotonic() < deadline, "the grading view never showed the edited item"
                time.sleep(0.5)


def test_an_edit_whose_server_stopped_after_writing_rubric_yaml_is_audited_at_restart(
    tmp_path: Path, db_url: str | None
) -> None:
    """Issue 57 fault 4: a server stopped right after it wrote rubric.yaml, before its commit,
    leaves the edit in the file only (as here, written with the server down). The server that
    starts next puts it in force with the audit rows an edit from the page has, in the same
    transaction: one for the edit (its source the file) and one for each grade it moves."""
    course = make_rubric_course(tmp_path, db_url)
    with Server(course, SERVICE_WORKERS) as server:
        ids = hand_in_all(server)
        grade(server, "alice", ["cases"])
        grade(server, "bob", ["zero"])
    (course.folder / "problems" / "rubric.yaml").write_text(
        f"{ASSIGNMENT}:\n  {PART}:\n    - {{id: cases, points: 3, text: both signs of x}}\n"
    )
    with Server(course, SERVICE_WORKERS) as server:
        deadline = time.monotonic() + 120
        while part_of_report(server, "alice", ids["alice"])["score"] != 3:
            assert time.monotonic() < deadline, "the edit in rubric.yaml never moved alice's score"
            time.sleep(0.5)
        with server.client("ta") as ta:
            changes = ta.get(f"/api/v1/assignments/{ASSIGNMENT}/hand/audit").json()["changes"]
    moved = [c for c in changes if c.get("rubric_edit")]
    assert [c["student"] for c in moved] == ["alice"]  # bob was not graded with the item
    assert moved[0]["old"]["awarded"] == 2 and moved[0]["new"]["awarded"] == 3
    assert moved[0]["rubric_edit"]["source"] == "problems/rubric.yaml"
    assert moved[0]["rubric_edit"]["new"]["points"] == 3
    db = Database(Settings(course_dir=course.folder, db_url=db_url).database_url)
    try:
        with db.session() as session:
            edits = session.scalars(select(AuditEntry).where(AuditEntry.action == "rubric-edit")).all()
            assert [(e.user_id, e.detail["item"], e.detail["moved"]) for e in edits] == [(None, "cases", 1)]
    finally:
        db.dispose()


def test_an_item_added_on_the_page_reads_back_from_rubric_yaml_as_typed(tmp_path: Path) -> None:
    """rubric.yaml is read by grader's own YAML reader (YAML 1.2 numbers; a double-quoted
    string's one-letter escapes kept as typed, for LaTeX): what the page writes there must read
    back as the TA typed it, or the rubric changes (or stops loading) at the next start."""
    from grader.loading import read_rubric_file

    course = make_rubric_course(tmp_path, None)
    typed = {"rate": "1e-3", "tabbed": "step\tsize \\eta", "nel": "x\x85y \\sigma"}
    with Server(course, 0) as server:
        browser = httpx.Client(base_url=server.url, timeout=30)
        with browser:
            assert log_in(browser, "ta", TA_PASSWORD).status_code == 303
            csrf = hidden(browser.get(VIEW).text, "csrf")[0]
            for item, text in typed.items():
                form = {"csrf": csrf, "id": item, "points": "-1", "text": text}
                added = browser.post(EDIT, data=form, follow_redirects=False)
                assert added.status_code == 303, added.text
    written = read_rubric_file(course.folder / "problems")
    assert {i["id"]: i["text"] for i in written[ASSIGNMENT][PART]} == typed
    with Server(course, 0) as server, server.client("ta") as ta:  # read from the folder at start
        assert "rubric.yaml" not in ta.get("/healthz").text


@pytest.mark.parametrize("was", ["inf", "nan", "-inf"])
def test_an_edit_from_points_not_a_number_is_refused_not_a_server_error(tmp_path: Path, was: str) -> None:
    course = make_rubric_course(tmp_path, None)
    with Server(course, 0) as server:
        browser = httpx.Client(base_url=server.url, timeout=30)
        with browser:
            assert log_in(browser, "ta", TA_PASSWORD).status_code == 303
            form = {
                "csrf": hidden(browser.get(VIEW).text, "csrf")[0],
                "id": "cases",
                "points": "3",
                "text": "both signs of x",
                "was_points": was,
                "was_text": "both signs of x",
            }
            for confirm in ({}, {"confirm": "1"}):
                edited = browser.post(EDIT, data=form | confirm)
                assert edited.status_code == 422, edited.text
                assert "not valid" in edited.text


def test_an_item_added_while_rubric_yaml_does_not_load_is_refused_naming_the_file(tmp_path: Path) -> None:
    course = make_rubric_course(tmp_path, None)
    rubric_file = course.folder / "problems" / "rubric.yaml"
    rubric_file.write_text("{")
    with Server(course, 0) as server:
        browser = httpx.Client(base_url=server.url, timeout=30)
        with browser:
            assert log_in(browser, "ta", TA_PASSWORD).status_code == 303
            form = {
                "csrf": hidden(browser.get(VIEW).text, "csrf")[0],
                "id": "new",
                "points": "1",
                "text": "t",
            }
            added = browser.post(EDIT, data=form)
            assert added.status_code == 409, added.text
            assert "rubric.yaml" in added.text
            assert rubric_file.read_text() == "{"
            rubric_file.unlink()  # fixed: the same item is added now, so none was put in force before
            again = browser.post(EDIT, data=form, follow_redirects=False)
            assert again.status_code == 303, again.text
