"""The service over real HTTP (uvicorn on a free loopback port), on SQLite and PostgreSQL:
hand in, poll, verdicts, every error a client can meet, what a student may see."""

from __future__ import annotations

import json
import re
import signal
import textwrap
import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from httpx import Response
from service_server import (
    ROOT,
    Server,
    grading_paused,
    log_in,
    make_course,
    seed_file,
    wait_graded,
)
from sqlalchemy import select

from grader.cli import main
from grader.service.db import Database
from grader.service.models import AuditEntry, Submission
from grader.service.settings import Settings

ASSIGNMENT = "a1-activations-conv"
SEEDS = "activations-softmax-conv"

# A problem set whose reference answers are easy to find in a response, one part visible
# before the release, and a TA's mistake text that quotes the reference.
VISIBILITY_PROBLEMS = textwrap.dedent(
    """\
    assignment: vis
    title: Visibility
    questions:
      - id: q1
        type: number
        answer: 3.14159
        visible: true
        mistakes:
          - {answer: 6.28318, feedback: "You doubled it; the answer is 3.14159"}
      - id: q2
        type: expression
        answer: "z**2 + 3*z + 17"
        symbols: {z: real}
      - id: q3
        type: array
        answer: [[11, 12], [13, 14]]
    """
)
FUTURE = "2999-01-01T00:00:00Z"
PAST = "2000-01-01T00:00:00Z"


@pytest.fixture
def server(tmp_path: Path, db_url: str | None):  # type: ignore[no-untyped-def]
    course = make_course(tmp_path / "course", db_url)
    with Server(course) as running:
        yield running


def submit(client: httpx.Client, assignment: str, content: bytes, name: str = "answers.yaml") -> Response:
    return client.post(f"/api/v1/assignments/{assignment}/submissions", files={"file": (name, content)})


def test_submit_then_poll_gives_the_verdict(server: Server) -> None:
    with server.client("alice") as alice:
        response = submit(alice, ASSIGNMENT, seed_file(SEEDS, "seed-001"))
        assert response.status_code == 202, response.text
        body = response.json()
        assert body["status"] == "queued" and body["version"] == 1
        assert response.headers["location"] == f"/api/v1/submissions/{body['id']}"
        graded = wait_graded(alice, body["id"])
        again = submit(alice, ASSIGNMENT, seed_file(SEEDS, "seed-001")).json()
        assert again["version"] == 2  # every version is kept
        assert wait_graded(alice, again["id"])["report"] == graded["report"]
        history = alice.get("/api/v1/me/submissions").json()["submissions"]
    assert [s["version"] for s in history] == [1, 2]
    db = Database(Settings(course_dir=server.course.folder, db_url=server.course.db_url).database_url)
    with db.session() as session:  # kept as sent, and the audit log says who handed in what
        kept = session.scalars(select(Submission.content).order_by(Submission.id)).all()
        audit = session.execute(select(AuditEntry.action, AuditEntry.detail).order_by(AuditEntry.id)).all()
    db.dispose()
    assert kept == [seed_file(SEEDS, "seed-001")] * 2
    submits = [detail for action, detail in audit if action == "submit"]
    assert submits == [
        {"assignment": ASSIGNMENT, "submission": body["id"], "version": 1},
        {"assignment": ASSIGNMENT, "submission": again["id"], "version": 2},
    ]
    report = graded["report"]
    assert report["assignment"] == ASSIGNMENT and report["student"] == "alice"
    statuses = {part["id"]: part["status"] for part in report["parts"]}
    assert statuses["q6.full"] == "correct"
    assert statuses["q8.3b"] == "incorrect"
    assert statuses["q1.derivative"] == "manual"
    assert all("expected" not in part for part in report["parts"])


