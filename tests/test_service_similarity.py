"""The TA's similar sheets in the service (issue 63), over real HTTP on SQLite and
PostgreSQL: only TAs reach them (a student gets 403, nobody logged in 401), the copy of one
student's right answers into another variant is found, a late hand-in is on the next view,
and the page in a real browser (its screenshots are docs/similarity-*.png)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import httpx
import pytest
from chromium import Chromium, chromium_path
from service_fixtures import db_url  # noqa: F401  # the sqlite/postgresql fixture
from service_server import TA_PASSWORD, Server, make_course, wait_graded
from test_service_browser import log_in
from test_service_variants import ASSIGNMENT, SET, STUDENTS, answers, two_variants

PAGE = f"/ta/similarity/{ASSIGNMENT}"


@pytest.fixture
def server(tmp_path: Path, db_url: str | None):  # type: ignore[no-untyped-def]  # noqa: F811
    course = make_course(tmp_path / "course", db_url, students=STUDENTS, problems=())
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


def test_only_tas_see_similar_sheets_and_a_late_copy_is_on_the_next_view(server: Server) -> None:
    (first, mine), (second, _) = two_variants(server).items()
    hand_in(server, first, answers(mine))
    hand_in(server, second, answers(mine))  # first's right answers, in second's own variant
    with server.client(first) as student:
        for path in ("/ta/similarity", PAGE):
            refused = student.get(path)
            assert refused.status_code == 403, path
            assert first not in refused.text and second not in refused.text
    with httpx.Client(base_url=server.url) as nobody:
        assert nobody.get(PAGE).status_code == 401
    with server.client("ta") as ta:
        home = ta.get("/ta")
        assert "href='/ta/similarity'" in home.text
        index = ta.get("/ta/similarity")
        assert index.status_code == 200 and f'href="{PAGE}"' in index.text
        page = ta.get(PAGE)
        assert page.status_code == 200, page.text
        first_row = page.text.split("<tbody>", 1)[1].split("</tr>", 1)[0]
        assert first in first_row and second in first_row
        assert "2 counted hand-ins" in page.text
        third = next(s for s in STUDENTS if s not in (first, second))
        hand_in(server, third, answers(mine))  # a late hand-in: one more copy
        again = ta.get(PAGE)
        assert "3 counted hand-ins" in again.text and third in again.text


@pytest.mark.skipif(chromium_path() is None, reason="no chromium on this machine")
def test_the_page_in_a_browser(server: Server, tmp_path: Path) -> None:
    (first, mine), (second, _) = two_variants(server).items()
    hand_in(server, first, answers(mine))
    hand_in(server, second, answers(mine))
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
