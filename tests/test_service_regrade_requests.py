"""Regrade requests over real HTTP (SQLite and PostgreSQL): a student asks for a regrade of a
part with a reason, the TA sees it in the queue (counted on /ta), opens the part in the
grading view with the request beside it and answers, changing the points (a hand grade the
student's score, the exports and the audit log see) or keeping them, with a reply the
student reads. Each refusal says why; one open request per part, however many arrive at once."""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import re
import threading
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from service_server import SERVICE_WORKERS, TA_PASSWORD, Server, log_in, make_course, seed_file, wait_graded

from grader.cli import main

ASSIGNMENT = "a1-activations-conv"
PART = "q1.derivative"
SEED = seed_file("activations-softmax-conv", "seed-001")
OPEN_UNTIL = f"assignments:\n  {ASSIGNMENT}:\n    regrade_requests: {{until: 2099-01-01T00:00:00Z}}\n"
HOSTILE = "I proved it at 0 too. <script>alert('x')</script> & \"more\""


def _hand_in(server: Server, student: str) -> int:
    with server.client(student) as client:
        response = client.post(
            f"/api/v1/assignments/{ASSIGNMENT}/submissions", files={"file": ("answers.yaml", SEED)}
        )
        assert response.status_code == 202, response.text
        submission_id: int = response.json()["id"]
        wait_graded(client, submission_id)
        return submission_id


def _part(report: dict, part_id: str) -> dict:  # type: ignore[type-arg]
    return next(p for p in report["parts"] if p["id"] == part_id)


def _csrf(text: str) -> str:
    token = re.search(r"name='csrf' value='([^']+)'", text)
    assert token is not None, text
    return token.group(1)


def _ask(server: Server, student: str, reason: str = HOSTILE, part: str = PART) -> httpx.Response:
    with server.client(student) as client:
        return client.post(
            f"/api/v1/assignments/{ASSIGNMENT}/regrade-requests", json={"part": part, "reason": reason}
        )


@pytest.fixture
def open_class(tmp_path: Path, db_url: str | None):  # type: ignore[no-untyped-def]
    course = make_course(tmp_path / "course", db_url, students=("alice", "bob"), course_yaml=OPEN_UNTIL)
    with Server(course, SERVICE_WORKERS) as server:
        ids = {name: _hand_in(server, name) for name in ("alice", "bob")}
        yield server, ids


