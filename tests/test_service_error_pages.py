"""A service error page keeps the navigation bar of the person who is logged in (issue 49
item 12), over real HTTP: a page that does not exist (404), one of another role (403), a
request that is not valid (422) all show the links, the name and "Log out" of every page; each
is titled in words (issue 60 item 6), not by its status number."""

from __future__ import annotations

import re

import httpx
import pytest
from service_server import Server, log_in, make_course

PAGE = {"Accept": "text/html,application/xhtml+xml"}


def _nav(response: httpx.Response) -> str:
    found = re.search(r"<nav class='top'>.*?</nav>", response.text, re.S)
    assert found is not None, response.text
    return found.group(0)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    course = make_course(tmp_path_factory.mktemp("error-pages") / "course", None)
    with Server(course) as running:
        yield running


@pytest.mark.parametrize(
    ("user", "path", "status"),
    [
        ("ta", "/no-such-page", 404),
        ("alice", "/no-such-page", 404),
        ("alice", "/ta", 403),
        ("ta", "/submissions/not-a-number", 422),
        ("alice", "/submissions/not-a-number", 422),
    ],
)
def test_an_error_page_keeps_the_navigation_bar(server: Server, user: str, path: str, status: int) -> None:
    with httpx.Client(base_url=server.url, timeout=30) as browser:
        assert log_in(browser, user, server.course.passwords[user]).status_code == 303
        response = browser.get(path, headers=PAGE)
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("text/html"), response.text
    nav = _nav(response)
    assert f"<span class='who'>{user} ({'ta' if user == 'ta' else 'student'})</span>" in nav
    assert "Log out</button>" in nav and "<a href='/'>Assignments</a>" in nav
    assert ("<a href='/ta'>Class</a>" in nav) == (user == "ta")
    # titled for people (issue 60 item 6): words, the status number only below them
    heading = {404: "Not found", 403: "Not allowed", 422: "That could not be used"}[status]
    assert f"<h1>{heading}</h1>" in response.text and f"<title>grader: {heading}</title>" in response.text
    assert f"<h1>{status}</h1>" not in response.text and f"HTTP status {status}." in response.text


def test_an_error_page_of_nobody_logged_in_has_no_name(server: Server) -> None:
    response = httpx.get(f"{server.url}/no-such-page", headers=PAGE, timeout=30)
    assert response.status_code == 404
    nav = _nav(response)
    assert "class='who'" not in nav and "Log out" not in nav


def test_the_api_still_answers_errors_in_json(server: Server) -> None:
    with server.client("alice") as alice:
        response = alice.get("/api/v1/submissions/not-a-number", headers=PAGE)
    assert response.status_code == 422 and response.json()["error"]["status"] == 422
