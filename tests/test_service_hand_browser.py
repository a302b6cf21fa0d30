"""In a real browser: a TA logs in, grades a group of answers on the TA page of a part, and
the points show on a student's page and in the Canvas export (headless Chromium; skipped
without it)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from chromium import Chromium, chromium_path
from service_server import TA_PASSWORD, Server, make_course, seed_file, wait_graded

ASSIGNMENT = "a1-activations-conv"
PART = "q1.derivative"
SEED = seed_file("activations-softmax-conv", "seed-001")

pytestmark = pytest.mark.skipif(
    chromium_path() is None,
    reason="chromium is not installed (apt-get install chromium; .ci/run installs it)",
)


def test_a_ta_grades_a_group_on_the_page_and_the_student_sees_the_points(tmp_path: Path) -> None:
    course = make_course(tmp_path / "course", None, students=("alice", "bob"))
    with Server(course) as server:
        ids = {}
        for name in ("alice", "bob"):
            with server.client(name) as client:
                response = client.post(
                    f"/api/v1/assignments/{ASSIGNMENT}/submissions", files={"file": ("answers.yaml", SEED)}
                )
                ids[name] = response.json()["id"]
                wait_graded(client, ids[name])
        with Chromium() as browser:
            page = browser.open(f"{server.url}/login")
            page.evaluate(
                f"document.getElementById('user').value = 'ta';"
                f"document.getElementById('password').value = {json.dumps(TA_PASSWORD)};"
                "document.getElementById('password').form.submit(); true"
            )
            page.wait_for("location.pathname === '/ta'")
            part_page = f"{server.url}/ta/assignments/{ASSIGNMENT}/parts/{PART}"
            page.go(part_page)
            assert page.evaluate("document.querySelectorAll('section.group').length") >= 1
            assert "0 of 2 answers graded by hand" in page.evaluate(
                "document.getElementById('answers-progress').textContent"
            )
            page.evaluate(
                "const form = document.querySelector('section.group form');"
                "form.querySelector('input[name=points]').value = '3';"
                "form.querySelector('textarea[name=comment]').value = 'Correct, but justify x = 0.';"
                "form.submit(); true"
            )
            page.wait_for(
                "document.getElementById('answers-progress') !== null && "
                "document.getElementById('answers-progress').textContent.startsWith('2 of 2')",
            )
            assert page.errors == [], page.errors
            page.screenshot(tmp_path / "ta-part.png")

            # the student's page, in the student's own browser session
            student = browser.open(f"{server.url}/login")
            student.send("Network.enable")
            student.send("Network.clearBrowserCookies")  # the TA's session, and the form's cookie
            student.go(f"{server.url}/login?again")  # the form anew, with a log-in cookie of its own
            student.evaluate(
                "document.getElementById('user').value = 'alice';"
                "document.getElementById('password').value = 'alice-password';"
                "document.getElementById('password').form.submit(); true"
            )
            student.wait_for("location.pathname === '/'")
            student.go(f"{server.url}/submissions/{ids['alice']}")
            text = student.evaluate(f"document.getElementById({json.dumps('part-' + PART)}).textContent")
            assert "3/4" in text.replace(" ", "") or "3 / 4" in text
            assert "Comment from the TA (ta)" in text and "Correct, but justify x = 0." in text
            student.screenshot(tmp_path / "student-page.png")

        with server.client("ta") as ta:
            # grader's own CSV: a Canvas export needs a roster to match students
            export = ta.get(f"/api/v1/assignments/{ASSIGNMENT}/export", params={"format": "csv"}).text
        rows = [row for row in csv.DictReader(io.StringIO(export)) if row["student"] != "points possible"]
        assert all(row["total"] for row in rows) and {row["student"] for row in rows} == {"alice", "bob"}
        with server.client("alice") as alice:
            report = alice.get(f"/api/v1/submissions/{ids['alice']}").json()["report"]
        assert float({row["student"]: row["total"] for row in rows}["alice"]) == report["score"]
        assert next(p for p in report["parts"] if p["id"] == PART)["score"] == 3


def test_anonymous_grading_shows_no_name_in_chromium_until_the_ta_shows_them(tmp_path: Path) -> None:
    students = ("zeynep", "yusuf")
    course_yaml = f"assignments:\n  {ASSIGNMENT}:\n    anonymous: true\n"
    course = make_course(tmp_path / "course", None, students=students, course_yaml=course_yaml)
    with Server(course) as server:
        for name in students:
            with server.client(name) as client:
                response = client.post(
                    f"/api/v1/assignments/{ASSIGNMENT}/submissions", files={"file": ("answers.yaml", SEED)}
                )
                wait_graded(client, response.json()["id"])
        with Chromium() as browser:
            page = browser.open(f"{server.url}/login")
            page.evaluate(
                f"document.getElementById('user').value = 'ta';"
                f"document.getElementById('password').value = {json.dumps(TA_PASSWORD)};"
                "document.getElementById('password').form.submit(); true"
            )
            page.wait_for("location.pathname === '/ta'")
            names = json.dumps(list(students))
            no_name = f"!{names}.some((name) => document.documentElement.outerHTML.includes(name))"
            page.go(f"{server.url}/ta/assignments/{ASSIGNMENT}/parts/{PART}")
            assert page.evaluate(no_name)
            assert page.evaluate("document.querySelectorAll('ul.members li').length") == 2
            assert page.evaluate("document.querySelector('ul.members').textContent.includes('anon-')")

            # the keyboard: a point given and Enter saves the group by pseudonym, still no name
            page.evaluate("document.querySelector('#grade input[name=points]').value = '3'; true")
            page.evaluate(
                "document.body.dispatchEvent(new KeyboardEvent('keydown', {key: 'Enter', bubbles: true}));"
                "true"
            )
            page.wait_for("document.getElementById('answers-progress').textContent.startsWith('2 of 2')")
            assert page.evaluate(no_name)

            page.evaluate("document.getElementById('names-toggle').click(); true")
            page.wait_for("location.search.includes('names=shown')")
            shown = page.evaluate("document.querySelector('ul.members').textContent")
            assert all(name in shown for name in students) and "anon-" not in shown
            assert page.errors == [], page.errors
