"""The TA's similar sheets in the service (issue 63), over real HTTP on SQLite and
PostgreSQL: only TAs reach them (a student gets 403, nobody logged in 401), the page is
computed in the background once the deadline has passed (the copy of one student's right
answers into another variant is found) and again after a late hand-in, a TA's "compute again"
is done in the background too, and the page in a real browser (its screenshots are
docs/similarity-*.png)."""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import time
from pathlib import Path

import httpx
import pytest
from chromium import Chromium, chromium_path
from service_fixtures import db_url  # noqa: F401  # the sqlite/postgresql fixture
from service_server import TA_PASSWORD, Server, make_course, wait_graded
from service_server import log_in as log_in_http
from test_service_browser import log_in
from test_service_variants import ASSIGNMENT, SET, STUDENTS, answers, two_variants

PAGE = f"/ta/similarity/{ASSIGNMENT}"


@pytest.fixture
def server(tmp_path: Path, db_url: str | None):  # type: ignore[no-untyped-def]  # noqa: F811
    now = dt.datetime.now(dt.UTC)
    due, close = (now - dt.timedelta(hours=1)).isoformat(), (now + dt.timedelta(days=7)).isoformat()
    course_yaml = f"assignments:\n  {ASSIGNMENT}:\n    due: '{due}'\n    close: '{close}'\n"
    course = make_course(tmp_path / "course", db_url, students=STUDENTS, problems=(), course_yaml=course_yaml)
    shutil.copy(SET, course.folder / "problems" / SET.name)
    with Server(course) as running:
        yield running


def hand_in(server: Server, student: str, text: bytes) -> None:
    with server.client(student) as client:
        sent = client.post(
            f"/api/v1/assignments/{ASSIGNMENT}/submissions", files={"file": ("answers.yaml", text)}
        )
        assert sent.status_code in (200, 201, 202), sent.text
        wait_graded(client, sent.json()["id"])


def computed(client: httpx.Client, seen: str, timeout: float = 120) -> str:
    """The page once the background has computed it from ``seen`` (e.g. "2 counted hand-ins")."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        page = client.get(PAGE)
        assert page.status_code == 200, page.text
        if "Computed at" in page.text and seen in page.text and 'id="pending"' not in page.text:
            return page.text
        time.sleep(0.5)
    raise AssertionError(f"the page was not computed from {seen} in {timeout} s: {page.text[:2000]}")


def test_only_tas_see_similar_sheets_computed_after_the_deadline_and_late_hand_ins(server: Server) -> None:
    (first, mine), (second, _) = two_variants(server).items()
    hand_in(server, first, answers(mine))
    hand_in(server, second, answers(mine))  # first's right answers, in second's own variant
    with server.client(first) as student:
        for path in ("/ta/similarity", PAGE):
            refused = student.get(path)
            assert refused.status_code == 403, path
            assert first not in refused.text and second not in refused.text
        assert student.post(f"{PAGE}/recompute").status_code == 403
    with httpx.Client(base_url=server.url) as nobody:
        assert nobody.get(PAGE).status_code == 401
        assert nobody.get("/ta/similarity").status_code == 401
        assert nobody.post(f"{PAGE}/recompute").status_code == 401
    with server.client("ta") as ta:
        home = ta.get("/ta")
        assert "href='/ta/similarity'" in home.text
        # nobody opened it: the deadline had passed
        page = computed(ta, "2 counted hand-ins, 2 with a verdict")
        first_row = page.split("<tbody>", 1)[1].split("</tr>", 1)[0]
        assert first in first_row and second in first_row
        index = ta.get("/ta/similarity")
        assert index.status_code == 200 and f'href="{PAGE}"' in index.text and "2 hand-ins" in index.text
        third = next(s for s in STUDENTS if s not in (first, second))
        hand_in(server, third, answers(mine))  # a late hand-in: one more copy
        again = computed(ta, "3 counted hand-ins, 3 with a verdict")
        assert third in again


def test_a_ta_asks_to_compute_again_with_the_forms_csrf_token(server: Server) -> None:
    (first, mine), (second, _) = two_variants(server).items()
    hand_in(server, first, answers(mine))
    hand_in(server, second, answers(mine))
    with httpx.Client(base_url=server.url) as browser:
        assert log_in_http(browser, "ta", TA_PASSWORD).status_code in (200, 303)
        page = computed(browser, "2 counted hand-ins")
        before = re.search(r"Computed at ([^,]+),", page)
        assert before is not None
        assert browser.post(f"{PAGE}/recompute", data={"csrf": "stale"}).status_code == 403
        token = re.search(r"name='csrf' value='([^']+)'", page)
        assert token is not None
        time.sleep(1.1)  # computed at: seconds
        asked = browser.post(f"{PAGE}/recompute", data={"csrf": token.group(1)})
        assert asked.status_code == 303 and asked.headers["location"] == PAGE
        deadline = time.monotonic() + 120
        while True:
            again = computed(browser, "2 counted hand-ins")
            after = re.search(r"Computed at ([^,]+),", again)
            if after is not None and after.group(1) != before.group(1):
                break
            assert time.monotonic() < deadline, again[:2000]
            time.sleep(0.5)


@pytest.mark.skipif(chromium_path() is None, reason="no chromium on this machine")
def test_the_page_in_a_browser(server: Server, tmp_path: Path) -> None:
    (first, mine), (second, _) = two_variants(server).items()
    hand_in(server, first, answers(mine))
    hand_in(server, second, answers(mine))
    with server.client("ta") as ta:
        computed(ta, "2 counted hand-ins, 2 with a verdict")
    shots = Path(os.environ.get("GRADER_SCREENSHOTS", tmp_path))
    with Chromium() as browser:
        page = log_in(browser, server, "ta", TA_PASSWORD)
        page.go(f"{server.url}/ta")
        page.evaluate("document.querySelector(\"a[href='/ta/similarity']\").click()")
        page.wait_for("document.querySelector('#assignments') !== null", timeout=60)
        page.screenshot(shots / "similarity-index.png")
        page.evaluate(f"document.querySelector('a[href=\"{PAGE}\"]').click()")
        page.wait_for("document.querySelector('section.pair') !== null", timeout=120)
        assert page.evaluate("document.querySelectorAll('mark').length") > 0
        row = page.evaluate("document.querySelector('table.pairs tbody tr').innerText")
        assert first in row and second in row
        page.screenshot(shots / "similarity-pair.png")
