"""Small things a student could use against the class (issue 45, item 12), over real HTTP:
the database and the verdict store are private files in a private folder, a submission id past
what a database holds is a 404, and a TA page never shows text a link carries."""

from __future__ import annotations

import dataclasses
import re
import stat
import time
from pathlib import Path

import httpx
import pytest
from lti_platform import PageForms
from service_server import Course, Server, log_in, make_course, seed_file, wait_graded

ASSIGNMENT = "a1-activations-conv"
PHISH = "Your session expired: log in again at https://evil.example/login"


def test_the_database_and_the_verdict_store_are_private(tmp_path: Path) -> None:
    course = make_course(tmp_path / "course", None)
    data = course.folder / ".grader-service"
    data.chmod(0o755)  # as an older grader left it
    (data / "grader.sqlite3").chmod(0o644)
    with Server(course):
        pass
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    for name in ("grader.sqlite3", "verdicts.sqlite3"):
        assert stat.S_IMODE((data / name).stat().st_mode) == 0o600, name
    made = tmp_path / "fresh"
    with Server(make_course(made, None)):
        pass
    assert stat.S_IMODE((made / ".grader-service").stat().st_mode) == 0o700
    assert stat.S_IMODE((made / ".grader-service" / "grader.sqlite3").stat().st_mode) == 0o600


def test_a_submission_id_past_64_bits_is_not_found(tmp_path: Path) -> None:
    course = make_course(tmp_path / "course", None)
    with Server(course) as server, server.client("alice") as alice, server.client("ta") as ta:
        for huge in (2**63, 2**64 + 5, 10**30):
            response = alice.get(f"/api/v1/submissions/{huge}")
            assert response.status_code == 404, response.text
            assert response.json()["error"]["status"] == 404
            assert ta.post(f"/api/v1/submissions/{huge}/regrade").status_code == 404
        assert alice.get(f"/api/v1/submissions/{2**63 - 1}").status_code == 404  # the largest id: none


def test_ta_pages_show_no_text_a_link_carries(tmp_path: Path) -> None:
    course = make_course(tmp_path / "course", None)
    with Server(course) as server, server.client() as browser:
        login = log_in(browser, "ta", course.passwords["ta"])
        assert login.status_code in (200, 303), login.text
        page = browser.get(f"/ta/assignments/{ASSIGNMENT}/parts/q1.derivative", params={"message": PHISH})
        assert page.status_code == 200, page.text
        assert "q1.derivative" in page.text and "evil.example" not in page.text


def test_a_refused_group_grade_shows_the_servers_reason_on_the_page(tmp_path: Path) -> None:
    """The form's 409 is the part's page with what the server says (who changed the grade), not
    a redirect whose link carries the message."""
    course = make_course(tmp_path / "course", None)
    part = "q1.derivative"
    with Server(course) as server, server.client("alice") as alice, server.client() as browser:
        handed_in = alice.post(
            f"/api/v1/assignments/{ASSIGNMENT}/submissions",
            files={"file": ("answers.yaml", seed_file("activations-softmax-conv", "seed-001"))},
        )
        wait_graded(alice, handed_in.json()["id"])
        log_in(browser, "ta", course.passwords["ta"])
        page = browser.get(f"/ta/assignments/{ASSIGNMENT}/parts/{part}").text
        action, fields = PageForms(page).with_field("student", "alice")
        with server.client("ta") as ta:  # another tab grades alice first
            changed = ta.put(f"/api/v1/assignments/{ASSIGNMENT}/hand/alice/{part}", json={"points": 1})
            assert changed.status_code == 200
        refused = browser.post(action, data={**fields, "points": "4"}, follow_redirects=False)
        assert refused.status_code == 409, refused.text
        assert "changed by ta" in refused.text and "<form" in refused.text


