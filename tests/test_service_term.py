"""A term on the service (issue 49): a late policy (close, penalty) and extensions in
course.yaml, ``grader extend`` and the TA's form; every export, the dashboard and the LMS score
carry the counted version, its lateness and the penalty; a student reads before handing in that
it will be late and what that costs; times in the course's zone; scores to 2 decimals."""

from __future__ import annotations

import csv
import datetime as dt
import html
import io
import json
import re
import textwrap
import time
import zoneinfo
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from chromium import Chromium, chromium_path
from click.testing import CliRunner
from service_server import Course, Server, make_course, wait_graded
from service_server import log_in as form_log_in
from sqlalchemy import select
from test_service_api import grading_paused
from test_service_browser import log_in

from grader.cli import main
from grader.core.report import HandIn, PartResult, Report
from grader.core.verdict import Status
from grader.course.files import CourseFileError, parse_course_config
from grader.course.late import Penalty, close_for, penalty_points
from grader.course.shown import shown_time
from grader.reporting.dashboard import render_dashboard
from grader.reporting.html import render_student_page
from grader.reporting.reporters import REPORTERS
from grader.service.db import Database
from grader.service.lti.scores import score_row
from grader.service.models import AuditEntry, LtiLineItem, Submission
from grader.service.settings import Settings
from grader.service.templating import time_html

TERM_PROBLEMS = textwrap.dedent(
    """\
    assignment: term
    title: Term
    questions:
      - id: q1
        type: number
        points: 10
        answer: 4
        visible: true
      - id: q2
        type: number
        points: 10
        answer: 7.25
    """
)
ANSWERS = b"answers:\n  q1: 4\n  q2: 7.25\n"
DAY = dt.timedelta(days=1)


def iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# ---- the policy's arithmetic -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "late_by", "given", "taken"),
    [
        ({"per_day": "10%"}, dt.timedelta(hours=1), 20, 2),  # a day begun is a day
        ({"per_day": "10%"}, dt.timedelta(days=3, hours=2), 20, 8),
        ({"per_day": "10%", "floor": "50%"}, dt.timedelta(days=9), 20, 10),  # never below half
        ({"per_day": "10%", "floor": "50%"}, dt.timedelta(days=9), 8, 0),  # already below: kept
        ({"per_hour": 1}, dt.timedelta(hours=5, minutes=1), 20, 1.2),
        ({"fixed": "25%"}, dt.timedelta(seconds=1), 12, 5),  # a share of the points possible
        ({"fixed": "25%"}, dt.timedelta(0), 12, 0),  # on time
    ],
)
def test_a_penalty_takes_a_share_of_the_points_possible_down_to_the_floor(
    written: dict[str, object], late_by: dt.timedelta, given: float, taken: float
) -> None:
    assert penalty_points(Penalty.model_validate(written), late_by, given, 20) == pytest.approx(taken)


def test_course_yaml_reads_close_penalty_and_canvas_and_says_what_is_wrong() -> None:
    config = parse_course_config(
        "timezone: Europe/Berlin\nassignments:\n  hw2:\n    due: 2026-12-01\n    close: 2026-12-08\n"
        "    penalty: {per_day: 10%, floor: 50%}\n    canvas: {id: 4242, title: HW2}\n"
    )
    hw2 = config.deadlines["hw2"]
    assert hw2.close == dt.datetime(2026, 12, 8, 22, 59, 59, 999999, tzinfo=dt.UTC)
    assert hw2.penalty is not None and hw2.penalty.per_day == 10 and hw2.penalty.floor == 50
    assert hw2.canvas is not None and (hw2.canvas.id, hw2.canvas.title) == (4242, "HW2")
    for text, line, words in [
        ("assignments:\n  hw2:\n    due: '2026-12-01T00:00Z'\n    close: '2026-11-01T00:00Z'\n", 4, "before"),
        ("assignments:\n  hw2:\n    penalty: {per_day: 10%}\n", 3, "needs a due"),
        (
            "assignments:\n  hw2:\n    due: '2026-12-01T00:00Z'\n    penalty: {per_day: 1, fixed: 2}\n",
            4,
            "one of",
        ),
    ]:
        with pytest.raises(CourseFileError) as caught:
            parse_course_config(text)
        assert caught.value.line == line and words in caught.value.message