def test_answers_as_json_and_the_ta_sees_the_reference(server: Server) -> None:
    with server.client("bob") as bob:
        response = bob.post(
            f"/api/v1/assignments/{ASSIGNMENT}/submissions",
            json={"answers": {"q6.full": "[1, 2, 5, 8, 6, 8]", "q7.output_size": 99}},
        )
        assert response.status_code == 202, response.text
        submission = response.json()["id"]
        report = wait_graded(bob, submission)["report"]
    parts = {p["id"]: p for p in report["parts"]}
    assert parts["q6.full"]["status"] == "correct"
    assert parts["q7.output_size"]["status"] == "incorrect"
    assert parts["q2.softmax_jacobian"]["status"] == "missing"
    with server.client("ta") as ta:
        full = ta.get(f"/api/v1/submissions/{submission}").json()["report"]
        listed = ta.get(f"/api/v1/assignments/{ASSIGNMENT}/submissions").json()["submissions"]
    assert {p["id"]: p.get("expected") for p in full["parts"]}["q7.output_size"] == "73728"
    # the class's list gives each hand-in's score as its report does, without the report
    (row,) = [row for row in listed if row["id"] == submission]
    assert (row["student"], row["status"]) == ("bob", "graded") and "report" not in row
    assert (row["score"], row["max_score"]) == (full["score"], full["max_score"]) and full["score"] > 0


def test_the_class_list_agrees_with_each_hand_in(server: Server) -> None:
    """The TA's list of a class (read in a few queries) says of each hand-in what its own
    page says: its student, version, status and, once graded, its score."""
    sheet = seed_file(SEEDS, "seed-001")
    with server.client("alice") as alice, server.client("bob") as bob:
        graded = [submit(who, ASSIGNMENT, sheet).json()["id"] for who in (alice, bob)]
        for client, submission in zip((alice, bob), graded, strict=True):
            wait_graded(client, submission)
        with grading_paused(server):
            waiting = [submit(who, ASSIGNMENT, sheet).json()["id"] for who in (bob, alice)]
            with server.client("ta") as ta:
                listed = ta.get(f"/api/v1/assignments/{ASSIGNMENT}/submissions").json()["submissions"]
                own = {s: ta.get(f"/api/v1/submissions/{s}").json() for s in graded + waiting}
    rows = {row["id"]: row for row in listed}
    assert set(graded + waiting) <= set(rows)
    fields = ("student", "version", "status")
    for submission, page in own.items():
        row = rows[submission]
        assert [row[key] for key in fields] == [page[key] for key in fields]
        if submission in graded:
            scores = (page["report"]["score"], page["report"]["max_score"])
            assert page["status"] == "graded" and (row["score"], row["max_score"]) == scores
        else:
            assert page["status"] in ("queued", "grading") and "score" not in row
    assert {rows[s]["version"] for s in waiting} == {2}


def long_poll(client: httpx.Client, submission: int, wait: float) -> tuple[Response, float]:
    """The response of ``GET /submissions/{id}?wait=`` and the seconds it took."""
    started = time.monotonic()
    response = client.get(f"/api/v1/submissions/{submission}", params={"wait": wait}, timeout=wait + 60)
    return response, time.monotonic() - started