def test_the_rate_limiter_forgets_keys_once_their_window_is_past(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Every request with a made-up token is a new key: what the limiter holds stays bounded by
    the keys of one window (issue 45, item 11), and a key within its window is still limited."""
    from grader.service import service as service_module

    clock = [1000.0]
    monkeypatch.setattr(service_module.time, "monotonic", lambda: clock[0])
    limiter = service_module.RateLimiter(limit=2, window=60.0)
    for minute in range(10):
        for number in range(1000):
            assert limiter.retry_after(f"made-up-{minute}-{number}") is None
        clock[0] += 61.0
    assert len(limiter._hits) <= 1000  # the keys it holds (10,000 were sent)
    assert limiter.retry_after("alice") is None and limiter.retry_after("alice") is None
    assert limiter.retry_after("alice") == 60.0


def _guess(server: Server, user: str, address: str, browser: httpx.Client | None = None) -> httpx.Response:
    """A wrong password for ``user`` from ``address`` (as the proxy in front says), by a new
    browser unless one is given."""
    if browser is not None:
        return log_in(browser, user, "a wrong guess")
    with server.client() as fresh:
        fresh.headers["x-forwarded-for"] = address
        return log_in(fresh, user, "a wrong guess")


def test_password_guessing_is_slowed_per_account_and_address_and_stalls_no_one(tmp_path: Path) -> None:
    """Sixteen wrong passwords for the TA sent at once from one address: five are checked, a
    few more as the growing waits end, the others are told to wait (429 with Retry-After);
    even the right password from there waits; a student's API request is answered at once
    meanwhile; another student behind the same address (a campus NAT) logs in as usual (issue 57, fault 6)."""
    import time
    from concurrent.futures import ThreadPoolExecutor

    course = make_course(tmp_path / "course", None)
    with Server(course) as server, server.client("alice") as alice:
        with ThreadPoolExecutor(16) as pool:
            guesses = [pool.submit(_guess, server, "ta", "10.0.0.7") for _ in range(16)]
            started = time.monotonic()
            assert alice.get("/api/v1/assignments").status_code == 200
            answered_in = time.monotonic() - started
            answers = [guess.result() for guess in guesses]
        assert answered_in < 3.0, f"a student's request waited {answered_in:.1f} s behind the guesses"
        statuses = sorted(answer.status_code for answer in answers)
        # five free, then one more each time a wait (1 s, 2 s, 4 s) is over while the burst lasts
        assert set(statuses) <= {401, 429} and statuses.count(401) <= 8 and 429 in statuses, statuses
        assert all(int(a.headers["retry-after"]) >= 1 for a in answers if a.status_code == 429)
        time.sleep(max(int(a.headers["retry-after"]) for a in answers if a.status_code == 429) + 0.2)
        assert _guess(server, "ta", "10.0.0.7").status_code == 401  # the sixth: the next waits 2 s
        with server.client() as browser:
            browser.headers["x-forwarded-for"] = "10.0.0.7"
            right = log_in(browser, "ta", course.passwords["ta"])
            assert right.status_code == 429 and "try again in" in right.text
            other = log_in(browser, "bob", course.passwords["bob"])
            assert other.status_code == 303, other.text
            time.sleep(int(right.headers["retry-after"]) + 0.2)
            assert log_in(browser, "ta", course.passwords["ta"]).status_code == 303


def test_the_waits_grow_with_each_failure_and_forget_a_success(monkeypatch: pytest.MonkeyPatch) -> None:
    """Past five failures for an account from one address, each failure makes the next try from
    there wait twice as long (1 s, 2 s, 4 s, ... at most five minutes); a success forgets them.
    Other addresses and accounts are not slowed; a browser known to the account is not slowed by
    failures of unknown ones."""
    from grader.service import throttle

    clock = [1000.0]
    monkeypatch.setattr(throttle.time, "monotonic", lambda: clock[0])
    logins = throttle.LoginThrottle()
    for _ in range(5):
        assert logins.attempt("ta", "10.0.0.8", known=False) is None
    waits = []
    for _ in range(16):
        waits.append(logins.attempt("ta", "10.0.0.8", known=False))
        clock[0] += waits[-1] or 0.0
        assert logins.attempt("ta", "10.0.0.8", known=False) is None
    assert waits[:4] == [1.0, 2.0, 4.0, 8.0] and max(waits) == 300.0, waits  # type: ignore[type-var]
    assert logins.attempt("ta", "10.0.0.9", known=False) is not None  # 21 guesses: the account's own wait
    assert logins.attempt("bob", "10.0.0.8", known=False) is None
    assert logins.attempt("ta", "10.0.0.8", known=True) is None
    clock[0] += 300.0
    logins.succeeded("ta", "10.0.0.8", known=False)
    assert logins.attempt("ta", "10.0.0.8", known=False) is None


def test_the_right_password_logs_in_once_the_wait_is_over(tmp_path: Path) -> None:
    import time

    course = make_course(tmp_path / "course", None)
    with Server(course) as server:
        answers = [_guess(server, "alice", "10.0.0.8")]
        while answers[-1].status_code != 429:
            answers.append(_guess(server, "alice", "10.0.0.8"))
            assert len(answers) < 12, [answer.status_code for answer in answers]
        assert [answer.status_code for answer in answers[:5]] == [401] * 5
        assert "try again in" in answers[-1].text
        time.sleep(int(answers[-1].headers["retry-after"]) + 0.5)
        with server.client() as browser:
            browser.headers["x-forwarded-for"] = "10.0.0.8"
            assert log_in(browser, "alice", course.passwords["alice"]).status_code == 303


def test_guesses_from_everywhere_are_bounded_but_lock_out_no_one(tmp_path: Path) -> None:
    """Wrong passwords for the TA from many addresses (a botnet): past twenty, new browsers
    wait for the TA's account wherever they are, so the guesses it can receive stay bounded;
    yet the TA's own browser, which logged in before, logs in at once, and a valid one-time
    link logs a student in whatever failed before it from the same address."""
    course = make_course(tmp_path / "course", None)
    with Server(course) as server:
        with server.client() as own_browser:  # the TA's browser, known to the account
            own_browser.headers["x-forwarded-for"] = "10.1.0.1"
            assert log_in(own_browser, "ta", course.passwords["ta"]).status_code == 303
            own_browser.cookies.delete("grader_session")
            answers = [_guess(server, "ta", "10.2.0.0")]
            while answers[-1].status_code != 429:  # new browsers from new addresses each time
                answers.append(_guess(server, "ta", f"10.2.0.{len(answers)}"))
                assert len(answers) < 40, "guesses from everywhere were never slowed"
            statuses = [answer.status_code for answer in answers]
            assert statuses[:20] == [401] * 20 and statuses.count(401) <= 24, statuses
            time.sleep(int(answers[-1].headers["retry-after"]) + 0.2)
            assert _guess(server, "ta", "10.2.1.1").status_code == 401  # counted: the next waits 2 s
            with server.client() as new_browser:
                new_browser.headers["x-forwarded-for"] = "10.3.0.1"
                assert log_in(new_browser, "ta", course.passwords["ta"]).status_code == 429
            assert log_in(own_browser, "ta", course.passwords["ta"]).status_code == 303
        for _ in range(8):
            _guess(server, "alice", "10.4.0.1")
        link = _one_time_link(course, server, "alice")
        with server.client() as browser:
            browser.headers["x-forwarded-for"] = "10.4.0.1"
            shown = browser.get(link)
            token = re.search(r"name='csrf' value='([^']+)'", shown.text)
            assert token is not None, shown.text
            assert browser.post(link, data={"csrf": token.group(1)}).status_code == 303


def _one_time_link(course: Course, server: Server, student: str) -> str:
    from click.testing import CliRunner

    from grader.cli import main

    made = CliRunner().invoke(main, ["users", "link", str(course.folder), student, "--url", server.url])
    assert made.exit_code == 0, made.output
    return made.output.strip()


def test_a_network_plot_is_never_a_side_file_in_the_service_pages() -> None:
    """Issue 49 item 11: a verdict that names the batch's side file of its plot (never served by
    the service) shows no broken image: the plot drawn in the page, or why there is none."""
    from grader.core.plotdata import CurvePlot
    from grader.core.report import PartResult, Report, Status
    from grader.course.visibility import student_part
    from grader.reporting.html import render_student_page

    part = PartResult(
        "approx.linear", Status.INCORRECT, 0, 3, type="network", plot_file="submission-approx.linear.svg"
    )
    shown = student_part(part)
    assert shown.plot_file is None
    page = render_student_page(Report("a1", "s", [shown]), False)
    assert "<img" not in page and "No plot of this network" in page
    drawn = dataclasses.replace(part, plot=CurvePlot("x", (0.0, 1.0), (0.0, 1.0)))
    page = render_student_page(Report("a1", "s", [student_part(drawn)]), False)
    assert "<img" not in page and "<svg" in page