def test_an_extension_moves_the_close_as_far_as_the_due() -> None:
    due = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    assert close_for(due + 7 * DAY, due, due + 2 * DAY) == due + 9 * DAY
    assert close_for(due + 7 * DAY, due, None) == due + 7 * DAY


# ---- over HTTP ----------------------------------------------------------------------------------


def term_course(tmp_path: Path, db_url: str | None, now: dt.datetime) -> Course:
    """``term`` due 3 days 2 hours ago, open a week after the due, 10% a day down to half;
    ``closed`` closed an hour ago."""
    due = now - 3 * DAY - dt.timedelta(hours=2)
    course_yaml = (
        "timezone: Europe/Berlin\nassignments:\n"
        f"  term: {{due: '{iso(due)}', close: '{iso(due + 7 * DAY)}',"
        " penalty: {per_day: 10%, floor: 50%}, canvas: {id: 4242, title: HW2}}\n"
        f"  closed: {{due: '{iso(now - 2 * DAY)}', close: '{iso(now - dt.timedelta(hours=1))}'}}\n"
        "  later: {due: '2999-01-01T00:00:00Z'}\n"
    )
    course = make_course(
        tmp_path / "course", db_url, students=("alice", "bob", "carol"), problems=(), course_yaml=course_yaml
    )
    (course.folder / "problems" / "term.yaml").write_text(TERM_PROBLEMS)
    for other in ("closed", "later"):
        (course.folder / "problems" / f"{other}.yaml").write_text(TERM_PROBLEMS.replace("term", other))
    roster = "folder,name,email\nalice,Alice A,alice@uni.example\nbob,Bob B,bob@uni.example\ncarol,Carol C,\n"
    (course.folder / "roster.csv").write_text(roster)
    return course


def hand_in(client: httpx.Client, assignment: str) -> httpx.Response:
    return client.post(
        f"/api/v1/assignments/{assignment}/submissions", files={"file": ("answers.yaml", ANSWERS)}
    )


@contextmanager
def page_session(server: Server, user: str) -> Iterator[httpx.Client]:
    """A browser's session of ``user`` (logged in with the password), for the pages."""
    with httpx.Client(base_url=server.url, timeout=60) as client:
        login = form_log_in(client, user, server.course.passwords[user])
        assert login.status_code == 303, login.text
        yield client


def csrf(page: str) -> str:
    found = re.search(r"name='csrf' value='([^']+)'", page)
    assert found is not None
    return found.group(1)