def test_the_long_poll_answers_once_graded(server: Server) -> None:
    with server.client("alice") as alice, server.client("bob") as bob, ThreadPoolExecutor(1) as pool:
        with grading_paused(server):
            submission = submit(alice, ASSIGNMENT, seed_file(SEEDS, "seed-001")).json()["id"]
            response, took = long_poll(alice, submission, 1)  # the time is up: the state it has
            assert response.status_code == 200 and response.json()["status"] in ("queued", "grading"), (
                response.text
            )
            assert took >= 0.9 and "report" not in response.json()
            response, took = long_poll(bob, submission, 30)  # the plain route's rules, at once
            assert response.status_code == 403 and took < 15
            with server.client(token="not-a-token") as stranger:
                assert long_poll(stranger, submission, 30)[0].status_code == 401
            for wait in ("-1", "31", "soon", "nan", "inf"):
                response = alice.get(f"/api/v1/submissions/{submission}", params={"wait": wait})
                assert response.status_code == 422 and "wait" in response.json()["error"]["message"], wait
            waiting: Future[tuple[Response, float]] = pool.submit(long_poll, alice, submission, 30)
            time.sleep(1.0)  # it waits while nothing grades
            assert not waiting.done()
        response, took = waiting.result()  # woken by the verdict, not by its timeout
        assert response.status_code == 200 and response.json()["status"] == "graded", response.text
        assert took < 20, f"the long poll answered after {took:.1f} s, near its timeout of 30 s"
        assert all("expected" not in part for part in response.json()["report"]["parts"])
        assert response.json() == alice.get(f"/api/v1/submissions/{submission}").json()
        response, took = long_poll(alice, submission, 30)  # graded already: at once
        assert response.json()["status"] == "graded" and took < 15
    openapi = httpx.get(f"{server.url}/api/v1/openapi.json").json()
    (wait_parameter,) = [
        p
        for p in openapi["paths"]["/api/v1/submissions/{submission_id}"]["get"]["parameters"]
        if p["name"] == "wait"
    ]
    assert wait_parameter["in"] == "query" and "graded" in wait_parameter["description"]


def test_a_stopping_server_answers_its_long_polls(tmp_path: Path) -> None:
    course = make_course(tmp_path / "course", None)
    server = Server(course, 1)
    try:
        with server.client("alice") as alice, ThreadPoolExecutor(3) as pool, grading_paused(server):
            submission = submit(alice, ASSIGNMENT, seed_file(SEEDS, "seed-001")).json()["id"]
            waiting = [pool.submit(long_poll, alice, submission, 30) for _ in range(3)]
            time.sleep(1.0)
            assert not any(poll.done() for poll in waiting)
            server.process.send_signal(signal.SIGTERM)
            answers = [poll.result(timeout=60) for poll in waiting]
        for response, took in answers:  # what they had, at once: not at their timeout
            assert response.status_code == 200 and response.json()["status"] in ("queued", "grading")
            assert took < 20, f"a long poll held the stopping server for {took:.1f} s"
        assert server.process.wait(60) in (0, 143)
        assert '"event": "stopped"' in server.log.read_text()
    finally:
        server.kill()


def test_an_unreadable_upload_is_refused_with_the_line_and_nothing_is_kept(tmp_path: Path) -> None:
    course = make_course(tmp_path / "course", None)
    unreadable = b"answers:\n  q6.full: [1, 2\n  q7: 3\n"
    with Server(course, 1) as server, server.client("alice") as alice:
        first = submit(alice, ASSIGNMENT, unreadable)
        again = submit(alice, ASSIGNMENT, unreadable)
        assert first.status_code == again.status_code == 422, first.text
        assert again.json()["error"] == first.json()["error"] and first.json()["error"]["line"] == 3
        assert alice.get("/api/v1/me/submissions").json()["submissions"] == []
        response = submit(alice, ASSIGNMENT, seed_file(SEEDS, "seed-001"))
        assert response.status_code == 202, response.text
        assert wait_graded(alice, response.json()["id"])["status"] == "graded"


