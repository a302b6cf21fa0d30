"""Accounts (issue 49 item 5, issue 45 item 12): `grader users list | remove | reset-password |
new-token | link | import`, user names checked, and one-time log-in links (stored hashed,
expiring, one use, audited) instead of bearer tokens in URLs; over real HTTP on SQLite and
PostgreSQL, the TA's page of students in Chromium."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import stat
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from chromium import Chromium, chromium_path
from click.testing import CliRunner, Result
from service_fixtures import db_url  # noqa: F401  # the sqlite/postgresql fixture
from service_server import SEEDS, Course, Server, make_course, seed_file
from service_server import log_in as form_log_in
from sqlalchemy import select, update
from test_service_browser import log_in, submit_form

from grader.cli import main
from grader.service.credentials import digest
from grader.service.models import ApiToken, AuditEntry, LoginLink, Submission, User
from grader.service.service import Service
from grader.service.settings import Settings

ASSIGNMENT = "a1-activations-conv"  # the id of problems/activations-softmax-conv.yaml

MOODLE = (
    "First name,Last name,ID number,Institution,Department,Email address\n"
    "Ada,Lovelace,s1000001,Uni,CS,ada@uni.example\n"
    "Alan,Turing,,Uni,CS,alan@uni.example\n"  # Moodle leaves ID number empty for some
)
CANVAS = (
    "Student,ID,SIS User ID,SIS Login ID,Section,HW2 (4242)\n"
    "    Points Possible,,,,,10\n"
    '"Hopper, Grace",101,g-hopper,ghopper,S1,\n'
    '"Alice, Existing",102,alice,alice,S1,\n'
)
PLAIN = "name,email\ns2000002,kurt@uni.example\n"


def users(course: Course, *args: str, given: str | None = None) -> Result:
    command = ["users", args[0], str(course.folder), *args[1:]]
    if course.db_url:
        command += ["--db", course.db_url]
    return CliRunner().invoke(main, command, input=given)


def database(course: Course) -> Service:
    return Service(Settings(course_dir=course.folder, db_url=course.db_url), start_workers=False)


def link_log_in(server: Server, link: str) -> httpx.Response:
    """What a browser does with a link: GET shows the button (and uses nothing up), POST logs in."""
    with httpx.Client(timeout=30) as browser:
        shown = browser.get(link)
        assert shown.status_code == 200 and "logs you in once" in shown.text
        token = re.search(r"name='csrf' value='([^']+)'", shown.text)
        assert token is not None, shown.text
        return browser.post(link, data={"csrf": token.group(1)})


def fresh_log_in(server: Server, user: str, password: str, **fields: str) -> httpx.Response:
    """The log-in form filled in by a browser that has no session yet."""
    with httpx.Client(base_url=server.url, timeout=30) as browser:
        return form_log_in(browser, user, password, **fields)


@pytest.fixture
def course(tmp_path: Path, db_url: str | None) -> Course:  # noqa: F811
    return make_course(tmp_path / "course", db_url, students=("alice", "bob"))


def test_users_list_new_token_remove_and_names(course: Course) -> None:
    listed = users(course, "list", "--format", "json")
    assert listed.exit_code == 0, listed.output
    assert [(u["name"], u["role"]) for u in json.loads(listed.output)] == [
        ("alice", "student"),
        ("bob", "student"),
        ("ta", "ta"),
    ]
    refused = users(course, "add", "bad name!")
    assert refused.exit_code == 2 and "'bad name!' cannot be a user name" in refused.output
    for bad in ("../x", ".hidden", "a/b", "x" * 201, ""):
        assert users(course, "add", bad).exit_code == 2, bad

    with Server(course) as server:
        bob_token = course.tokens["bob"]
        with server.client(token=bob_token) as bob:
            sent = bob.post(
                f"/api/v1/assignments/{ASSIGNMENT}/submissions",
                files={"file": ("answers.yaml", seed_file("activations-softmax-conv", "seed-001"))},
            )
            assert sent.status_code in (200, 201, 202), sent.text
        new = users(course, "new-token", "alice")
        assert new.exit_code == 0
        token = new.output.strip()
        with server.client(token=course.tokens["alice"]) as old:
            assert old.get("/api/v1/me/submissions").status_code == 401  # the old token stops working
        with server.client(token=token) as fresh:
            assert fresh.get("/api/v1/me/submissions").status_code == 200

        removed = users(course, "remove", "bob")
        assert removed.exit_code == 0 and "kept" in removed.output
        with server.client(token=bob_token) as bob:
            assert bob.get("/api/v1/me/submissions").status_code == 401
        assert fresh_log_in(server, "bob", "bob-password").status_code == 401
        with server.client("ta") as ta:  # bob's hand-in is kept, and the TA still sees it
            assert any(
                s["student"] == "bob"
                for s in ta.get(f"/api/v1/assignments/{ASSIGNMENT}/submissions").json()["submissions"]
            )
    assert [u["name"] for u in json.loads(users(course, "list", "--format", "json").output)] == [
        "alice",
        "ta",
    ]
    assert "removed" in users(course, "list", "--removed").output
    assert users(course, "remove", "bob").exit_code == 2  # already removed
    back = users(course, "add", "bob")  # brought back: the same account, a new token
    assert back.exit_code == 0
    service = database(course)
    with service.db.session() as db:
        bob = db.scalar(select(User).where(User.name == "bob"))
        assert bob is not None and bob.removed_at is None
        assert db.scalar(select(Submission).where(Submission.user_id == bob.id)) is not None
        actions = [a.action for a in db.scalars(select(AuditEntry))]
    service.db.dispose()
    assert {"new_token", "remove_user", "add_user"} <= set(actions)


def test_reset_password_ends_sessions(course: Course) -> None:
    with Server(course) as server:
        with httpx.Client(base_url=server.url, timeout=30) as browser:
            logged = form_log_in(browser, "alice", "alice-password")
            assert logged.status_code == 303 and browser.get("/").status_code == 200
            reset = users(course, "reset-password", "alice", given="new secret pw\nnew secret pw\n")
            assert reset.exit_code == 0, reset.output
            assert browser.get("/", follow_redirects=False).status_code == 303  # the session ended
        assert fresh_log_in(server, "alice", "alice-password").status_code == 401
        again = fresh_log_in(server, "alice", "new secret pw")
        assert again.status_code == 303


def test_one_time_link_logs_in_once_and_is_stored_hashed(course: Course) -> None:
    with Server(course) as server:
        made = users(course, "link", "alice", "--url", server.url)
        assert made.exit_code == 0, made.output
        link = made.output.strip()
        secret = link.rsplit("/", 1)[1]
        assert link == f"{server.url}/login/link/{secret}"
        assert course.tokens["alice"] not in link  # the bearer token is never in a URL
        first = link_log_in(server, link)
        assert first.status_code == 303 and first.headers["location"] == "/"
        assert "grader_session" in first.cookies
        again = link_log_in(server, link)
        assert again.status_code == 401 and "used up, expired or mistyped" in again.text
        assert "grader_session" not in again.cookies
        assert link_log_in(server, f"{server.url}/login/link/{'x' * 43}").status_code == 401

        expiring = users(course, "link", "bob", "--url", server.url).output.strip()
        service = database(course)
        with service.db.session() as db:
            stored = db.scalars(select(LoginLink.secret_hash)).all()
            assert digest(secret) in stored and secret not in stored  # only the hash is kept
            db.execute(update(LoginLink).values(expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)))
        assert link_log_in(server, expiring).status_code == 401  # expired
        with service.db.session() as db:
            logins = [a.detail for a in db.scalars(select(AuditEntry).where(AuditEntry.action == "login"))]
            made_links = db.scalars(select(AuditEntry).where(AuditEntry.action == "login_link")).all()
        service.db.dispose()
        assert logins.count({"method": "link"}) == 1 and len(made_links) == 2
        # the password form no longer takes a bearer token, and /login?token= fills in nothing
        assert (
            course.tokens["alice"] not in httpx.get(f"{server.url}/login?token={course.tokens['alice']}").text
        )
        assert fresh_log_in(server, "", "", token=course.tokens["alice"]).status_code == 401


def test_removed_user_link_and_token_are_void(course: Course) -> None:
    link = users(course, "link", "bob").output.strip()
    assert link.startswith("/login/link/")  # without --url, the path
    assert users(course, "remove", "bob").exit_code == 0
    with Server(course) as server:
        assert link_log_in(server, server.url + link).status_code == 401


@pytest.mark.parametrize(
    ("roster", "added"),
    [
        (MOODLE, {"s1000001": "ada@uni.example", "alan@uni.example": "alan@uni.example"}),
        (CANVAS, {"ghopper": "ghopper"}),  # alice is already there; the points row is no student
        (PLAIN, {"s2000002": "kurt@uni.example"}),
    ],
    ids=["moodle", "canvas", "name-email"],
)
def test_import_roster_adds_missing_students_with_links(
    course: Course, tmp_path: Path, roster: str, added: dict[str, str]
) -> None:
    (tmp_path / "roster.csv").write_text(roster, encoding="utf-8")
    links = tmp_path / "links.csv"
    with Server(course) as server:
        result = users(
            course, "import", str(tmp_path / "roster.csv"), "--links", str(links), "--url", server.url
        )
        assert result.exit_code == 0, result.output
        assert stat.S_IMODE(links.stat().st_mode) == 0o600
        rows = list(csv.DictReader(io.StringIO(links.read_text())))
        assert {r["name"]: r["email"] for r in rows} == added
        for row in rows:
            assert link_log_in(server, row["link"]).status_code == 303
        again = users(
            course, "import", str(tmp_path / "roster.csv"), "--links", str(links), "--url", server.url
        )
        assert (
            again.exit_code == 0
            and f"0 students added, {len(added) + (roster == CANVAS)} already there" in again.output
        )
    names = {u["name"] for u in json.loads(users(course, "list", "--format", "json").output)}
    assert set(added) <= names


KILLED_AFTER_COMMIT = """
import json, os, sys
from grader.cli import main
from grader import cli_service as commands