def test_late_work_is_penalised_in_every_export_and_a_closed_assignment_refuses_hand_ins(
    tmp_path: Path, db_url: str | None
) -> None:
    now = dt.datetime.now(dt.UTC)
    course = term_course(tmp_path, db_url, now)
    # bob's extension, from the command line: two days after the due, in the course's zone
    until = (now + 2 * DAY).astimezone(dt.timezone(dt.timedelta(hours=1))).strftime("%Y-%m-%dT%H:%M")
    extend = ["extend", str(course.folder), "bob", "term", until]
    if db_url:
        extend += ["--db", db_url]
    run = CliRunner().invoke(main, extend)
    assert run.exit_code == 0, run.output
    assert "bob has until" in run.output
    with (
        Server(course) as server,
        server.client("alice") as alice,
        server.client("bob") as bob,
        server.client("carol") as carol,
    ):
        with page_session(server, "alice") as alice_pages:
            home = alice_pages.get("/").text
        # before handing in, alice reads that it will be late and what it costs: 4 days begun
        assert "a hand-in now is late, and it loses 40% of the points possible" in home
        assert "10% of the points a day late (each day begun), down to 50% at least" in home
        assert "<time datetime=" in home and " UTC'>" in home and "CET" in home  # Berlin, UTC on hover
        closed = hand_in(alice, "closed")
        assert closed.status_code == 403 and "closed at" in closed.json()["error"]["message"]
        assert "Closed at" in home and "id='closed-closed'" in home
        for client in (alice, bob, carol):
            submitted = hand_in(client, "term")
            assert submitted.status_code == 202, submitted.text
            wait_graded(client, submitted.json()["id"])
        with server.client("ta") as ta:
            exports = {
                fmt: ta.get("/api/v1/assignments/term/export", params={"format": fmt})
                for fmt in ("csv", "json", "canvas", "moodle")
            }
            with page_session(server, "ta") as ta_pages:
                dashboard = ta_pages.get("/ta/assignments/term").text
    for response in exports.values():
        assert response.status_code == 200, response.text
    rows = list(csv.DictReader(io.StringIO(exports["csv"].text)))
    by_student = {row["student"]: row for row in rows}
    assert by_student["alice"]["total"] == "12" and by_student["alice"]["points given"] == "20"
    assert by_student["alice"]["late penalty"] == "8" and by_student["alice"]["version"] == "1"
    assert float(by_student["alice"]["late by (hours)"]) >= 74
    assert by_student["bob"]["total"] == "20" and by_student["bob"]["late penalty"] == ""
    reports = {report["student"]: report for report in json.loads(exports["json"].text)}
    assert reports["alice"]["score"] == 12 and reports["alice"]["points_given"] == 20
    assert reports["alice"]["hand_in"]["penalty"] == 8 and reports["alice"]["hand_in"]["late"] is True
    assert reports["bob"]["hand_in"]["late"] is False and reports["bob"]["score"] == 20
    canvas = list(csv.reader(io.StringIO(exports["canvas"].text)))
    assert canvas[0][-1] == "HW2 (4242)"  # course.yaml's canvas: Canvas fills its own column
    assert [(row[0], row[-1]) for row in canvas[2:]] == [
        ("Alice A", "12"),
        ("Bob B", "20"),
        ("Carol C", "12"),
    ]
    moodle = list(csv.reader(io.StringIO(exports["moodle"].text)))
    assert moodle[1:] == [["alice@uni.example", "Alice A", "12"], ["bob@uni.example", "Bob B", "20"]]
    assert exports["moodle"].headers["x-grader-left-out"] == "carol"  # no e-mail: no row, and said
    assert (
        "version 1 counts, handed in" in dashboard and "h late: 8 points off (10% of the points" in dashboard
    )
    assert "12/20" in dashboard


def test_a_ta_grants_an_extension_on_the_students_page_and_it_is_audited(
    tmp_path: Path, db_url: str | None
) -> None:
    now = dt.datetime.now(dt.UTC)
    course = term_course(tmp_path, db_url, now)
    with Server(course) as server, page_session(server, "ta") as ta:
        page = ta.get("/ta/students/carol").text
        assert "Grant the extension" in page
        until = (now + 3 * DAY).strftime("%Y-%m-%dT%H:%M")  # a datetime-local field, Berlin time
        no_token = ta.post("/ta/students/carol/extend", data={"assignment": "closed", "until": until})
        assert no_token.status_code == 403
        granted = ta.post(
            "/ta/students/carol/extend", data={"csrf": csrf(page), "assignment": "closed", "until": until}
        )
        assert granted.status_code == 200 and "carol has until" in granted.text
        bad = ta.post(
            "/ta/students/carol/extend", data={"csrf": csrf(page), "assignment": "closed", "until": "soon"}
        )
        assert bad.status_code == 422 and "Extension not granted" in bad.text
        with server.client("carol") as carol:
            handed = hand_in(carol, "closed")  # the close moved with the due: open again for carol
            assert handed.status_code == 202, handed.text
            assert handed.json()["late"] is False
    database = Database(Settings(course_dir=course.folder, db_url=db_url).database_url)
    with database.session(read_only=True) as db:
        audit = db.scalars(select(AuditEntry).where(AuditEntry.action == "extend")).all()
    database.dispose()
    assert [(row.detail["student"], row.detail["assignment"]) for row in audit] == [("carol", "closed")]


