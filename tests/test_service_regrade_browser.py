"""In a real browser (headless Chromium; skipped without it): a student asks for a regrade on
their feedback page, the TA finds it in the queue from /ta, opens it in the grading view with
the request beside the student's group, and answers with new points and a reply; the student
reads the reply and the new points on their page. The reason, hostile markup, is shown as text."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from chromium import Chromium, Page, chromium_path
from service_server import TA_PASSWORD, Server, make_course, seed_file, wait_graded

ASSIGNMENT = "a1-activations-conv"
PART = "q1.derivative"
SEED = seed_file("activations-softmax-conv", "seed-001")
COURSE_YAML = f"assignments:\n  {ASSIGNMENT}:\n    regrade_requests: {{until: 2099-01-01T00:00:00Z}}\n"
REASON = "I showed g'(0) does not exist. <img src=x onerror=alert(1)>"

pytestmark = pytest.mark.skipif(
    chromium_path() is None,
    reason="chromium is not installed (apt-get install chromium; .ci/run installs it)",
)


def _log_in(page: Page, base: str, user: str, password: str, landing: str) -> None:
    page.send("Network.enable")
    page.send("Network.clearBrowserCookies")
    page.go(f"{base}/login?as={user}")
    page.evaluate(
        f"document.getElementById('user').value = {json.dumps(user)};"
        f"document.getElementById('password').value = {json.dumps(password)};"
        "document.getElementById('password').form.submit(); true"
    )
    page.wait_for(f"location.pathname === {json.dumps(landing)}")


def test_a_regrade_request_goes_from_student_to_ta_and_back_in_chromium(tmp_path: Path) -> None:
    course = make_course(tmp_path / "course", None, students=("alice", "bob"), course_yaml=COURSE_YAML)
    with Server(course) as server:
        ids = {}
        for name in ("alice", "bob"):
            with server.client(name) as client:
                response = client.post(
                    f"/api/v1/assignments/{ASSIGNMENT}/submissions", files={"file": ("answers.yaml", SEED)}
                )
                ids[name] = response.json()["id"]
                wait_graded(client, ids[name])
        feedback = f"{server.url}/submissions/{ids['alice']}"
        with Chromium(width=1280, height=800) as browser:
            page = browser.open(f"{server.url}/login")
            _log_in(page, server.url, "alice", "alice-password", "/")
            page.go(feedback)
            page.evaluate(
                f"document.getElementById('regrade-part').value = {json.dumps(PART)};"
                f"document.getElementById('regrade-reason').value = {json.dumps(REASON)};"
                "document.getElementById('regrade-form').requestSubmit(); true"
            )
            page.wait_for("document.querySelector('#regrade-requests li') !== null")
            asked = page.evaluate("document.querySelector('#regrade-requests li').textContent")
            assert REASON in asked and "open: a TA will answer" in asked
            assert page.evaluate("document.querySelectorAll('#regrade-requests img').length") == 0
            page.evaluate("document.getElementById('regrade-requests').scrollIntoView(); true")
            page.screenshot(tmp_path / "student-asked.png", full_page=False)

            _log_in(page, server.url, "ta", TA_PASSWORD, "/ta")
            assert "Regrade requests: 1 open" in page.evaluate(
                "document.getElementById('regrade-requests').textContent"
            )
            page.evaluate("document.querySelector('#regrade-requests a').click(); true")
            page.wait_for("location.pathname === '/ta/regrade-requests'")
            page.evaluate("document.querySelector('#open-requests a').click(); true")
            page.wait_for("document.getElementById('regrade-request') !== null")
            beside = page.evaluate("document.getElementById('regrade-request').textContent")
            assert REASON in beside and "alice" in beside
            assert "alice" in page.evaluate("document.querySelector('ul.members').textContent")
            page.screenshot(tmp_path / "ta-grading-view.png", full_page=False)
            page.evaluate(
                "const form = document.getElementById('regrade-answer');"
                "form.querySelector('input[name=points]').value = '3';"
                "document.getElementById('regrade-reply').value = 'You are right about 0: 3 points.';"
                "form.requestSubmit(document.getElementById('regrade-change')); true"
            )
            # points changed: back on the student's group, the request answered beside it
            page.wait_for(
                "location.search.includes('request=') && document.getElementById('regrade-request') !== null"
                " && document.getElementById('regrade-request').textContent.includes('Answered by ta')"
            )
            page.go(f"{server.url}/ta/regrade-requests")
            assert page.evaluate("document.getElementById('regrade-count').textContent").startswith("0 open")
            assert page.errors == [], page.errors

            _log_in(page, server.url, "alice", "alice-password", "/")
            page.go(feedback)
            answered = page.evaluate("document.getElementById('regrade-requests').textContent")
            assert "points changed" in answered and "You are right about 0: 3 points." in answered
            part = page.evaluate(f"document.getElementById({json.dumps('part-' + PART)}).textContent")
            assert "3/4" in part.replace(" ", "")
            assert page.errors == [], page.errors
