"""The grading view of a part (issue 50, items 1-3), over real HTTP and in headless Chromium:
one answer group at a time beside the prompt, model answer and rubric; the keyboard grades a
group and lands on the next one; it works with forms alone; the grade given comes back
pre-filled; the model answer never reaches a student."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from chromium import Chromium, Page, chromium_path
from service_server import TA_PASSWORD, Course, Server, log_in, make_course, seed_file, wait_graded

ASSIGNMENT = "a1-activations-conv"
PART = "q1.derivative"
SEED = seed_file("activations-softmax-conv", "seed-001").decode()
OTHER = SEED.replace("Hence g'(x) = H(x)", "So g'(x) = H(x), I think,")
MODEL_ANSWER = "the difference quotient is (x + e - x)/e"
RUBRIC = """        rubric:
          - {id: cases, points: 2, text: "both signs of x"}
          - {id: zero, points: 2, text: "g'(0) does not exist at 0"}
"""
VIEW = f"/ta/assignments/{ASSIGNMENT}/parts/{PART}"


def _course(tmp_path: Path) -> Course:
    course = make_course(tmp_path / "course", None, students=("alice", "bob", "carol"))
    problems = course.folder / "problems" / "activations-softmax-conv.yaml"
    text = problems.read_text()
    part = text.index("      - id: derivative\n        type: text\n")  # q1's hand-graded part
    end = text.index("        points: 4\n", part) + len("        points: 4\n")
    problems.write_text(text[:end] + RUBRIC + text[end:])
    return course


def _hand_in_all(server: Server) -> dict[str, int]:
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


def _score(server: Server, student: str, submission_id: int) -> float:
    with server.client(student) as client:
        report = client.get(f"/api/v1/submissions/{submission_id}").json()["report"]
    return float(next(p for p in report["parts"] if p["id"] == PART)["score"])


@contextmanager
def _session(server: Server, user: str, password: str) -> Iterator[httpx.Client]:
    """A browser's session: a cookie from the log-in form, no bearer token."""
    client = httpx.Client(base_url=server.url, timeout=30)
    with client:
        assert log_in(client, user, password).status_code == 303
        yield client


def _hidden(page_text: str, name: str) -> list[str]:
    return re.findall(rf"name='{name}' value='([^']*)'", page_text)


def test_without_javascript_a_group_is_graded_prefilled_and_the_next_ungraded_shown(tmp_path: Path) -> None:
    with Server(_course(tmp_path)) as server:
        ids = _hand_in_all(server)
        with _session(server, "ta", TA_PASSWORD) as ta:
            first = ta.get(VIEW)
            assert first.status_code == 200
            text = first.text
            assert "0 of 2 groups graded" in text
            assert MODEL_ANSWER in text and "Show that the derivative of g" in text
            assert "both signs of x" in text and "<kbd>1</kbd>" in text
            assert "next ungraded" in text and "group 1 of 2" in text
            students = _hidden(text, "student")
            assert sorted(students) == ["alice", "bob"]  # the larger group first
            form = {
                "csrf": _hidden(text, "csrf")[0],
                "student": students,
                "version": _hidden(text, "version"),
                "rubric": ["cases"],
                "points": "",
                "comment": "Say why g'(0) does not exist.",
            }
            action = re.search(r"<form id='grade' class='stack' method='post' action='([^']+)'", text)
            assert action is not None
            saved = ta.post(action.group(1), data=form, follow_redirects=False)
            assert saved.status_code == 303 and "after=" in saved.headers["location"]
            landed = ta.get(saved.headers["location"]).text
            assert "1 of 2 groups graded" in landed and _hidden(landed, "student") == ["carol"]
            assert "group 2 of 2" in landed
            # back to the graded group: the grade given is pre-filled
            back = re.search(r"id='previous-group' href='([^']+)'", landed)
            assert back is not None
            again = ta.get(back.group(1).replace("&amp;", "&")).text
            assert "value='cases' checked" in again and "value='zero'>" in again
            assert "Say why g&#39;(0) does not exist.</textarea>" in again
            assert _hidden(again, "version") == ["1", "1"]
        assert _score(server, "alice", ids["alice"]) == 2 and _score(server, "bob", ids["bob"]) == 2
        with _session(server, "alice", "alice-password") as alice:  # the key stays with the TAs
            assert MODEL_ANSWER not in alice.get(f"/submissions/{ids['alice']}").text
            assert alice.get(VIEW).status_code in (401, 403)