def test_before_the_release_a_students_score_says_what_it_covers(tmp_path: Path) -> None:
    course = term_course(tmp_path, None, dt.datetime.now(dt.UTC))
    with Server(course) as server, server.client("alice") as alice:
        submitted = hand_in(alice, "later")
        graded = wait_graded(alice, submitted.json()["id"])
        with page_session(server, "alice") as pages:
            page = pages.get(f"/submissions/{submitted.json()['id']}").text
    assert graded["report"]["score_covers"] == "on the 1 part released of 2"
    assert graded["report"]["score"] == 10 and graded["report"]["max_score"] == 10
    assert "Score: 10/10 on the 1 part released of 2</strong>" in page


# ---- how people read scores and times (item 4) --------------------------------------------------


def thirds_report() -> Report:
    parts = [PartResult("q1", Status.PARTIAL, 2 / 3, 1.0, type="number")]
    report = Report("term", "alice", parts, folder="alice")
    report.hand_in = HandIn(1, "2026-12-01T10:00:00+00:00", 7200.0, penalty=1 / 9, rule="10% an hour")
    return report


def test_scores_show_at_most_two_decimals_where_people_read_them_and_exactly_in_json() -> None:
    report = thirds_report()
    gradebook = list(csv.DictReader(io.StringIO(REPORTERS["csv"].render_batch([report]))))
    assert gradebook[1]["q1"] == "0.67" and gradebook[1]["total"] == "0.56"
    assert gradebook[1]["late penalty"] == "0.11"
    canvas = REPORTERS["canvas"].render_batch([report])
    assert canvas.splitlines()[-1].endswith(",0.56")
    page = render_student_page(report)
    assert "Score: 0.56/1</strong>" in page and "0.666667" not in page
    dashboard = render_dashboard([report])
    assert "0.56/1" in dashboard and "2 h late: 0.11 points off" in dashboard
    exact = json.loads(REPORTERS["json"].render_batch([report]))[0]
    assert exact["score"] == 0.555556 and exact["parts"][0]["score"] == 0.666667


def test_times_are_shown_in_the_course_zone_with_utc_on_hover() -> None:
    moment = dt.datetime(2026, 12, 1, 16, 0, tzinfo=dt.UTC)
    berlin = zoneinfo.ZoneInfo("Europe/Berlin")
    assert shown_time(moment, berlin) == "2026-12-01 17:00 CET"
    assert time_html(moment, berlin) == (
        "<time datetime='2026-12-01T16:00:00+00:00' title='2026-12-01 16:00 UTC'>2026-12-01 17:00 CET</time>"
    )
    assert shown_time(moment, None) == "2026-12-01 16:00 UTC"


# ---- unreadable answers, before the release (item 2) ---------------------------------------------

UNREADABLE = "answers:\n  q1: 4\n  q2: '3 +* 1'\n"