def test_errors_say_what_to_do(server: Server) -> None:
    with server.client() as anonymous:
        response = submit(anonymous, ASSIGNMENT, b"answers: {}\n")
        assert response.status_code == 401
        assert "Bearer" in response.json()["error"]["message"]
    with server.client(token="not-a-token") as stranger:
        response = stranger.get("/api/v1/assignments")
        assert response.status_code == 401 and "not valid" in response.json()["error"]["message"]
        # a hand-in and a poll find their caller in their own thread: still 401 before 404 or 403
        for response in (
            submit(stranger, ASSIGNMENT, b"answers: {}\n"),
            submit(stranger, "no-such-assignment", b"answers: {}\n"),
            stranger.get("/api/v1/submissions/1"),
            stranger.get("/api/v1/submissions/999999?wait=5"),
        ):
            assert response.status_code == 401 and "not valid" in response.json()["error"]["message"]
            assert "assignment" not in response.json()["error"]["message"]
    with server.client("alice") as alice, server.client("bob") as bob:
        mine = submit(alice, ASSIGNMENT, seed_file(SEEDS, "seed-001")).json()["id"]
        response = bob.get(f"/api/v1/submissions/{mine}")
        assert response.status_code == 403 and "another student" in response.json()["error"]["message"]
        assert bob.get("/api/v1/submissions/999999").status_code == 404
        response = submit(bob, "no-such-assignment", b"answers: {}\n")
        assert response.status_code == 404 and ASSIGNMENT in response.json()["error"]["message"]
        assert bob.get(f"/api/v1/assignments/{ASSIGNMENT}/export").status_code == 403
        big = b"answers:\n  q1: '" + b"x" * (2 << 20) + b"'\n"
        response = submit(bob, ASSIGNMENT, big)
        assert response.status_code == 413 and "limit" in response.json()["error"]["message"]
        response = submit(bob, ASSIGNMENT, b"answers:\n  q6.full: [1, 2\n  q7: 3\n")
        assert response.status_code == 422
        error = response.json()["error"]
        assert error["line"] == 3 and "^" in error["detail"], error
        assert "answers.yaml" in error["message"] and "/tmp" not in json.dumps(error)
        response = submit(bob, ASSIGNMENT, b"\x00\x01", name="answers.exe")
        assert response.status_code == 422 and ".yaml" in response.json()["error"]["message"]
        # nothing refused was stored
        assert [s["id"] for s in bob.get("/api/v1/me/submissions").json()["submissions"]] == []


def test_rate_limit_per_token(tmp_path: Path) -> None:
    course = make_course(tmp_path / "course", None)
    with Server(course, 1, "--rate-limit", "5") as running, running.client("alice") as alice:
        codes = [alice.get("/api/v1/assignments").status_code for _ in range(8)]
        assert codes[:5] == [200] * 5 and codes[5:] == [429] * 3
        response = alice.get("/api/v1/assignments")
        assert int(response.headers["retry-after"]) >= 1
        assert "try again" in response.json()["error"]["message"]
        with running.client("bob") as bob:  # per token: bob is not slowed by alice
            assert bob.get("/api/v1/assignments").status_code == 200


def reference_strings(ta_report: dict, sent: bytes) -> list[str]:  # type: ignore[type-arg]
    """Every reference answer in the TA's view that the student did not type themselves."""
    found = [p["expected"] for p in ta_report["parts"] if p.get("expected")]
    return [r for r in found if len(r) >= 4 and r.encode() not in sent]


def visibility_course(tmp_path: Path, db_url: str | None, release: str):  # type: ignore[no-untyped-def]
    course_yaml = f"assignments:\n  vis: {{due: '{PAST}', release: '{release}'}}\n"
    course = make_course(tmp_path / "course", db_url, problems=(), course_yaml=course_yaml)
    (course.folder / "problems" / "vis.yaml").write_text(VISIBILITY_PROBLEMS)
    return course