def test_a_request_goes_from_student_to_ta_and_back(open_class) -> None:  # type: ignore[no-untyped-def]
    server, ids = open_class
    asked = _ask(server, "alice")
    assert asked.status_code == 201, asked.text
    request = asked.json()
    assert request["status"] == "open" and request["reason"] == HOSTILE and request["student"] == "alice"
    second = _ask(server, "alice", "again")
    assert second.status_code == 409 and "already have an open regrade request" in second.text

    # only the student's own, and only staff answer or list the course's
    with server.client("bob") as bob:
        assert bob.get(f"/api/v1/regrade-requests/{request['id']}").status_code == 404
        assert bob.get("/api/v1/me/regrade-requests").json()["requests"] == []
        assert bob.get("/api/v1/regrade-requests").status_code == 403
        refused = bob.post(
            f"/api/v1/regrade-requests/{request['id']}/answer", json={"keep": True, "reply": "x"}
        )
        assert refused.status_code == 403
    with server.client("ta") as ta:
        assert _ask(server, "ta").status_code == 403  # a TA does not ask
        assert [r["id"] for r in ta.get("/api/v1/regrade-requests").json()["requests"]] == [request["id"]]
        assert ta.get("/api/v1/regrade-requests", params={"status": "kept"}).json()["requests"] == []
        assert ta.get("/api/v1/regrade-requests", params={"status": "bogus"}).status_code == 422

    with httpx.Client(base_url=server.url, timeout=30) as browser:
        assert log_in(browser, "ta", TA_PASSWORD).status_code == 303
        home = browser.get("/ta").text
        assert "Regrade requests: 1 open" in home
        queue = browser.get("/ta/regrade-requests").text
        assert "<script>alert" not in queue and "&lt;script&gt;alert(" in queue
        link = re.search(r"href='(/ta/assignments/[^']+\?request=\d+)'", queue)
        assert link is not None
        view = browser.get(link.group(1).replace("&amp;", "&"))
        assert view.status_code == 200
        assert (
            "Regrade request #" in view.text
            and "&lt;script&gt;" in view.text
            and "<script>alert" not in view.text
        )
        assert re.search(r"<li>alice: ", view.text)  # her group is the one shown beside it
        form = {
            "csrf": _csrf(view.text),
            "outcome": "changed",
            "points": "3",
            "version": "0",
            "reply": "Yes: <b>3</b>.",
        }
        answer_url = f"/ta/regrade-requests/{request['id']}/answer"
        assert browser.post(answer_url, data={**form, "csrf": "forged"}).status_code == 403  # CSRF
        done = browser.post(answer_url, data=form)
        assert done.status_code == 303, done.text
        again = browser.post(answer_url, data=form)
        assert again.status_code == 409 and "answered already" in again.text
        assert "Regrade requests: 0 open" in browser.get("/ta").text

    with server.client("alice") as alice:
        mine = alice.get(f"/api/v1/regrade-requests/{request['id']}").json()
        assert mine["status"] == "changed" and mine["points"] == 3 and mine["reply"] == "Yes: <b>3</b>."
        report = alice.get(f"/api/v1/submissions/{ids['alice']}").json()["report"]
        assert _part(report, PART)["score"] == 3 and _part(report, PART)["hand"]["by"] == "ta"
        page = alice.get(f"/submissions/{ids['alice']}").text
        assert "Yes: &lt;b&gt;3&lt;/b&gt;." in page and "<b>3</b>" not in page and "points changed" in page
    with server.client("ta") as ta:
        detail = ta.get(f"/api/v1/regrade-requests/{request['id']}").json()
        assert [step["action"] for step in detail["history"]] == ["regrade-request", "regrade-answer"]
        assert detail["history"][1]["detail"]["new_points"] == 3 and detail["hand_version"] == 1
        hand = ta.get(f"/api/v1/assignments/{ASSIGNMENT}/hand").json()["grades"]
        assert [(g["student"], g["part"], g["points"]) for g in hand] == [("alice", PART, 3.0)]
        audit = ta.get(f"/api/v1/assignments/{ASSIGNMENT}/hand/audit").json()["changes"]
        assert [(c["student"], c["new"]["points"]) for c in audit] == [("alice", 3.0)]
        # grader's own CSV: a Canvas export needs a roster to match students (a 422 without one)
        export = ta.get(f"/api/v1/assignments/{ASSIGNMENT}/export", params={"format": "csv"}).text
        rows = {row["student"]: row for row in csv.DictReader(io.StringIO(export))}
        assert float(rows["alice"]["total"]) == pytest.approx(float(rows["bob"]["total"]) + 3)

    # answered, the part may be asked about again; kept, the points stay
    again_asked = _ask(server, "alice", "One more look, please.")
    assert again_asked.status_code == 201, again_asked.text
    with server.client("ta") as ta:
        kept = ta.post(
            f"/api/v1/regrade-requests/{again_asked.json()['id']}/answer",
            json={"keep": True, "reply": "Three is right."},
        )
        assert kept.status_code == 200 and kept.json()["status"] == "kept"
        both = ta.post(
            f"/api/v1/regrade-requests/{again_asked.json()['id']}/answer",
            json={"keep": True, "points": 1, "reply": "x"},
        )
        assert both.status_code == 422
    with server.client("alice") as alice:
        report = alice.get(f"/api/v1/submissions/{ids['alice']}").json()["report"]
        assert _part(report, PART)["score"] == 3
        assert [r["status"] for r in alice.get("/api/v1/me/regrade-requests").json()["requests"]] == [
            "changed",
            "kept",
        ]


ROUNDS = 12  # rounds of the race (benchmarks/race_service.py runs longer races of the service)