def test_the_form_shows_unreadable_answers_of_hidden_parts_on_check_and_after_a_hand_in(
    tmp_path: Path,
) -> None:
    course = term_course(tmp_path, None, dt.datetime.now(dt.UTC))
    with Server(course) as server, page_session(server, "alice") as pages:
        home = pages.get("/").text
        assert "<input type='submit' value='Check' formaction='/assignments/later/check'>" in home
        checked = pages.post("/assignments/later/check", data={"csrf": csrf(home), "text": UNREADABLE})
        handed = pages.post("/assignments/later/submit", data={"csrf": csrf(home), "text": UNREADABLE})
        assert handed.status_code == 303
        with server.client("alice") as alice:
            submission = int(handed.headers["location"].rsplit("/", 1)[1])
            via_api = alice.post(
                "/api/v1/assignments/later/check", files={"file": ("answers.yaml", UNREADABLE.encode())}
            ).json()
            wait_graded(alice, submission)
        page = pages.get(f"/submissions/{submission}").text
    assert checked.status_code == 200
    shown = re.search(r"<div id='check'>.*?<pre class='answer check'>(.*?)</pre>", checked.text, re.S)
    assert shown is not None and html.unescape(shown.group(1)) == via_api["text"]  # what --server prints
    assert "<strong>cannot be read:</strong><pre class='unreadable'>" in _row(checked.text, "q2")
    assert "q2  number" in via_api["text"] and "cannot be read:" in via_api["text"] and "^" in via_api["text"]
    assert "verdict  correct (10/10)" in via_api["text"]  # q1 is visible: its verdict
    assert via_api["text"].count("verdict") == 1  # q2 is hidden: none
    read_back = re.search(
        r"<section class='part' id='read-back'>.*?<pre class='answer check'>(.*?)</pre>", page, re.S
    )
    assert read_back is not None
    assert html.unescape(read_back.group(1)).splitlines()[1:] == via_api["text"].splitlines()[1:]
    q2 = html.unescape(_row(page, "q2"))  # the table a student reads: the caret under the answer
    assert "cannot be read:" in q2 and "^" in q2 and "verdict" not in q2
    assert "correct (10/10)" in _row(page, "q1")


def _row(page: str, part: str) -> str:
    """The read-back table's row of ``part``."""
    found = re.search(rf"<tr id='read-{part}'.*?</tr>", page, re.S)
    assert found is not None, page
    return found.group(0)


def _waiting_read_back(pages: httpx.Client, submission: int) -> str:
    """The waiting page's "How your answers were read", once its check has run."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        response = pages.get(f"/submissions/{submission}")
        if response.status_code == 429:  # as a browser reloading: wait when told to
            time.sleep(float(response.headers["retry-after"]))
            continue
        page = response.text
        assert "waiting for the verdict" in page, page  # still queued: grading is paused
        found = re.search(r"<section class='part' id='read-back'>.*?<pre class='answer check'>", page, re.S)
        if found:
            return page
        time.sleep(1)
    raise AssertionError("the waiting page never showed how the answers were read")


def test_the_waiting_page_shows_how_the_answers_were_read_and_no_hidden_verdict(tmp_path: Path) -> None:
    """Issue 49 item 2: while a hand-in waits for its grading, its page shows which answers could
    not be read, with the caret, for every part, visible or not, as the Check does; a hidden
    part's answer is shown as read, with no verdict and never the reference."""
    course = term_course(tmp_path, None, dt.datetime.now(dt.UTC))
    wrong = "answers:\n  q1: 5\n  q2: 3.5\n"
    with Server(course) as server, page_session(server, "alice") as pages:
        home = pages.get("/").text
        with grading_paused(server):
            sent = [
                pages.post("/assignments/later/submit", data={"csrf": csrf(home), "text": text})
                for text in (UNREADABLE, wrong)
            ]
            assert [response.status_code for response in sent] == [303, 303]
            unreadable, hidden_wrong = (int(r.headers["location"].rsplit("/", 1)[1]) for r in sent)
            first = _waiting_read_back(pages, unreadable)
            second = _waiting_read_back(pages, hidden_wrong)
    shown = html.unescape(re.findall(r"<pre class='answer check'>(.*?)</pre>", first, re.S)[0])
    q2 = shown.split("q2  number", 1)[1]
    assert "cannot be read:" in q2 and "^" in q2
    assert "verdict  correct (10/10)" in shown and shown.count("verdict") == 1  # q1 is visible
    q2 = html.unescape(_row(first, "q2"))  # the table a student reads
    assert "cannot be read:" in q2 and "^" in q2
    assert "correct (10/10)" in _row(first, "q1")
    text = html.unescape(second)
    q2 = text.split("q2  number", 1)[1]
    assert "read as  3.5" in q2 and "verdict" not in q2 and "incorrect" not in q2
    assert "7.25" not in text  # the hidden part's reference
    assert "verdict  incorrect (0/10)" in text  # q1 is visible: its verdict
    q2 = _row(second, "q2")  # typeset: its LaTeX for KaTeX, and no verdict
    assert "<span class='math'>3.5</span>" in q2 and "incorrect" not in q2 and "correct" not in q2
    assert "incorrect (0/10)" in _row(second, "q1")