def test_a_stale_grade_from_the_view_comes_back_with_who_changed_it(tmp_path: Path) -> None:
    with Server(_course(tmp_path)) as server:
        _hand_in_all(server)
        with _session(server, "ta", TA_PASSWORD) as ta:
            text = ta.get(VIEW).text
            with server.client("ta") as api:  # another TA, over the API, meanwhile
                api.put(
                    f"/api/v1/assignments/{ASSIGNMENT}/hand/alice/{PART}", json={"points": 1, "version": 0}
                )
            action = re.search(r"<form id='grade' class='stack' method='post' action='([^']+)'", text)
            assert action is not None
            form = {
                "csrf": _hidden(text, "csrf")[0],
                "student": _hidden(text, "student"),
                "version": _hidden(text, "version"),
                "points": "3",
            }
            refused = ta.post(action.group(1), data=form, follow_redirects=False)
            assert refused.status_code == 409 and "was changed by ta" in refused.text
            assert "name='points'" in refused.text  # the view again, not an error page
            assert ta.post(action.group(1), data={**form, "csrf": "forged"}).status_code == 403


def test_an_empty_grade_saves_nothing_and_says_so_never_an_error_page(tmp_path: Path) -> None:
    """Issue 60 item 5: Enter with no rubric item and no points (the form and the API)."""
    with Server(_course(tmp_path)) as server:
        ids = _hand_in_all(server)
        with _session(server, "ta", TA_PASSWORD) as ta:
            text = ta.get(VIEW).text
            action = re.search(r"<form id='grade' class='stack' method='post' action='([^']+)'", text)
            assert action is not None
            form = {
                "csrf": _hidden(text, "csrf")[0],
                "student": _hidden(text, "student"),
                "version": _hidden(text, "version"),
                "points": "  ",
                "comment": "",
            }
            for sent in (form, {**form, "comment": "a comment, no points"}, {**form, "points": ""}):
                answer = ta.post(action.group(1), data=sent, follow_redirects=False)
                assert answer.status_code == 200, answer.text  # the view again, saying so
                assert "Nothing saved: give points (0 for none) or tick a rubric item." in answer.text
                assert "name='points'" in answer.text and "0 of 2 groups graded" in answer.text
                assert _hidden(answer.text, "student") == _hidden(text, "student")  # the same group
            zero = ta.post(action.group(1), data={**form, "points": "0"}, follow_redirects=False)
            assert zero.status_code == 303  # a 0 typed is a grade
        with server.client("ta") as api:
            refused = api.put(f"/api/v1/assignments/{ASSIGNMENT}/hand/carol/{PART}", json={"version": 0})
            assert (
                refused.status_code == 422
                and "give points (0 for none)" in refused.json()["error"]["message"]
            ), refused.text
        assert _score(server, "alice", ids["alice"]) == 0 and _score(server, "bob", ids["bob"]) == 0


# ---- in Chromium ----------------------------------------------------------------------------


KEY_CODES = {"Enter": 13, "ArrowRight": 39, "ArrowLeft": 37, "Escape": 27}


def _press(page: Page, key: str) -> None:
    """A real key press, as the browser's input pipeline delivers it."""
    params: dict[str, object] = {"key": key}
    if key in KEY_CODES:
        params.update(code=key, windowsVirtualKeyCode=KEY_CODES[key])
        if key == "Enter":
            params["text"] = "\r"
    else:
        params.update(text=key, windowsVirtualKeyCode=ord(key.upper()))
    page.send("Input.dispatchKeyEvent", type="keyDown", **params)
    page.send("Input.dispatchKeyEvent", type="keyUp", **{k: v for k, v in params.items() if k != "text"})