MINTED = sys.argv[1]

def killed(course_dir, db_url, added, url, links_file):  # the moment after the accounts' commit
    with open(MINTED, "w") as seen:
        json.dump([d.secret for d in added], seen)
    os._exit(137)

commands._hand_out = killed
sys.argv = ["grader", *sys.argv[2:]]
main()
"""


def test_an_import_killed_after_its_commit_loses_no_link(course: Course, tmp_path: Path) -> None:
    """Issue 57 fault 3: `grader users import` killed right after the accounts' commit, before
    its links file is written: a second import adds nobody (they are there), and
    `grader users links COURSE --unsent` hands out a new link for each of them (the minted ones
    void), once; every link logs its student in."""
    (tmp_path / "roster.csv").write_text(PLAIN + "s2000003,emmy@uni.example\n", encoding="utf-8")
    links, minted = tmp_path / "links.csv", tmp_path / "minted.json"
    command = ["users", "import", str(course.folder), str(tmp_path / "roster.csv"), "--links", str(links)]
    command += ["--db", course.db_url] if course.db_url else []
    killed = subprocess.run([sys.executable, "-c", KILLED_AFTER_COMMIT, str(minted), *command], check=False)
    assert killed.returncode == 137 and not links.exists()
    again = users(course, "import", str(tmp_path / "roster.csv"), "--links", str(links))
    assert again.exit_code == 0 and "0 students added, 2 already there" in again.output
    with Server(course) as server:
        reissued = users(course, "links", "--unsent", "--links", str(links), "--url", server.url)
        assert reissued.exit_code == 0, reissued.output
        assert stat.S_IMODE(links.stat().st_mode) == 0o600
        rows = list(csv.DictReader(io.StringIO(links.read_text())))
        assert {r["name"]: r["email"] for r in rows} == {
            "s2000002": "kurt@uni.example",
            "s2000003": "emmy@uni.example",
        }
        for secret in json.loads(minted.read_text()):  # never handed out: void
            assert link_log_in(server, f"{server.url}/login/link/{secret}").status_code == 401
        for row in rows:
            assert link_log_in(server, row["link"]).status_code == 303
        once_more = users(course, "links", "--unsent")
        assert once_more.exit_code == 0 and once_more.stdout.strip() == "name,email,link"


def test_import_refuses_bad_names_and_adds_nobody(course: Course, tmp_path: Path) -> None:
    (tmp_path / "roster.csv").write_text("name,email\ngood1,a@x.example\nbad name!,b@x.example\n")
    result = users(course, "import", str(tmp_path / "roster.csv"), "--links", str(tmp_path / "links.csv"))
    assert result.exit_code == 2
    assert (
        "line 3: 'bad name!' cannot be a user name" in result.output and "nobody was added" in result.output
    )
    assert not (tmp_path / "links.csv").exists()
    assert "good1" not in users(course, "list").output


@pytest.mark.skipif(chromium_path() is None, reason="chromium is not installed: apt-get install chromium")
def test_ta_page_gives_a_student_a_link_a_token_and_removes_them(tmp_path: Path) -> None:
    course = make_course(tmp_path / "course", None, students=("alice", "bob"))
    with Server(course) as server, Chromium() as browser:
        page = log_in(browser, server, "ta", course.passwords["ta"])
        page.wait_for("document.querySelector(\"a[href='/ta/students']\") !== null", timeout=120)
        page = browser.open(f"{server.url}/ta/students/nobody")  # an error page keeps the navigation bar
        assert page.evaluate("document.querySelector('h1').textContent") == "Not found"  # titled in words
        assert page.evaluate("document.querySelector(\"nav.top a[href='/ta']\") !== null")
        assert page.evaluate("document.querySelector(\"nav.top form[action='/logout']\") !== null")
        page = browser.open(f"{server.url}/ta/students")
        assert page.evaluate("document.querySelector('#students').innerText").count("alice") == 1
        submit_form(page, "form[action='/ta/students/alice/link']")
        link = page.evaluate("document.querySelector('#secret').innerText").strip()
        assert link.startswith(f"{server.url}/login/link/")
        assert link_log_in(server, link).status_code == 303
        page = browser.open(f"{server.url}/ta/students")
        submit_form(page, "form[action='/ta/students/alice/token']")
        token = page.evaluate("document.querySelector('#secret').innerText").strip()
        with server.client(token=token) as alice:
            assert alice.get("/api/v1/me/submissions").status_code == 200
        with server.client("alice") as old:
            assert old.get("/api/v1/me/submissions").status_code == 401
        page = browser.open(f"{server.url}/ta/students")
        submit_form(page, "form[action='/ta/students/bob/remove']")
        assert "hand-ins are kept" in page.evaluate("document.querySelector('#done').innerText")
        with server.client("bob") as bob:
            assert bob.get("/api/v1/me/submissions").status_code == 401
        # without the session's CSRF token, nothing changes
        with httpx.Client(base_url=server.url, timeout=30) as other:
            form_log_in(other, "ta", course.passwords["ta"])
            refused = other.post("/ta/students/alice/remove", data={"csrf": "forged"})
            assert refused.status_code == 403
        with server.client(token=token) as alice:
            assert alice.get("/api/v1/me/submissions").status_code == 200
    service = database(course)
    with service.db.session() as db:
        actions = [(a.action, a.user_id is not None) for a in db.scalars(select(AuditEntry))]
    service.db.dispose()
    assert {("login_link", True), ("new_token", True), ("remove_user", True)} <= set(actions)
    assert SEEDS.exists() and ApiToken  # the module's imports are the suite's own