@pytest.mark.skipif(chromium_path() is None, reason="chromium is not installed: apt-get install chromium")
def test_in_chromium_a_student_reads_the_late_cost_and_checks_an_unreadable_hidden_answer(
    tmp_path: Path,
) -> None:
    course = term_course(tmp_path, None, dt.datetime.now(dt.UTC))
    with Server(course) as server, Chromium(width=1200, height=900) as browser:
        page = log_in(browser, server, "alice", "alice-password")
        late = page.evaluate("document.querySelector('#late-term').innerText")
        assert "a hand-in now is late, and it loses 40% of the points possible" in late
        hover = page.evaluate("document.querySelector('#assignment-term time').title")
        assert hover.endswith(" UTC")
        page.evaluate(f"document.querySelector('#text-later').value = {UNREADABLE!r}")
        page.evaluate("window.__old = true")
        page.evaluate(
            "(() => { const form = document.querySelector('#assignment-later form');"
            " form.requestSubmit(form.querySelector('[formaction]')); })()"
        )
        page.wait_for(
            "document.querySelector('#check') && document.querySelector('#check').innerText", timeout=120
        )
        shown = str(page.evaluate("document.querySelector('#check .check-text pre').textContent"))
        assert "q2  number" in shown and "cannot be read:" in shown and "^" in shown
        assert shown.count("verdict") == 1 and not page.errors
        row = str(page.evaluate("document.querySelector('#read-q2').innerText"))
        assert "cannot be read:" in row and "^" in row and "verdict" not in row


def test_the_course_yaml_of_docs_service_md_a_term_step_by_step_loads() -> None:
    docs = (Path(__file__).parent.parent / "docs" / "service.md").read_text()
    term = docs[docs.index("## A term, step by step") :]
    example = term[term.index("```yaml\n") + len("```yaml\n") : term.index("```\n", term.index("```yaml"))]
    hw2 = parse_course_config(example).deadlines["hw2"]
    assert hw2.penalty is not None and hw2.penalty.describe() == (
        "10% of the points a day late (each day begun), down to 50% at least"
    )
    assert hw2.canvas is not None and hw2.canvas.id == 4242


STEP_2_TA_PASSWORD = "a TA's own long password"


def _run_step_2(tmp_path: Path) -> tuple[Course, list[str]]:
    """The walk-through's commands for the class, as written (a password typed when asked)."""
    docs = (Path(__file__).parent.parent / "docs" / "service.md").read_text()
    step = docs[docs.index("**2. The class: the roster and log-in links.**") :]
    block = step[step.index("```bash\n") + len("```bash\n") : step.index("```\n", step.index("```bash"))]
    commands = [line.split("#")[0].split() for line in block.splitlines() if line.startswith("grader ")]
    assert [c[1:3] for c in commands] == [
        ["users", "add"],
        ["users", "import"],
        ["users", "list"],
        ["users", "link"],
        ["serve", "course/"],
    ]
    course = make_course(tmp_path / "course", None, students=())
    (tmp_path / "roster.csv").write_text("name,email\ns1234567,ann@uni.example\ns7654321,ben@uni.example\n")
    here = {"course/": str(course.folder), "roster.csv": str(tmp_path / "roster.csv")}
    here["links.csv"] = str(tmp_path / "links.csv")
    outputs = []
    typed = f"{STEP_2_TA_PASSWORD}\n{STEP_2_TA_PASSWORD}\n"
    for command in commands[:-1]:  # all but serve
        result = CliRunner().invoke(main, [here.get(word, word) for word in command[1:]], input=typed)
        assert result.exit_code == 0, (command, result.output)
        outputs.append(result.output)
    return course, outputs


