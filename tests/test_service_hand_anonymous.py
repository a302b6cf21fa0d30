"""Anonymous grading over real HTTP (SQLite and PostgreSQL): with ``anonymous: true`` in
course.yaml, no student's name is on any grading page or in the groups, each student is a
stable pseudonym, a group is graded through the form by pseudonym, the toggle shows the
names again, and the exports keep them."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import httpx
import pytest
from service_server import TA_PASSWORD, Server, log_in, make_course, seed_file, wait_graded

ASSIGNMENT = "a1-activations-conv"
PART = "q1.derivative"
SEED = seed_file("activations-softmax-conv", "seed-001").decode()
OTHER = SEED.replace("Hence g'(x) = H(x)", "So g'(x) = H(x), I think,")
STUDENTS = ("zeynep", "yusuf", "xiomara")
ANONYMOUS = f"assignments:\n  {ASSIGNMENT}:\n    anonymous: true\n"


def _hand_in(server: Server, student: str, text: str) -> int:
    with server.client(student) as client:
        response = client.post(
            f"/api/v1/assignments/{ASSIGNMENT}/submissions", files={"file": ("answers.yaml", text.encode())}
        )
        assert response.status_code == 202, response.text
        submission_id: int = response.json()["id"]
        wait_graded(client, submission_id)
        return submission_id


@pytest.fixture
def anonymous_class(tmp_path: Path, db_url: str | None):  # type: ignore[no-untyped-def]
    course = make_course(tmp_path / "course", db_url, students=STUDENTS, course_yaml=ANONYMOUS)
    with Server(course) as server:
        ids = {name: _hand_in(server, name, OTHER if name == "xiomara" else SEED) for name in STUDENTS}
        yield server, ids


def _named(text: str) -> list[str]:
    return [name for name in STUDENTS if name in text]


def test_no_name_on_any_grading_page_and_a_group_is_graded_by_pseudonym(anonymous_class) -> None:  # type: ignore[no-untyped-def]
    server, ids = anonymous_class
    with httpx.Client(base_url=server.url, timeout=30) as browser:
        assert log_in(browser, "ta", TA_PASSWORD).status_code == 303
        data = browser.get(f"/api/v1/assignments/{ASSIGNMENT}/parts/{PART}/groups").json()
        assert data["anonymous"] is True and _named(str(data)) == []
        pseudonyms = sorted(m["student"] for g in data["groups"] for m in g["members"])
        assert len(pseudonyms) == 3 and all(re.fullmatch(r"anon-[0-9a-f]{10}", p) for p in pseudonyms)
        again = browser.get(f"/api/v1/assignments/{ASSIGNMENT}/parts/{PART}/groups").json()
        assert sorted(m["student"] for g in again["groups"] for m in g["members"]) == pseudonyms

        view = f"/ta/assignments/{ASSIGNMENT}/parts/{PART}"
        pages = [f"/ta/assignments/{ASSIGNMENT}/parts", view]
        pages += [f"{view}?show={show}" for show in ("wrong", "invalid", "review")]
        pages += [f"{view}?group={g['id']}" for g in data["groups"]]
        for url in pages:
            response = browser.get(url)
            assert response.status_code == 200, (url, response.text)
            assert _named(response.text) == [], url
        shown = browser.get(f"{view}?group={data['groups'][0]['id']}").text
        assert "Anonymous grading" in shown and all(p in shown for p in data["groups"][0]["students"])

        # the form grades the group of two by pseudonym, and the next page has no name either
        pair = next(g for g in data["groups"] if g["count"] == 2)
        page = browser.get(f"{view}?group={pair['id']}").text
        token = re.search(r"name='csrf' value='([^']+)'", page)
        assert token is not None
        form = {
            "csrf": token.group(1),
            "points": "2.5",
            "comment": "Say why at 0.",
            "show": "all",
            "student": [m["student"] for m in pair["members"]],
            "version": ["0" for _ in pair["members"]],
        }
        graded = browser.post(f"{view}/groups/{pair['id']}", data=form)
        assert graded.status_code == 303, graded.text
        assert "names=" not in graded.headers["location"]
        after = browser.get(graded.headers["location"])
        assert "2 of 3 answers graded by hand" in after.text and _named(after.text) == []

        # a stale form is refused without naming who changed what
        stale = browser.post(f"{view}/groups/{pair['id']}", data=form)
        assert stale.status_code == 409 and _named(stale.text) == [], stale.text

        # the toggle: names shown again, and kept in the view's links and after a grade
        named = browser.get(f"{view}?group={pair['id']}&names=shown").text
        assert {"zeynep", "yusuf"} <= set(_named(named)) and "Hide names" in named
        assert "names=shown" in named and not any(p in named for p in pseudonyms)
        assert _named(browser.get(f"{view}?names=hidden").text) == []

    with server.client("zeynep") as student:
        report = student.get(f"/api/v1/submissions/{ids['zeynep']}").json()["report"]
    assert next(p for p in report["parts"] if p["id"] == PART)["score"] == 2.5
    with server.client("ta") as ta:
        # grader's own CSV: a Canvas export needs a roster to match students (a 422 without one)
        canvas = ta.get(f"/api/v1/assignments/{ASSIGNMENT}/export", params={"format": "csv"}).text
        hand = ta.get(f"/api/v1/assignments/{ASSIGNMENT}/hand").json()
        audit = ta.get(f"/api/v1/assignments/{ASSIGNMENT}/hand/audit").text
    assert {row[0] for row in list(csv.reader(io.StringIO(canvas)))[2:]} == set(STUDENTS)
    assert sorted(g["student"] for g in hand["grades"]) == ["yusuf", "zeynep"]
    assert {"yusuf", "zeynep"} <= set(_named(audit))


def test_an_assignment_not_anonymous_shows_names_and_the_toggle_hides_them(tmp_path: Path) -> None:
    course = make_course(tmp_path / "course", None, students=STUDENTS[:2])
    with Server(course) as server:
        for name in STUDENTS[:2]:
            _hand_in(server, name, SEED)
        with server.client("ta") as ta:
            view = f"/ta/assignments/{ASSIGNMENT}/parts/{PART}"
            assert set(_named(ta.get(view).text)) == set(STUDENTS[:2])
            hidden = ta.get(view, params={"names": "hidden"}).text
            assert _named(hidden) == [] and "Show names" in hidden
            groups = ta.get(
                f"/api/v1/assignments/{ASSIGNMENT}/parts/{PART}/groups", params={"names": "hidden"}
            )
            assert groups.json()["anonymous"] is True and _named(groups.text) == []
