"""The grading view of a hand-graded part shows each derivation step by step (issue 61),
over real HTTP and in a real browser: the first wrong step marked with its witness, a rubric
item suggested (not applied), everything escaped."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from chromium import Chromium, chromium_path
from service_server import TA_PASSWORD, Server, make_course, seed_file, wait_graded

ASSIGNMENT = "a1-activations-conv"
PART = "q1.derivative"
SEED = seed_file("activations-softmax-conv", "seed-001").decode()
DERIVATION = (
    "For $x > 0$ and $h > 0$: "
    "$$\\\\frac{\\\\max(0, x + h) - \\\\max(0, x)}{h} = \\\\frac{x + h - x}{h} = 1$$ "
    "and the <b>sigmoid</b>: "
    "$$\\\\frac{1}{1+e^{-x}} = \\\\frac{e^{x}}{1+e^{x}} = \\\\frac{1}{1+e^{x}} \\\\approx 0.5$$"
)
DOCS = Path(__file__).parent.parent / "docs"


def _with_derivation(seed: str) -> str:
    start = seed.index("  q1.derivative:")
    end = seed.index("  q1.via_h_1:")
    return seed[:start] + f'  q1.derivative: "{DERIVATION}"\n' + seed[end:]


def _hand_in(server: Server, student: str, text: str) -> int:
    with server.client(student) as client:
        response = client.post(
            f"/api/v1/assignments/{ASSIGNMENT}/submissions", files={"file": ("answers.yaml", text.encode())}
        )
        assert response.status_code == 202, response.text
        submission_id: int = response.json()["id"]
        wait_graded(client, submission_id)
        return submission_id


def test_the_grading_view_marks_each_step_and_the_first_wrong_one(tmp_path: Path) -> None:
    course = make_course(tmp_path / "course", None, students=("alice", "bob"))
    with Server(course) as server:
        alice_id = _hand_in(server, "alice", _with_derivation(SEED))
        _hand_in(server, "bob", SEED)
        ta = server.client("ta")
        page = ta.get(f"/ta/assignments/{ASSIGNMENT}/parts/{PART}")
        assert page.status_code == 200
        html = page.text
        if "id='steps'" not in html:  # the view shows one group at a time: find alice's
            groups = ta.get(f"/api/v1/assignments/{ASSIGNMENT}/parts/{PART}/groups").json()["groups"]
            alice = next(g for g in groups if any(m["student"] == "alice" for m in g["members"]))
            html = ta.get(f"/ta/assignments/{ASSIGNMENT}/parts/{PART}?group={alice['id']}").text
        assert "id='steps'" in html
        assert "3 shown, 1 wrong, 1 undecided" in html
        first = html[html.index("id='first-wrong'") :]
        assert first.index("fails at x = 1") < first.index("</li>")
        assert "e^{x}}{1+e^{x}}" in first[: first.index("</li>")]
        assert "Suggested rubric item (not applied)" in html
        assert "<b>sigmoid</b>" not in html
        # the student's own page: the marks stored at grading, since the problem file says
        # ``steps: visible`` for this part; never the TA's panel or its suggested rubric item
        own = server.client("alice").get(f"/submissions/{alice_id}")
        assert own.status_code == 200 and "q1.derivative" in own.text
        assert "fails at x = 1" in own.text
        assert "id='steps'" not in own.text and "Suggested rubric item" not in own.text


@pytest.mark.skipif(chromium_path() is None, reason="chromium is not installed (apt-get install chromium)")
def test_the_steps_in_a_real_browser(tmp_path: Path) -> None:
    course = make_course(tmp_path / "course", None, students=("alice",))
    with Server(course) as server:
        _hand_in(server, "alice", _with_derivation(SEED))
        with Chromium() as browser:
            page = browser.open(f"{server.url}/login")
            page.evaluate(
                f"document.getElementById('user').value = 'ta';"
                f"document.getElementById('password').value = {json.dumps(TA_PASSWORD)};"
                "document.getElementById('password').form.submit(); true"
            )
            page.wait_for("location.pathname === '/ta'")
            page.go(f"{server.url}/ta/assignments/{ASSIGNMENT}/parts/{PART}")
            page.wait_for("document.getElementById('steps') !== null")
            marks = page.evaluate(
                "Array.from(document.querySelectorAll('#steps li li')).map(li => li.className).join(',')"
            )
            assert marks.split(",") == ["shown", "shown", "shown", "wrong first-wrong", "undecided"]
            text = page.evaluate("document.getElementById('first-wrong').textContent")
            assert "fails at x = 1" in text
            colour = page.evaluate("getComputedStyle(document.getElementById('first-wrong')).outlineColor")
            assert colour == "rgb(179, 38, 30)"
            page.evaluate("document.getElementById('steps').scrollIntoView(); true")
            assert page.errors == [], page.errors
            page.screenshot(DOCS / "steps-grading-view.png")