def test_the_roster_step_of_docs_service_md_a_term_step_by_step_runs(tmp_path: Path) -> None:
    """Issue 49's "Done when": the walk-through's commands for the class (a TA, the roster
    imported with one-time log-in links, the list, a new link) run as written."""
    _, outputs = _run_step_2(tmp_path)
    assert "2 students added" in outputs[1]
    links = list(csv.DictReader((tmp_path / "links.csv").open()))
    assert [row["name"] for row in links] == ["s1234567", "s7654321"]
    assert all(row["link"].startswith("https://grader.example.edu/login/link/") for row in links)
    assert "ta-anna" in outputs[2] and "s7654321" in outputs[2]
    assert re.search(r"ta-anna +ta +password ", outputs[2]), outputs[2]  # the TA can log in
    assert outputs[3].startswith("https://grader.example.edu/login/link/")


def test_the_ta_step_2_adds_logs_in_to_the_ta_pages(tmp_path: Path) -> None:
    """Issue 60 item 12: step 2's TA, added as written, logs in on the served pages and sees /ta."""
    course, _ = _run_step_2(tmp_path)
    with Server(course) as server, httpx.Client(base_url=server.url, follow_redirects=True) as browser:
        answer = form_log_in(browser, "ta-anna", STEP_2_TA_PASSWORD)
        assert answer.status_code == 200, answer.text
        page = browser.get("/ta")
        assert page.status_code == 200 and "ta-anna" in page.text


def test_users_add_takes_a_whole_class_in_one_command(tmp_path: Path) -> None:
    """Issue 60 item 13: many students at once, by name and from a file: one token each, in
    one transaction (a bad name adds nobody)."""
    course = make_course(tmp_path / "course", None, students=())
    names = tmp_path / "names.txt"
    names.write_text("".join(f"s{n:03d}\n" for n in range(1, 31)) + "\n")
    added = CliRunner().invoke(main, ["users", "add", str(course.folder), "ann", "ben", "--from", str(names)])
    assert added.exit_code == 0, added.output
    lines = [line.split("\t") for line in added.output.splitlines()]
    assert [name for name, _ in lines] == ["ann", "ben", *(f"s{n:03d}" for n in range(1, 31))]
    assert len({token for _, token in lines}) == 32 and all(len(token) > 30 for _, token in lines)
    listed = CliRunner().invoke(main, ["users", "list", str(course.folder)]).output
    assert "s030" in listed and "ann" in listed
    refused = CliRunner().invoke(main, ["users", "add", str(course.folder), "cem", "bad name!", "dan"])
    assert refused.exit_code == 2 and "bad name!" in refused.output
    assert "cem" not in CliRunner().invoke(main, ["users", "list", str(course.folder)]).output
    one = CliRunner().invoke(main, ["users", "add", str(course.folder), "eve"])
    assert one.exit_code == 0 and "\t" not in one.output  # one user: the token alone, as before


def test_the_lms_score_is_the_score_after_the_late_penalty() -> None:
    due = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)
    report = Report("term", "alice", [PartResult("q1", Status.CORRECT, 10.0, 10.0, type="number")])
    submission = Submission(id=1, user_id=1, version=2, created_at=due + dt.timedelta(hours=26))
    row = score_row(LtiLineItem(id=1), "lms-alice", submission, report, due, Penalty(per_day=10))
    assert (row.score_given, row.score_maximum) == (8.0, 10.0)  # two days begun: 2 x 10% of 10