@pytest.mark.parametrize("release", [FUTURE, PAST], ids=["before-release", "after-release"])
def test_a_student_never_sees_a_reference_answer(tmp_path: Path, db_url: str | None, release: str) -> None:
    course = visibility_course(tmp_path, db_url, release)
    sent = b"answers:\n  q1: 6.28318\n  q2: 'z**2 + 3*z + 16'\n  q3: [[11, 12], [13, 15]]\n"
    with Server(course) as running, running.client("alice") as alice, running.client("ta") as ta:
        submission = submit(alice, "vis", sent).json()["id"]
        seen = [wait_graded(alice, submission)]  # a long poll
        seen.append(alice.get(f"/api/v1/submissions/{submission}").json())
        seen.append(alice.get(f"/api/v1/submissions/{submission}", params={"wait": 5}).json())
        seen.append(alice.get("/api/v1/me/submissions").json())
        checked = alice.post("/api/v1/assignments/vis/check", files={"file": ("answers.yaml", sent)})
        assert checked.status_code == 200, checked.text
        seen.append(checked.json())
        ta_view = wait_graded(ta, submission)["report"]
        with httpx.Client(base_url=running.url) as browser:
            login = log_in(browser, "alice", "alice-password")
        cookies = {"grader_session": login.cookies["grader_session"]}
        page = httpx.get(f"{running.url}/submissions/{submission}", cookies=cookies).text
    references = reference_strings(ta_view, sent)
    assert {"3.14159", "[[11, 12], [13, 14]]"} <= set(references), references
    texts = [json.dumps(body) for body in seen] + [page]
    for text in texts:
        for reference in references:
            assert reference not in text and reference.replace(" ", "") not in text.replace(" ", "")
    report = seen[0]["report"]
    parts = {p["id"]: p for p in report["parts"]}
    if release == FUTURE:  # only the visible part carries a verdict; the rest say when
        assert set(parts) == {"q1"} and report["hidden_parts"] == ["q2", "q3"]
        assert report["hidden_until"].startswith("2999-01-01")
        assert seen[0]["late"] is True
    else:
        assert set(parts) == {"q1", "q2", "q3"} and "hidden_parts" not in report
        assert parts["q3"]["status"] == "incorrect" and "(2, 2)" in parts["q3"]["feedback"]
    assert parts["q1"]["status"] == "incorrect"  # the TA's listed mistake, its text withheld
    assert "withheld" in parts["q1"]["feedback"]
    assert ta_view["parts"][0]["feedback"] == "You doubled it; the answer is 3.14159"


def test_grader_check_against_the_server_needs_no_problem_file(server: Server, tmp_path: Path) -> None:
    folder = tmp_path / "repo"
    folder.mkdir()
    (folder / "answers.yaml").write_bytes(seed_file(SEEDS, "seed-001"))
    token = server.course.tokens["alice"]
    remote = ["check", str(folder), "--server", server.url, "--token", token, "--assignment", ASSIGNMENT]
    run = CliRunner().invoke(main, remote)
    assert run.exit_code == 0, run.output
    local = CliRunner().invoke(main, ["check", str(folder), "-p", str(ROOT / "problems" / f"{SEEDS}.yaml")])
    assert run.output.splitlines()[0] == f"{ASSIGNMENT} · alice"
    assert run.output.splitlines()[1:] == local.output.splitlines()[1:]  # the same check, the key kept
    assert "q2.softmax_jacobian" in run.output and "read as" in run.output
    (folder / "answers.yaml").write_text("answers:\n  q6.full: [1, 2\n  q7: 3\n")
    run = CliRunner().invoke(main, remote)
    assert run.exit_code == 1 and "^" in run.output, run.output
    run = CliRunner().invoke(main, [*remote[:-4], "--token", "wrong"])
    assert run.exit_code == 2 and "401" in run.output
    with server.client("alice") as alice:  # nothing was stored
        assert alice.get("/api/v1/me/submissions").json()["submissions"] == []