def _eight_at_once(server: Server, round_number: int) -> list[int]:
    """The statuses of 8 requests of alice's for one part, posted at one instant."""
    statuses: list[int] = []
    start = threading.Barrier(8)

    def post(index: int) -> None:
        start.wait()
        statuses.append(_ask(server, "alice", f"reason {round_number}.{index}").status_code)

    threads = [threading.Thread(target=post, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses


def test_concurrent_requests_for_one_part_leave_one_open(open_class) -> None:  # type: ignore[no-untyped-def]
    """Round after round, 8 requests of one student for one part at one instant leave exactly
    one open; once the TA answers it, the next round opens one again."""
    server, _ = open_class
    for round_number in range(ROUNDS):
        statuses = _eight_at_once(server, round_number)
        assert sorted(statuses) == [201] + [409] * 7, f"round {round_number}: {statuses}"
        with server.client("ta") as ta:
            listed = ta.get("/api/v1/regrade-requests").json()["requests"]
            assert [(r["student"], r["part"]) for r in listed] == [("alice", PART)]
            answered = ta.post(
                f"/api/v1/regrade-requests/{listed[0]['id']}/answer", json={"keep": True, "reply": "Kept."}
            )
            assert answered.status_code == 200, answered.text


def test_the_page_form_asks_with_csrf_and_the_cli_lists_and_answers(open_class) -> None:  # type: ignore[no-untyped-def]
    server, ids = open_class
    with httpx.Client(base_url=server.url, timeout=30) as browser:
        assert log_in(browser, "bob", "bob-password").status_code == 303
        page = browser.get(f"/submissions/{ids['bob']}").text
        assert "id='regrade-form'" in page and f"<option value='{PART}'>" in page
        form = {"csrf": _csrf(page), "part": PART, "reason": "The step at 0 is there.\x1b[2J"}
        url = f"/assignments/{ASSIGNMENT}/regrade-requests"
        assert browser.post(url, data={**form, "csrf": ""}).status_code == 403
        asked = browser.post(url, data=form)
        assert asked.status_code == 303 and asked.headers["location"].startswith(f"/submissions/{ids['bob']}")
        shown = browser.get(f"/submissions/{ids['bob']}").text
        assert "The step at 0 is there." in shown and "open: a TA will answer" in shown
        assert f"<option value='{PART}'>" not in shown  # one open request per part

    base = ["hand", "requests", str(server.course.folder)]
    if server.course.db_url:
        base += ["--db", server.course.db_url]
    listed = CliRunner().invoke(main, base)
    assert listed.exit_code == 0, listed.output
    assert "bob" in listed.stdout and PART in listed.stdout and "The step at 0 is there." in listed.stdout
    assert "\x1b" not in listed.stdout  # a student's escape sequence never reaches the TA's terminal
    number = re.search(r"#(\d+)", listed.stdout)
    assert number is not None
    answered = CliRunner().invoke(
        main, [*base, "--answer", number.group(1), "--points", "2.5", "--reply", "Half of it holds."]
    )
    assert answered.exit_code == 0, answered.output
    assert CliRunner().invoke(main, base).stdout.startswith("no open regrade request")
    every = CliRunner().invoke(main, [*base, "--all"]).stdout
    assert "changed" in every and "ta: Half of it holds." in every
    twice = CliRunner().invoke(main, [*base, "--answer", number.group(1), "--keep", "--reply", "x"])
    assert twice.exit_code != 0 and "answered already" in twice.output
    with server.client("bob") as bob:
        report = bob.get(f"/api/v1/submissions/{ids['bob']}").json()["report"]
        assert _part(report, PART)["score"] == 2.5
        mine = bob.get("/api/v1/me/regrade-requests").json()["requests"]
        assert mine[0]["reply"] == "Half of it holds." and mine[0]["answered_by"] == "ta"


@pytest.mark.parametrize(
    ("course_yaml", "message"),
    [
        ("", "takes no regrade requests"),
        (
            f"assignments:\n  {ASSIGNMENT}:\n    regrade_requests: {{until: 2020-01-01T00:00:00Z}}\n",
            "closed at",
        ),
        (
            f"assignments:\n  {ASSIGNMENT}:\n    release: 2098-01-01T00:00:00Z\n"
            "    regrade_requests: {until: 2099-01-01T00:00:00Z}\n",
            "not released to you yet",
        ),
    ],
    ids=["not-taken", "closed", "before-release"],
)
def test_a_request_outside_its_window_is_refused_saying_why(
    tmp_path: Path, course_yaml: str, message: str
) -> None:
    course = make_course(tmp_path / "course", None, students=("alice",), course_yaml=course_yaml or None)
    with Server(course) as server:
        submission = _hand_in(server, "alice")
        refused = _ask(server, "alice")
        assert refused.status_code == 403 and message in refused.json()["error"]["message"], refused.text
        with server.client("alice") as alice:
            assert "id='regrade-form'" not in alice.get(f"/submissions/{submission}").text
            assert alice.get("/api/v1/me/regrade-requests").json()["requests"] == []


def test_a_request_needs_a_reason_a_known_part_and_a_hand_in(tmp_path: Path) -> None:
    from grader.service.routes import regrade_requests as request_routes

    course = make_course(tmp_path / "course", None, students=("alice", "bob"), course_yaml=OPEN_UNTIL)
    with Server(course) as server:
        assert _ask(server, "alice").status_code == 404  # nothing handed in
        _hand_in(server, "alice")
        assert _ask(server, "alice", "   ").status_code == 422
        # only invisible characters: zero-width space, joiner, word joiner, BOM, a Hangul filler,
        # the braille blank, a combining accent alone, a soft hyphen
        for unseen in ("\u200b", "\u200b\u200c\u200d \u2060\ufeff", "\u3164", "\u2800\n", "\u0301", "\u00ad"):
            refused = _ask(server, "alice", unseen)
            assert refused.status_code == 422, (unseen, refused.text)
            assert "invisible characters only" in refused.json()["error"]["message"]
        assert _ask(server, "alice", part="q99").status_code == 404
        assert _ask(server, "alice", "x" * 5001).status_code == 422
        for route in request_routes.router.routes:  # nobody logged in: every route refuses
            path = route.path.replace("{assignment}", ASSIGNMENT).replace("{request_id}", "1")  # type: ignore[attr-defined]
            for method in route.methods:  # type: ignore[attr-defined]
                assert httpx.request(method, server.url + path).status_code == 401, path


def test_the_migration_adds_the_table_whose_index_keeps_one_open_request_per_part(
    tmp_path: Path, db_url: str | None
) -> None:
    """From the schema before (0010), upgrade makes the table; the database itself refuses a
    second open request for a part (answered ones may be many), and downgrade takes it away."""
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import inspect
    from sqlalchemy.exc import IntegrityError

    from grader.service.db import MIGRATIONS, Database
    from grader.service.models import Assignment, Course, RegradeRequestRow, User

    url = (db_url or f"sqlite:///{tmp_path / 'grader.sqlite3'}").replace(
        "postgresql://", "postgresql+psycopg://", 1
    )
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    command.upgrade(config, "0010_login_links")
    database = Database(url)
    assert "regrade_requests" not in inspect(database.engine).get_table_names()
    command.upgrade(config, "head")
    database.dispose()
    database = Database(url)
    with database.session() as db:
        db.add(Course(id=1, name="course"))
        db.add(User(id=1, course_id=1, name="alice", role="student"))
        db.flush()
        db.add(Assignment(id=1, course_id=1, name="a1", problem_hash="x", problem_text="", source_path="a"))

    def add(status: str, part: str = PART) -> None:
        with database.session() as db:
            db.add(RegradeRequestRow(assignment_id=1, student_id=1, part=part, reason="r", status=status))

    add("open")
    add("changed")
    add("kept")
    add("open", "q2")
    with pytest.raises(IntegrityError):
        add("open")
    command.downgrade(config, "0010_login_links")
    assert "regrade_requests" not in inspect(database.engine).get_table_names()
    database.dispose()


def test_course_yaml_reads_the_regrade_deadline_in_the_course_zone_and_names_a_mistake() -> None:
    import datetime as dt

    from grader.course.files import CourseFileError, parse_course_config

    head = "timezone: Europe/Berlin\nassignments:\n  hw2:\n"
    config = parse_course_config(head + "    regrade_requests: {until: 2026-12-20}\n")
    assert config.deadlines["hw2"].regrade_until == dt.datetime(2026, 12, 20, 22, 59, 59, 999999, dt.UTC)
    assert parse_course_config(head + "    due: 2026-12-01\n").deadlines["hw2"].regrade_until is None
    for wrong, said in (
        ("{until: soon}", "not a date or a time"),
        ("{until: 2026-12-20, from: 2026-12-01}", "unknown key"),
    ):
        with pytest.raises(CourseFileError) as error:
            parse_course_config(head + f"    regrade_requests: {wrong}\n")
        assert error.value.line == 4 and said in error.value.message


def test_an_answer_over_a_changed_grade_leaves_the_request_open_and_two_answers_close_it_once(
    open_class,
) -> None:  # type: ignore[no-untyped-def]
    server, ids = open_class
    request_id = _ask(server, "alice").json()["id"]
    with server.client("ta") as ta:
        graded = ta.put(
            f"/api/v1/assignments/{ASSIGNMENT}/hand/alice/{PART}", json={"points": 1, "version": 0}
        )
        assert graded.status_code == 200, graded.text
        stale = ta.post(
            f"/api/v1/regrade-requests/{request_id}/answer",
            json={"points": 4, "reply": "Full.", "version": 0},
        )
        assert stale.status_code == 409 and "the request stays open" in stale.text
        assert ta.get(f"/api/v1/regrade-requests/{request_id}").json()["status"] == "open"

    results: list[tuple[int, float]] = []
    start = threading.Barrier(4)

    def post(points: float) -> None:
        with server.client("ta") as ta:
            start.wait()
            answer = {"points": points, "reply": f"{points} it is.", "version": 1}
            results.append(
                (ta.post(f"/api/v1/regrade-requests/{request_id}/answer", json=answer).status_code, points)
            )

    threads = [threading.Thread(target=post, args=(p,)) for p in (2.0, 2.5, 3.0, 3.5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(status for status, _ in results) == [200, 409, 409, 409]
    winner = next(points for status, points in results if status == 200)
    with server.client("alice") as alice:
        report = alice.get(f"/api/v1/submissions/{ids['alice']}").json()["report"]
        mine = alice.get(f"/api/v1/regrade-requests/{request_id}").json()
    assert _part(report, PART)["score"] == winner and mine["points"] == winner and mine["hand_version"] == 2


def _roster_pseudonym(assignment_id: int, student: str) -> str:
    """The pseudonym as it was computed before issue 60: keyed by the assignment alone, so anyone
    with the roster could compute it."""
    key = f"grader anonymous grading\0{assignment_id}\0{ASSIGNMENT}".encode()
    return "anon-" + hmac.new(key, student.encode(), hashlib.sha256).hexdigest()[:10]


def test_in_an_anonymous_assignment_the_queue_and_the_view_show_the_pseudonym(
    tmp_path: Path, db_url: str | None
) -> None:
    course_yaml = OPEN_UNTIL + "    anonymous: true\n"
    course = make_course(tmp_path / "course", db_url, students=("zeynep", "yusuf"), course_yaml=course_yaml)
    with Server(course) as server:
        for name in ("zeynep", "yusuf"):
            _hand_in(server, name)
        request_id = _ask(server, "zeynep", "Please look at the case x = 0 again.").json()["id"]
        with server.client("ta") as ta:
            queue = ta.get("/ta/regrade-requests").text
            view = ta.get(f"/ta/assignments/{ASSIGNMENT}/parts/{PART}", params={"request": request_id}).text
            listed = ta.get("/api/v1/regrade-requests").json()["requests"]
            named = ta.get("/api/v1/regrade-requests", params={"names": "shown"}).json()["requests"]
            one = ta.get(f"/api/v1/regrade-requests/{request_id}").json()
            one_named = ta.get(f"/api/v1/regrade-requests/{request_id}", params={"names": "shown"}).json()
            ta.post(
                f"/api/v1/regrade-requests/{request_id}/answer",
                json={"keep": True, "reply": "The case x = 0 is graded."},
            ).raise_for_status()
            answered = ta.get(f"/api/v1/regrade-requests/{request_id}").json()
        for shown in (queue, view, str(listed), str(one), str(answered)):
            assert "zeynep" not in shown and "yusuf" not in shown
        assert re.search(r"Regrade request #\d+ from anon-[0-9a-f]{10}", view)
        alias = listed[0]["student"]
        assert alias.startswith("anon-") and named[0]["student"] == "zeynep"
        assert one["student"] == alias and one["history"][0]["who"] == alias  # the history too
        assert one["history"][0]["detail"]["student"] == alias
        assert [step["detail"]["student"] for step in answered["history"]] == [alias, alias]
        assert answered["history"][1]["who"] == "ta"
        assert one_named["history"][0]["who"] == "zeynep"  # names shown: the names
        # keyed by the server's secret: the roster and the assignment are not enough
        assert alias not in {_roster_pseudonym(n, "zeynep") for n in range(1, 20)}
    with Server(course) as again, again.client("ta") as ta:  # the same pseudonym after a restart
        requests = ta.get("/api/v1/regrade-requests", params={"status": "all"}).json()["requests"]
        assert requests[0]["student"] == alias


def test_an_id_or_version_past_what_a_database_holds_is_refused_not_a_server_error(
    open_class,  # type: ignore[no-untyped-def]
) -> None:
    server, _ = open_class
    huge = 2**64  # past SQLite's and PostgreSQL's integers
    with server.client("alice") as alice:
        assert alice.get(f"/api/v1/regrade-requests/{huge}").status_code == 404
    with server.client("ta") as ta:
        assert (
            ta.post(f"/api/v1/regrade-requests/{huge}/answer", json={"keep": True, "reply": "x"}).status_code
            == 404
        )
        view = f"/ta/assignments/{ASSIGNMENT}/parts/{PART}"
        for request_id in (str(huge), "²", "9" * 5000):
            assert ta.get(view, params={"request": request_id}).status_code == 200
    first = _ask(server, "alice", "Please look again.").json()["id"]
    with server.client("ta") as ta:  # a hand grade of the part, then an answer over a version no grade has
        given = ta.post(f"/api/v1/regrade-requests/{first}/answer", json={"points": 3, "reply": "Yes."})
        assert given.status_code == 200, given.text
        second = _ask(server, "alice", "And once more.").json()["id"]
        over = ta.post(
            f"/api/v1/regrade-requests/{second}/answer", json={"points": 2, "reply": "No.", "version": huge}
        )
        assert over.status_code == 422, over.text
        assert ta.get(f"/api/v1/regrade-requests/{second}").json()["status"] == "open"


def test_points_changed_by_a_regrade_answer_are_offered_to_the_rest_of_the_group(open_class) -> None:  # type: ignore[no-untyped-def]
    """Issue 60 item 6: alice and bob handed in the same proof (one group); a regrade answer gives
    alice 3 points, and the grading view it lands on offers bob the same 3, or a rubric edit."""
    server, ids = open_class
    request = _ask(server, "alice", "Both signs are there.").json()
    with httpx.Client(base_url=server.url, timeout=30) as browser:
        assert log_in(browser, "ta", TA_PASSWORD).status_code == 303
        view = browser.get(f"/ta/assignments/{ASSIGNMENT}/parts/{PART}?request={request['id']}").text
        assert "id='same-change'" not in view  # nothing changed yet
        form = {"csrf": _csrf(view), "outcome": "changed", "points": "3", "version": "0", "reply": "Yes."}
        done = browser.post(f"/ta/regrade-requests/{request['id']}/answer", data=form)
        assert done.status_code == 303 and f"?request={request['id']}" in done.headers["location"]
        landed = browser.get(done.headers["location"]).text
        offer = re.search(r"<section class='warning' id='same-change'>.*?</section>", landed, re.S)
        assert offer is not None, landed
        assert "bob (0)" in offer.group(0) and "Give these 1 answer 3 points too" in offer.group(0)
        assert "href='#rubric-edit'" in offer.group(0)
        action = re.search(r"action='([^']+)' id='same-change-form'", offer.group(0))
        assert action is not None
        fields = dict(re.findall(r"name='(\w+)' value='([^']*)'", offer.group(0)))
        assert fields["student"] == "bob" and fields["points"] == "3"
        given = browser.post(action.group(1), data=fields)
        assert given.status_code == 303, given.text
        after = browser.get(f"/ta/assignments/{ASSIGNMENT}/parts/{PART}?request={request['id']}").text
        assert "id='same-change'" not in after  # the whole group has the 3 points now
    with server.client("bob") as bob:
        report = bob.get(f"/api/v1/submissions/{ids['bob']}").json()["report"]
        assert _part(report, PART)["score"] == 3 and _part(report, PART)["hand"]["by"] == "ta"
