"""Session cookies are no ambient key to the API (issue 45, item 9), over real HTTP: with a
cookie, every API request that changes state carries the session's CSRF token in
``X-CSRF-Token`` (a bearer token needs none); the log-in form has a CSRF token of its own,
tied to the browser that fetched the form; rate limits count a user's requests whatever
credential they come with."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
from service_server import Server, log_in, make_course, seed_file, wait_graded

ASSIGNMENT = "a1-activations-conv"
ANSWERS = seed_file("activations-softmax-conv", "seed-001")
NEEDS_TOKEN = "the session's CSRF token in the X-CSRF-Token header"


def session_token(browser: httpx.Client) -> str:
    """The session's CSRF token, as a page's script reads it: from the page's forms."""
    found = re.search(r"name='csrf' value='([^']+)'", browser.get("/").text)
    assert found is not None
    return found.group(1)


def test_the_api_with_a_session_cookie_needs_the_sessions_csrf_token(tmp_path: Path) -> None:
    course = make_course(tmp_path / "course", None)
    with (
        Server(course) as server,
        httpx.Client(base_url=server.url, timeout=60) as alice,
        httpx.Client(base_url=server.url, timeout=60) as ta,
        server.client("alice") as alice_with_token,
    ):
        assert log_in(alice, "alice", course.passwords["alice"]).status_code == 303
        assert log_in(ta, "ta", course.passwords["ta"]).status_code == 303
        hand_in = f"/api/v1/assignments/{ASSIGNMENT}/submissions"
        check = f"/api/v1/assignments/{ASSIGNMENT}/check"
        refused = {
            "hand-in": alice.post(hand_in, files={"file": ("answers.yaml", ANSWERS)}),
            "check": alice.post(check, files={"file": ("answers.yaml", ANSWERS)}),
            "hand-in, a wrong token": alice.post(
                hand_in, files={"file": ("answers.yaml", ANSWERS)}, headers={"X-CSRF-Token": "guessed"}
            ),
        }
        assert alice.get("/api/v1/me/submissions").json()["submissions"] == []  # nothing was stored
        token = {"X-CSRF-Token": session_token(alice)}
        handed_in = alice.post(hand_in, files={"file": ("answers.yaml", ANSWERS)}, headers=token)
        checked = alice.post(check, files={"file": ("answers.yaml", ANSWERS)}, headers=token)
        submission = handed_in.json()["id"]
        wait_graded(alice_with_token, submission)
        read = alice.get(f"/api/v1/submissions/{submission}")  # reading needs no token
        regrade = f"/api/v1/submissions/{submission}/regrade"
        refused["regrade"] = ta.post(regrade)
        refused["hand grade"] = ta.put(f"/api/v1/assignments/{ASSIGNMENT}/hand/alice/q1.derivative", json={})
        regraded = ta.post(regrade, headers={"X-CSRF-Token": session_token(ta)})
        with server.client("ta") as ta_with_token:  # a bearer token is not ambient: no CSRF token
            regraded_by_token = ta_with_token.post(regrade)
        handed_in_by_token = alice_with_token.post(hand_in, files={"file": ("answers.yaml", ANSWERS)})
    for what, response in refused.items():
        assert response.status_code == 403 and NEEDS_TOKEN in response.json()["error"]["message"], what
    assert handed_in.status_code == 202 and checked.status_code == 200, (handed_in.text, checked.text)
    assert read.status_code == 200 and regraded.status_code == 202
    assert regraded_by_token.status_code == 202 and handed_in_by_token.status_code == 202


def test_the_log_in_form_has_a_csrf_token_of_its_browser(tmp_path: Path) -> None:
    """Another site cannot log a browser in to an account of its choosing: a log-in without the
    form's token, or with a token fetched by another browser, starts no session."""
    course = make_course(tmp_path / "course", None)
    credentials = {"user": "alice", "password": course.passwords["alice"]}
    with (
        Server(course) as server,
        httpx.Client(base_url=server.url) as victim,
        httpx.Client(base_url=server.url) as attacker,
    ):
        forged = victim.post("/login", data=credentials)
        attackers_form = attacker.get("/login").text
        attackers_token = re.search(r"name='csrf' value='([^']+)'", attackers_form).group(1)  # type: ignore[union-attr]
        victim.get("/login")  # the victim's browser has a log-in cookie of its own
        replayed = victim.post("/login", data={**credentials, "csrf": attackers_token})
        victims_session = victim.cookies.get("grader_session")
        honest = log_in(attacker, **credentials)
        form_cookie = httpx.get(f"{server.url}/login").headers["set-cookie"].lower()
    for refused in (forged, replayed):
        assert refused.status_code == 403 and "log-in form is stale or from another site" in refused.text
        assert "grader_session" not in refused.cookies
    assert victims_session is None
    assert honest.status_code == 303 and "grader_session" in honest.cookies
    assert form_cookie.startswith("grader_login=")
    assert "httponly" in form_cookie and "samesite=lax" in form_cookie and "path=/login" in form_cookie


def test_rate_limits_count_a_users_requests_whatever_the_credential(tmp_path: Path) -> None:
    course = make_course(tmp_path / "course", None)
    with (
        Server(course, 1, "--rate-limit", "6") as server,
        server.client("alice") as alice_with_token,
        httpx.Client(base_url=server.url) as alice_with_cookie,
        server.client("bob") as bob,
    ):
        log_in(alice_with_cookie, "alice", course.passwords["alice"])
        by_token = [alice_with_token.get("/api/v1/assignments").status_code for _ in range(3)]
        by_cookie = [alice_with_cookie.get("/api/v1/assignments").status_code for _ in range(3)]
        past = alice_with_cookie.get("/api/v1/assignments")
        past_by_token = alice_with_token.get("/api/v1/assignments")
        page = alice_with_cookie.get("/", headers={"accept": "text/html"})
        bobs = bob.get("/api/v1/assignments")
    assert by_token == [200] * 3 and by_cookie == [200] * 3
    for response in (past, past_by_token):
        assert response.status_code == 429 and "too many requests from your account" in response.text
        assert int(response.headers["retry-after"]) >= 1
    assert page.status_code == 429  # the pages count too
    assert bobs.status_code == 200  # per user: bob is not slowed by alice