def test_grader_submit_hands_in_waits_for_the_verdict_and_shows_what_the_student_may_see(
    server: Server, tmp_path: Path
) -> None:
    folder = tmp_path / "repo"
    folder.mkdir()
    (folder / "answers.yaml").write_bytes(seed_file(SEEDS, "seed-001"))
    token = server.course.tokens["alice"]
    remote = ["submit", str(folder), "--server", server.url, "--token", token, "--assignment", ASSIGNMENT]
    with grading_paused(server):  # not graded within --wait: handed in all the same, exit 3
        run = CliRunner().invoke(main, [*remote, "--wait", "1"])
    assert run.exit_code == 3, run.output
    assert run.output.splitlines()[0] == f"{ASSIGNMENT} · alice · version 1"
    first = int(re.search(r"handed in as submission (\d+), (?:queued|grading)", run.output).group(1))  # type: ignore[union-attr]
    assert f"{server.url}/submissions/{first}" in run.output
    run = CliRunner().invoke(main, remote)  # the second version, awaited
    assert run.exit_code == 0, run.output
    with server.client("alice") as alice:
        assert wait_graded(alice, first)["status"] == "graded"
        listed = alice.get("/api/v1/me/submissions").json()["submissions"]
        second = max(s["id"] for s in listed)
        seen = alice.get(f"/api/v1/submissions/{second}").json()
    assert len(listed) == 2 and run.output.splitlines()[0] == f"{ASSIGNMENT} · alice · version 2"
    report = seen["report"]
    for part in report["parts"]:  # every part's verdict and points, as the API shows them
        line = f"{part['status']:<9}  {part['score']:g}/{part['max_score']:g}"
        assert re.search(rf"^  {re.escape(part['id'])} +{re.escape(line)}$", run.output, re.M), part
    assert run.output.splitlines()[-1] == f"score {report['score']:g}/{report['max_score']:g}"
    as_json = CliRunner().invoke(main, [*remote, "--format", "json"])
    assert as_json.exit_code == 0 and json.loads(as_json.output)["report"]["parts"] == report["parts"]
    # A control sequence in an answer reaches no terminal; an unreadable file is refused, not handed in.
    (folder / "answers.yaml").write_text('answers:\n  q6.full: "\\e]0;pwned\\a\\e[2J"\n')
    hostile = CliRunner().invoke(main, remote)
    assert hostile.exit_code == 0 and "\x1b" not in hostile.output and "\x07" not in hostile.output
    (folder / "answers.yaml").write_text("answers:\n  q6.full: [1, 2\n  q7: 3\n")
    refused = CliRunner().invoke(main, remote)
    assert refused.exit_code == 1 and "^" in refused.output, refused.output
    with server.client("alice") as alice:
        assert len(alice.get("/api/v1/me/submissions").json()["submissions"]) == 4
    wrong = CliRunner().invoke(main, [*remote[:-4], "--token", "wrong"])
    assert wrong.exit_code == 2 and "401" in wrong.output


def test_forms_need_their_csrf_token_and_nothing_a_student_sends_runs(server: Server) -> None:
    with httpx.Client(base_url=server.url) as browser:
        login = log_in(browser, "alice", "alice-password")
    assert login.status_code == 303
    set_cookie = login.headers["set-cookie"].lower()
    assert "httponly" in set_cookie and "samesite=lax" in set_cookie
    with httpx.Client(base_url=server.url, cookies=login.cookies, timeout=30) as browser:
        home = browser.get("/", headers={"accept": "text/html"})
        assert "content-security-policy" in home.headers and "unsafe-inline" not in home.text
        token = re.search(r"name='csrf' value='([^']+)'", home.text)
        assert token is not None
        hostile = 'answers:\n  q6.full: "<script>alert(1)</script>"\n  q7.params: "<img src=x onerror=1>"\n'
        form = {"text": hostile}
        refused = browser.post(
            f"/assignments/{ASSIGNMENT}/submit", data=form, headers={"accept": "text/html"}
        )
        assert refused.status_code == 403 and "CSRF" in refused.text
        sent = browser.post(f"/assignments/{ASSIGNMENT}/submit", data={**form, "csrf": token.group(1)})
        assert sent.status_code == 303
        submission = int(sent.headers["location"].rsplit("/", 1)[1])
    with server.client("alice") as alice:
        wait_graded(alice, submission)
    with httpx.Client(base_url=server.url, cookies=login.cookies, timeout=30) as browser:
        page = browser.get(f"/submissions/{submission}").text
    assert "<script>alert" not in page and "<img src=x" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert httpx.get(f"{server.url}/login?token=whatever").status_code == 200  # a GET never logs in