@pytest.mark.skipif(chromium_path() is None, reason="chromium is not installed (apt-get install chromium)")
def test_the_keyboard_grades_a_group_and_lands_on_the_next_one(tmp_path: Path) -> None:
    with Server(_course(tmp_path)) as server:
        ids = _hand_in_all(server)
        with Chromium(width=1280, height=800) as browser:
            page = browser.open(f"{server.url}/login")
            page.evaluate(
                f"document.getElementById('user').value = 'ta';"
                f"document.getElementById('password').value = {json.dumps(TA_PASSWORD)};"
                "document.getElementById('password').form.submit(); true"
            )
            page.wait_for("location.pathname === '/ta'")
            page.send("Page.navigate", url=server.url + VIEW)
            page.wait_for("document.getElementById('progress') !== null")
            assert page.evaluate("document.getElementById('progress').textContent") == "0 of 2 groups graded"
            _press(page, "2")  # rubric item 2 on
            _press(page, "1")  # rubric item 1 on
            _press(page, "1")  # and off again
            checked = "[...document.querySelectorAll('#grade input[name=rubric]')].map(b => b.checked)"
            assert page.evaluate(checked) == [False, True]
            _press(page, "/")
            assert page.evaluate("document.activeElement.id") == "comment"
            page.send("Input.insertText", text="Right at 0; say what happens for x < 0.")
            _press(page, "Escape")
            _press(page, "Enter")
            page.wait_for("document.getElementById('progress').textContent === '1 of 2 groups graded'")
            assert page.evaluate("document.getElementById('position').textContent") == "group 2 of 2"
            assert "carol" in page.evaluate("document.querySelector('ul.members').textContent")
            _press(page, "ArrowLeft")
            page.wait_for("document.getElementById('position').textContent === 'group 1 of 2'")
            assert page.evaluate(checked) == [False, True]  # what was given, pre-filled
            assert page.evaluate("document.getElementById('comment').value").startswith("Right at 0")
            _press(page, "ArrowRight")
            page.wait_for("document.getElementById('position').textContent === 'group 2 of 2'")
            assert page.errors == [], page.errors
        assert _score(server, "alice", ids["alice"]) == 2 and _score(server, "bob", ids["bob"]) == 2


@pytest.mark.skipif(chromium_path() is None, reason="chromium is not installed (apt-get install chromium)")
def test_enter_on_an_empty_grade_in_chromium_says_nothing_was_saved(tmp_path: Path) -> None:
    with Server(_course(tmp_path)) as server:
        _hand_in_all(server)
        with Chromium(width=1280, height=800) as browser:
            page = browser.open(f"{server.url}/login")
            page.evaluate(
                f"document.getElementById('user').value = 'ta';"
                f"document.getElementById('password').value = {json.dumps(TA_PASSWORD)};"
                "document.getElementById('password').form.submit(); true"
            )
            page.wait_for("location.pathname === '/ta'")
            page.send("Page.navigate", url=server.url + VIEW)
            page.wait_for("document.getElementById('progress') !== null")
            _press(page, "Enter")  # no rubric item, no points
            page.wait_for("document.querySelector('[role=alert]') !== null")
            alert = page.evaluate("document.querySelector('[role=alert]').textContent")
            assert alert == "Nothing saved: give points (0 for none) or tick a rubric item."
            assert page.evaluate("document.getElementById('progress').textContent") == "0 of 2 groups graded"
            assert page.evaluate("document.getElementById('position').textContent") == "group 1 of 2"
            assert "Internal Server Error" not in page.evaluate("document.body.innerText")
            assert page.errors == [], page.errors


def test_a_grade_to_review_shows_on_the_dashboard_the_parts_list_and_its_own_filter(tmp_path: Path) -> None:
    with Server(_course(tmp_path)) as server:
        _hand_in_all(server)
        with server.client("ta") as api:
            graded = api.put(
                f"/api/v1/assignments/{ASSIGNMENT}/hand/alice/{PART}", json={"points": 4, "version": 0}
            )
            assert graded.status_code == 200, graded.text
        with server.client("alice") as alice:  # a new version: the grade now marks another answer
            response = alice.post(
                f"/api/v1/assignments/{ASSIGNMENT}/submissions",
                files={"file": ("answers.yaml", OTHER.replace("I think", "I am sure").encode())},
            )
            wait_graded(alice, response.json()["id"])
        with _session(server, "ta", TA_PASSWORD) as ta:
            parts = ta.get(f"/ta/assignments/{ASSIGNMENT}/parts").text
            assert f"{VIEW}?show=review'>1 grade to review</a>" in parts
            dashboard = ta.get(f"/ta/assignments/{ASSIGNMENT}").text
            assert (
                "Hand grades to review:" in dashboard and f"{VIEW}?show=review'>{PART} (1)</a>" in dashboard
            )
            review = ta.get(VIEW, params={"show": "review"}).text
            assert "0 of 1 group graded" in review and _hidden(review, "student") == ["alice"]
            assert "<strong>to review</strong>" in review and "alice: " in review
            assert _hidden(review, "show") == ["review"]
            wrong = ta.get(VIEW, params={"show": "wrong"}).text
            assert "No group to grade here (wrong)." in wrong and "name='student'" not in wrong
            everything = ta.get(VIEW).text
            assert "of 3 groups graded" in everything
