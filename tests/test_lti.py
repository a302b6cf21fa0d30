"""LTI 1.3 over real HTTP: a test LMS (tests/lti_platform.py) launches students and TAs
into a real ``grader serve``; forged, expired, replayed, wrong-audience, wrong-nonce and
unknown-deployment tokens are refused. LTI Advantage end to end: a TA deep-links an
assignment, students' scores reach its gradebook column (pending while a text part waits
for a TA, in full once graded by hand), survive an LMS that is down and a server restart,
and the LMS roster names the students in the Canvas export."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import time
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlencode, urlparse

import httpx
import pytest
from click.testing import CliRunner
from fastapi import FastAPI
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet, RSAKey
from sqlalchemy import func, inspect, select, update

from grader.cli import main
from grader.core.files import write_atomic
from grader.core.report import PartResult, Report
from grader.core.verdict import Status
from grader.course.lti import LtiConfig, LtiConfigError, load
from grader.service.blobs import dumps
from grader.service.course import CourseState
from grader.service.crud.accounts import add_user
from grader.service.crud.extensions import grant_extension
from grader.service.db import Database, migrate
from grader.service.lti import scores
from grader.service.lti.keys import (
    ASSERTION_TYPE,
    KEY_FILE,
    PRIVATE_MEMBERS,
    SCOPE_LINEITEM,
    SCOPE_ROSTER,
    SCOPE_SCORE,
    AccessTokens,
    TokenError,
    ToolKeys,
    client_assertion,
)
from grader.service.lti.launch import role_of
from grader.service.lti.passback import Passback
from grader.service.lti.routes import install
from grader.service.models import (
    Assignment,
    LtiLineItem,
    LtiLink,
    LtiLoginState,
    LtiMember,
    LtiScore,
    LtiUser,
    Submission,
    VerdictRow,
    utcnow,
)
from grader.service.server import free_port
from grader.service.settings import Settings
from tests.chromium import BrowserError, Chromium, Page, chromium_path
from tests.lti_platform import (
    CLIENT_ID,
    DEEP_LINK_DATA,
    DL_CLAIM,
    INSTRUCTOR,
    LEARNER,
    TEACHING_ASSISTANT,
    AutoPostForm,
    LmsUser,
    PageForms,
    Platform,
)
from tests.service_server import Server, log_in, make_course, wait_graded

ASSIGNMENT = "a1-activations-conv"
QUIZ = "lti-quiz"  # 3 points decided automatically, 2 for a TA to grade
QUIZ_FILE = """\
assignment: lti-quiz
title: A short quiz on ReLU
questions:
  - id: q1
    title: ReLU and the step function
    parts:
      - id: formula
        type: expression
        points: 3
        prompt: Write g(x) = max{0, x} using H(x).
        symbols: {x: real}
        functions: {H: "heaviside(x, 1/2)"}
        answer: x*H(x)
      - id: proof
        type: text
        points: 2
        prompt: Why has g no derivative at 0?
        answer: Its one-sided derivatives at 0 are 0 and 1.
"""
MOVES = "lti-moves"  # one part, decided automatically: its problem file is edited, its due moved
MOVES_FILE = QUIZ_FILE.replace("lti-quiz", MOVES).split("      - id: proof")[0]
RIGHT = "answers:\n  q1.formula: x*H(x)\n  q1.proof: The slopes on either side of 0 differ.\n"
WRONG = "answers:\n  q1.formula: x*H(-x)\n  q1.proof: It has a kink.\n"
T = TypeVar("T")
WORKERS = Settings.model_fields["workers"].default  # the service's default: a grading process


@dataclass
class Lms:
    platform: Platform
    server: Server


@pytest.fixture(scope="module")
def lms(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lms]:
    platform = Platform()
    platform.add_user("carol", [LEARNER])
    platform.add_user("dave", [TEACHING_ASSISTANT])
    platform.add_user("erin", [INSTRUCTOR, LEARNER])
    platform.start()
    course = make_course(tmp_path_factory.mktemp("lti") / "course", None)
    port = free_port()
    (course.folder / "lti.yaml").write_text(platform.lti_yaml(f"http://127.0.0.1:{port}"))
    (course.folder / "problems" / "lti-quiz.yaml").write_text(QUIZ_FILE)
    (course.folder / "problems" / f"{MOVES}.yaml").write_text(MOVES_FILE)
    lms = Lms(platform, Server(course, WORKERS, port=port))
    try:
        platform.tool_jwks_url = f"{lms.server.url}/lti/jwks.json"
        yield lms
    finally:
        lms.server.stop()  # the one running now: a test may have restarted it
        platform.stop()


@pytest.fixture(autouse=True)
def clean_platform(lms: Lms) -> Iterator[None]:
    yield
    lms.platform.tamper.clear()
    lms.platform.custom.clear()
    lms.platform.target_link_uri = "http://tool/lti/launch"
    lms.platform.allowed_scopes.clear()
    lms.platform.down = False
    lms.platform.deep_linking = False
    lms.platform.link, lms.platform.course, lms.platform.announce_lineitem = "link-1", 1, True


def authorize(lms: Lms, hint: str, browser: httpx.Client) -> AutoPostForm:
    """What the browser does before the launch: the LMS sends it to the tool's login
    initiation, which sends it to the LMS's authorization endpoint, which answers with
    the form that posts the id_token to the tool."""
    start = browser.get(
        "/lti/login",
        params={
            "iss": lms.platform.issuer,
            "login_hint": hint,
            "target_link_uri": f"{lms.server.url}/lti/launch",
            "client_id": CLIENT_ID,
            "lti_message_hint": "link-1",
        },
    )
    assert start.status_code == 302, start.text
    location = start.headers["location"]
    assert location.startswith(f"{lms.platform.url}/auth?")
    query = {k: v[0] for k, v in parse_qs(urlparse(location).query).items()}
    assert query["redirect_uri"] == f"{lms.server.url}/lti/launch"
    assert query["lti_message_hint"] == "link-1" and query["login_hint"] == hint
    page = httpx.get(location)
    assert page.status_code == 200, page.text
    form = AutoPostForm(page.text)
    assert form.action == f"{lms.server.url}/lti/launch"
    return form


def launch(lms: Lms, hint: str, browser: httpx.Client) -> httpx.Response:
    form = authorize(lms, hint, browser)
    return browser.post("/lti/launch", data=form.fields)


def browser(lms: Lms) -> httpx.Client:
    return httpx.Client(base_url=lms.server.url, timeout=30, headers={"accept": "text/html"})


def test_a_student_launches_into_their_assignment(lms: Lms) -> None:
    lms.platform.custom["assignment"] = ASSIGNMENT
    with browser(lms) as client:
        response = launch(lms, "carol", client)
        assert response.status_code == 303, response.text
        assert response.headers["location"] == f"/#assignment-{ASSIGNMENT}"
        home = client.get("/")
        assert home.status_code == 200
        assert f"id='assignment-{ASSIGNMENT}'" in home.text and "carol" in home.text
        assert client.get("/ta").status_code == 403  # a Learner is a student here
    with browser(lms) as again:  # the second launch finds the same user, no new one
        assert launch(lms, "carol", again).status_code == 303
        assert "carol-2" not in again.get("/").text


def test_a_tab_of_an_earlier_launch_keeps_posting_its_forms(lms: Lms) -> None:
    """A second launch (another link, another tab) gives the browser a new cookie: the form
    the first launch's tab shows still posts."""
    lms.platform.custom["assignment"] = QUIZ
    with browser(lms) as client:
        assert launch(lms, "carol", client).status_code == 303
        first_tab = client.get("/")
        action, fields = next(
            f for f in PageForms(first_tab.text).forms if f[0] == f"/assignments/{QUIZ}/submit"
        )
        assert launch(lms, "carol", client).status_code == 303  # the new launch, in another tab
        posted = client.post(action, data={**fields, "text": RIGHT})
    assert posted.status_code == 303, posted.text


def test_a_ta_and_an_instructor_launch_into_the_dashboard(lms: Lms) -> None:
    lms.platform.custom["assignment"] = ASSIGNMENT
    for hint in ("dave", "erin"):
        with browser(lms) as client:
            response = launch(lms, hint, client)
            assert response.status_code == 303, response.text
            assert response.headers["location"] == f"/ta/assignments/{ASSIGNMENT}"
            dashboard = client.get(response.headers["location"])
            assert dashboard.status_code == 200 and hint in dashboard.text


def test_the_assignment_can_come_from_the_target_link_uri(lms: Lms) -> None:
    lms.platform.target_link_uri = f"{lms.server.url}/lti/launch?assignment={ASSIGNMENT}"
    with browser(lms) as client:
        assert launch(lms, "dave", client).headers["location"] == f"/ta/assignments/{ASSIGNMENT}"


def test_a_link_without_a_known_assignment_opens_the_home_page(lms: Lms) -> None:
    lms.platform.custom["assignment"] = "no-such-problem-set"
    with browser(lms) as client:
        assert launch(lms, "carol", client).headers["location"] == "/"


@pytest.mark.parametrize(
    ("tamper", "why"),
    [
        ("forged", "signature does not verify"),
        ("expired", "expired"),
        ("audience", "another tool"),
        ("nonce", "nonce"),
        ("deployment", "deployment"),
    ],
)
def test_a_bad_id_token_is_refused(lms: Lms, tamper: str, why: str) -> None:
    lms.platform.tamper.add(tamper)
    with browser(lms) as client:
        response = launch(lms, "carol", client)
        assert response.status_code == 403
        assert why in response.text
        assert "grader_session" not in response.cookies
        assert client.get("/", follow_redirects=False).headers["location"] == "/login"


def test_a_replayed_launch_is_refused(lms: Lms) -> None:
    with browser(lms) as client:
        form = authorize(lms, "carol", client)
        assert client.post("/lti/launch", data=form.fields).status_code == 303
    with browser(lms) as attacker:  # the same form posted again, from anywhere
        replay = attacker.post("/lti/launch", data=form.fields)
        assert replay.status_code == 403 and "already used" in replay.text
        assert "grader_session" not in replay.cookies


def test_a_refused_launch_uses_up_its_state(lms: Lms) -> None:
    lms.platform.tamper.add("expired")
    with browser(lms) as client:
        form = authorize(lms, "carol", client)
        assert client.post("/lti/launch", data=form.fields).status_code == 403
        assert "already used" in client.post("/lti/launch", data=form.fields).text


def test_a_launch_not_started_here_is_refused(lms: Lms) -> None:
    with browser(lms) as client:
        form = authorize(lms, "carol", client)
        response = client.post("/lti/launch", data={**form.fields, "state": "made-up"})
        assert response.status_code == 403 and "unknown state" in response.text


def test_an_unregistered_issuer_cannot_start_a_login(lms: Lms) -> None:
    with browser(lms) as client:
        response = client.get("/lti/login", params={"iss": "https://evil.example", "login_hint": "x"})
        assert response.status_code == 400 and "no LTI platform" in response.text


def test_the_tools_jwks_is_public_only_and_stable(lms: Lms) -> None:
    first = httpx.get(f"{lms.server.url}/lti/jwks.json").json()
    (key,) = first["keys"]
    assert key["kty"] == "RSA" and key["alg"] == "RS256" and key["kid"]
    assert not {"d", "p", "q", "dp", "dq", "qi"} & set(key)  # no private part, ever
    assert httpx.get(f"{lms.server.url}/lti/jwks.json").json() == first
    stored = lms.server.course.folder / ".grader-service" / "lti-tool-key.json"
    assert stored.stat().st_mode & 0o077 == 0  # the private key is the service's alone


LIS = "http://purl.imsglobal.org/vocab/lis/v2/"


@pytest.mark.parametrize(
    ("roles", "role"),
    [
        ([LEARNER], "student"),
        ([TEACHING_ASSISTANT], "ta"),
        ([INSTRUCTOR, LEARNER], "ta"),
        ([f"{LIS}membership#ContentDeveloper"], "ta"),
        ([f"{LIS}membership/Instructor#Grader"], "ta"),
        (["Instructor"], "ta"),  # the bare name of LTI 1.1
        ([f"{LIS}membership#Mentor"], "student"),  # Canvas's observers
        ([f"{LIS}institution/person#Instructor", LEARNER], "student"),  # teaches another course
        ([f"{LIS}membership/Learner#Instructor"], "student"),  # a sub-role of Learner
        (["https://lms.example/roles/custom/Instructor"], "student"),
        ([f"{LIS}membership#Administrator"], "student"),
        ([f"{LIS}institution/person#Administrator", f"{LIS}system/person#Administrator"], "student"),
        ([], "student"),
    ],
)
def test_only_the_courses_staff_are_tas(roles: list[str], role: str) -> None:
    assert role_of({"https://purl.imsglobal.org/spec/lti/claim/roles": roles}) == role


def test_institution_roles_count_by_an_explicit_setting(lms: Lms) -> None:
    (platform,) = load(lms.server.course.folder).platforms
    claims = {"https://purl.imsglobal.org/spec/lti/claim/roles": [f"{LIS}institution/person#Administrator"]}
    assert role_of(claims, platform) == "student"
    trusted = platform.model_copy(update={"institution_ta_roles": ("Administrator",)})
    assert role_of(claims, trusted) == "ta"


def test_a_mentor_lands_on_the_students_page(lms: Lms) -> None:
    lms.platform.custom["assignment"] = ASSIGNMENT
    lms.platform.add_user("oscar", [f"{LIS}membership#Mentor"])
    with browser(lms) as client:
        assert launch(lms, "oscar", client).headers["location"] == f"/#assignment-{ASSIGNMENT}"
        assert client.get("/ta").status_code == 403


def test_a_bad_lti_yaml_says_where(tmp_path: Path) -> None:
    (tmp_path / "lti.yaml").write_text("platforms:\n  - issuer: x\n    client_id: y\n")
    with pytest.raises(LtiConfigError, match=r"lti\.yaml"):
        load(tmp_path)
    assert load(tmp_path / "nowhere").platforms == ()


def test_the_redirect_uri_is_the_configured_url_whatever_the_host_header(lms: Lms) -> None:
    """The OIDC redirect_uri comes from lti.yaml's tool_url: a request that names another
    host cannot make the LMS send its id_token there."""
    with browser(lms) as client:
        start = client.get(
            "/lti/login",
            params={"iss": lms.platform.issuer, "login_hint": "carol", "client_id": CLIENT_ID},
            headers={"host": "evil.example"},
        )
    assert start.status_code == 302, start.text
    query = parse_qs(urlparse(start.headers["location"]).query)
    assert query["redirect_uri"] == [f"{lms.server.url}/lti/launch"]


def test_tool_url_is_required_with_platforms(lms: Lms, tmp_path: Path) -> None:
    text = (lms.server.course.folder / "lti.yaml").read_text()
    (tmp_path / "lti.yaml").write_text(text.split("\n", 1)[1])  # without its tool_url line
    with pytest.raises(LtiConfigError, match="tool_url is required"):
        load(tmp_path)


def test_the_tool_gets_an_access_token_with_its_own_key(lms: Lms) -> None:
    """The client-credentials grant AGS and NRPS use: the platform checks the tool's signed
    assertion against the JWKS the running server publishes, and the scopes it may have."""
    (platform,) = load(lms.server.course.folder).platforms
    tokens = AccessTokens(ToolKeys(lms.server.course.folder / ".grader-service").current())
    lms.platform.allowed_scopes.update({SCOPE_SCORE, SCOPE_LINEITEM})
    first = tokens.token(platform, (SCOPE_SCORE, SCOPE_LINEITEM))
    assert lms.platform.tokens[first] == {SCOPE_SCORE, SCOPE_LINEITEM}
    assert tokens.token(platform, (SCOPE_LINEITEM, SCOPE_SCORE)) == first  # cached, not asked again
    with pytest.raises(TokenError, match="invalid_scope"):
        tokens.token(platform, (SCOPE_ROSTER,))  # not granted to this registration
    lms.platform.down = True
    with pytest.raises(TokenError, match="503"):
        tokens.token(platform, (SCOPE_SCORE,))


def test_a_client_assertion_signed_by_another_key_gets_no_token(lms: Lms) -> None:
    (platform,) = load(lms.server.course.folder).platforms
    lms.platform.allowed_scopes.add(SCOPE_SCORE)
    stranger = AccessTokens(RSAKey.generate_key(2048, auto_kid=True))
    with pytest.raises(TokenError, match="invalid_client"):
        stranger.token(platform, (SCOPE_SCORE,))


def test_a_launch_keeps_its_link_and_the_advantage_endpoints(lms: Lms) -> None:
    lms.platform.custom["assignment"] = ASSIGNMENT
    lms.platform.allowed_scopes.update({SCOPE_SCORE, SCOPE_LINEITEM})
    with browser(lms) as client:
        assert launch(lms, "dave", client).status_code == 303
    database = Database(Settings(course_dir=lms.server.course.folder).database_url)
    try:
        with database.session() as db:
            (link,) = db.scalars(select(LtiLink)).all()
    finally:
        database.dispose()
    assert (link.issuer, link.client_id, link.resource_link_id) == (lms.platform.issuer, CLIENT_ID, "link-1")
    assert link.assignment == ASSIGNMENT and link.context_id == "course-1"
    assert link.lineitem_url == f"{lms.platform.url}/courses/1/lineitems/1"
    assert link.lineitems_url == f"{lms.platform.url}/courses/1/lineitems"
    assert set(link.ags_scopes) == {SCOPE_SCORE, SCOPE_LINEITEM}
    assert link.memberships_url == f"{lms.platform.url}/courses/1/memberships"


def test_the_lti_tables_are_made_on_sqlite_and_postgresql(tmp_path: Path, db_url: str | None) -> None:
    url = db_url or f"sqlite:///{tmp_path / 'grader.sqlite3'}"
    migrate(url)
    database = Database(url)
    try:
        tables = set(inspect(database.engine).get_table_names())
    finally:
        database.dispose()
    assert {
        "lti_login_states",
        "lti_users",
        "lti_links",
        "lti_line_items",
        "lti_members",
        "lti_scores",
    } <= tables


# ---- LTI Advantage: deep linking, grade passback, the roster ---------------------------------


def eventually(check: Callable[[], T | None], what: str, timeout: float = 90) -> T:
    """Poll ``check`` until it gives something, backing off; fail naming ``what``."""
    deadline, pause = time.monotonic() + timeout, 0.05
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(pause)
        pause = min(pause * 1.5, 0.5)
    raise AssertionError(f"{what}: not seen in {timeout} s")


def deep_link(lms: Lms, hint: str, assignment: str) -> str:
    """A TA adds the tool in the LMS and picks ``assignment``; the id of the link made."""
    before = set(lms.platform.links)
    lms.platform.deep_linking = True
    try:
        with browser(lms) as client:
            picker = launch(lms, hint, client)
            assert picker.status_code == 200, picker.text
            action, fields = PageForms(picker.text).with_field("assignment", assignment)
            back = client.post(action, data=fields)
            assert back.status_code == 200, back.text
    finally:
        lms.platform.deep_linking = False
    ((action, fields),) = PageForms(back.text).forms
    assert action == f"{lms.platform.url}/deep_link_return"
    answer = httpx.post(action, data=fields)  # what the browser's form post does
    assert answer.status_code == 200, answer.text
    (made,) = set(lms.platform.links) - before
    return made


def hand_in(client: httpx.Client, assignment: str, answers: str) -> int:
    """A student pastes answers in the hand-in form of their home page; the submission id."""
    home = client.get("/")
    action, fields = next(
        f for f in PageForms(home.text).forms if f[0] == f"/assignments/{assignment}/submit"
    )
    response = client.post(action, data={**fields, "text": answers})
    assert response.status_code == 303, response.text
    submission_id = int(response.headers["location"].rsplit("/", 1)[1])
    wait_graded(client, submission_id)
    return submission_id


def student(lms: Lms, hint: str, sourcedid: str | None = None) -> tuple[LmsUser, httpx.Client]:
    """A new LMS student who opens the platform's current link: their browser, signed in."""
    user = lms.platform.add_user(hint, [LEARNER], sourcedid)
    client = browser(lms)
    response = launch(lms, hint, client)
    assert response.status_code == 303, response.text
    return user, client


def test_a_ta_deep_links_an_assignment_and_the_lms_makes_its_column(lms: Lms) -> None:
    lms.platform.deep_linking = True
    with browser(lms) as client:
        picker = launch(lms, "dave", client)
    assert picker.status_code == 200, picker.text
    assert "A short quiz on ReLU" in picker.text and "Activation functions" in picker.text
    policy = picker.headers["content-security-policy"]
    assert f"frame-ancestors {lms.platform.url}" in policy  # the LMS may show it in its frame
    # scripts only from grader itself (KaTeX), none inline
    assert "unsafe-inline" not in policy and "script-src 'self';" in policy + ";"
    lms.platform.deep_linking = False

    link = lms.platform.links[deep_link(lms, "dave", QUIZ)]
    assert link.custom == {"assignment": QUIZ} and link.title == "A short quiz on ReLU"
    column = lms.platform.line_items[str(link.lineitem)]
    assert column["resourceId"] == QUIZ and column["label"] == "A short quiz on ReLU"
    assert column["scoreMaximum"] == 5  # the problem set's points
    response = lms.platform.deep_link_responses[-1]
    assert response[DL_CLAIM + "data"] == DEEP_LINK_DATA  # echoed, as the platform sent it
    (item,) = response[DL_CLAIM + "content_items"]
    assert item["url"] == f"{lms.server.url}/lti/launch"


def test_the_auto_submitting_form_keeps_the_csp(lms: Lms) -> None:
    lms.platform.deep_linking = True
    with browser(lms) as client:
        picker = launch(lms, "erin", client)
        action, fields = PageForms(picker.text).with_field("assignment", QUIZ)
        back = client.post(action, data=fields)
    policy = back.headers["content-security-policy"]
    assert f"form-action 'self' {lms.platform.url}" in policy  # only to the LMS's own return URL
    assert "script-src 'self' 'sha256-" in policy and "unsafe-inline" not in policy
    assert "<button type='submit'>" in back.text  # works without scripts too
    forged = httpx.post(f"{lms.server.url}/lti/deep-link", data={**fields, "state": fields["state"][:-4]})
    assert forged.status_code == 403 and "stale or was not made here" in forged.text


def test_a_pick_is_used_once(lms: Lms) -> None:
    lms.platform.deep_linking = True
    with browser(lms) as client:
        picker = launch(lms, "dave", client)
        action, fields = PageForms(picker.text).with_field("assignment", QUIZ)
        assert client.post(action, data=fields).status_code == 200
        again = client.post(action, data=fields)  # the same pick, posted again in its 30 minutes
    assert again.status_code == 403 and "already used" in again.text


def test_login_states_do_not_pile_up(lms: Lms) -> None:
    """Anyone may start a login: the states older than any launch or pick could use go."""
    database = Database(Settings(course_dir=lms.server.course.folder).database_url)
    try:
        with database.session() as db:
            db.add(LtiLoginState(state="old", nonce="old", issuer="x", client_id="y"))
        with database.session() as db:
            db.execute(
                update(LtiLoginState)
                .where(LtiLoginState.state == "old")
                .values(created_at=utcnow() - dt.timedelta(hours=1))
            )
        with browser(lms) as client:
            authorize(lms, "carol", client)
        with database.session() as db:
            states = db.scalars(select(LtiLoginState.state)).all()
    finally:
        database.dispose()
    assert "old" not in states and states  # the new login's state is there


def test_a_student_cannot_deep_link(lms: Lms) -> None:
    lms.platform.deep_linking = True
    responses = len(lms.platform.deep_link_responses)
    with browser(lms) as client:
        response = launch(lms, "carol", client)
    assert response.status_code == 403
    assert "only instructors and TAs" in response.text
    assert len(lms.platform.deep_link_responses) == responses


def test_a_score_reaches_the_column_and_follows_the_hand_grade(lms: Lms) -> None:
    lms.platform.allowed_scopes.update({SCOPE_SCORE})
    lms.platform.link = deep_link(lms, "dave", QUIZ)
    column = lms.platform.links[lms.platform.link].lineitem
    frank, client = student(lms, "frank")
    with closing(client):
        hand_in(client, QUIZ, RIGHT)
    ((lineitem, first),) = eventually(lambda: lms.platform.scores_of(frank), "frank's score in the LMS")
    assert lineitem == column
    assert (first["scoreGiven"], first["scoreMaximum"]) == (3, 5)  # the proof waits for a TA
    assert first["activityProgress"] == "Submitted"
    shown = lms.platform.grade_of(frank, str(column))  # Moodle's gradebook: the automatic points
    assert shown is not None and (shown.given, shown.maximum) == (3, 5)

    with lms.server.client("ta") as ta:
        graded = ta.put(f"/api/v1/assignments/{QUIZ}/hand/frank/q1.proof", json={"points": 2, "version": 0})
        assert graded.status_code == 200, graded.text
    second = eventually(lambda: lms.platform.scores_of(frank)[1:], "frank's score after the hand grade")
    ((lineitem, score),) = second
    assert lineitem == column and (score["scoreGiven"], score["gradingProgress"]) == (5, "FullyGraded")
    assert score["timestamp"] > first["timestamp"]


def last_score(lms: Lms, user: LmsUser, after: int, given: float, what: str) -> int:
    """Wait until the LMS has a score of ``user`` newer than the first ``after`` ones, its
    newest ``given``; how many it has then."""

    def check() -> int | None:
        posted = lms.platform.scores_of(user)
        return len(posted) if len(posted) > after and posted[-1][1]["scoreGiven"] == given else None

    return eventually(check, what)


def test_every_new_counted_verdict_reaches_the_lms_from_the_grading_loop(lms: Lms) -> None:
    """With the default workers the verdicts are written by the grading process: a first
    grading, a later version, a regrade after the problem file is fixed, a due moved so that
    an earlier version counts, and the student's extension that makes the later one count again
    each send the student's score, with no launch between."""
    lms.platform.allowed_scopes.update({SCOPE_SCORE})
    lms.platform.link = deep_link(lms, "dave", MOVES)
    mona, client = student(lms, "mona")
    problem = lms.server.course.folder / "problems" / f"{MOVES}.yaml"
    course_yaml = lms.server.course.folder / "course.yaml"
    try:
        with closing(client):
            hand_in(client, MOVES, RIGHT)
            posted = last_score(lms, mona, 0, 3, "the first verdict's score")
            between = dt.datetime.now(dt.UTC)
            time.sleep(1.1)
            hand_in(client, MOVES, WRONG)
        posted = last_score(lms, mona, posted, 0, "the second version's score")
        problem.write_text(MOVES_FILE.replace("answer: x*H(x)", "answer: x*H(-x)"))  # the TA's fix
        posted = last_score(lms, mona, posted, 3, "the score of the regraded second version")
        course_yaml.write_text(f"assignments:\n  {MOVES}: {{due: {between.isoformat()}}}\n")
        posted = last_score(lms, mona, posted, 0, "the first version's score once it counts")
        ((_, score), *_) = reversed(lms.platform.scores_of(mona))
        assert score["activityProgress"] == "Completed"  # after the due
        extended = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
        course_yaml.write_text(
            f"assignments:\n  {MOVES}:\n    due: {between.isoformat()}\n"
            f"    extensions: {{mona: {extended.isoformat()}}}\n"
        )
        last_score(lms, mona, posted, 3, "the second version's score once mona's extension counts it")
    finally:
        course_yaml.unlink(missing_ok=True)
        problem.write_text(MOVES_FILE)
    ((_, score), *_) = reversed(lms.platform.scores_of(mona))
    assert score["activityProgress"] == "Submitted"  # before mona's own due


def _newest_given(lms: Lms, user: LmsUser, after: int, given: float, what: str) -> int:
    """Wait for a score of ``user`` past the first ``after`` ones whose points are ``given``;
    how many the LMS has then."""

    def check() -> int | None:
        posted = lms.platform.scores_of(user)
        fresh = len(posted) > after and posted[-1][1]["scoreGiven"] == pytest.approx(given)
        return len(posted) if fresh else None

    return eventually(check, what)


def test_an_extension_granted_after_a_late_hand_in_reaches_the_lms(lms: Lms) -> None:
    """Issue 60 item 9, as the TA met it: a late hand-in's penalised score is in the LMS;
    `grader extend`, run while the server serves, sends the score without the penalty at
    once; and the student's next launch sends their present score again."""
    lms.platform.allowed_scopes.update({SCOPE_SCORE})
    lms.platform.link = deep_link(lms, "dave", MOVES)
    course_yaml = lms.server.course.folder / "course.yaml"
    past = (dt.datetime.now(dt.UTC) - dt.timedelta(days=2)).isoformat()
    try:
        course_yaml.write_text(f"assignments:\n  {MOVES}:\n    due: {past}\n    penalty: {{fixed: 20%}}\n")
        nina, client = student(lms, "nina")
        with closing(client):
            eventually(lambda: "late" in client.get("/").text, "the due in force on nina's page")
            hand_in(client, MOVES, RIGHT)
        posted = _newest_given(lms, nina, 0, 2.4, "the late score (3 less 20% of 3)")
        result = CliRunner().invoke(
            main, ["extend", str(lms.server.course.folder), "nina", MOVES, "2099-01-01T00:00:00Z"]
        )
        assert result.exit_code == 0, result.output
        posted = _newest_given(lms, nina, posted, 3, "the score without the penalty after the extension")
        ((_, score), *_) = reversed(lms.platform.scores_of(nina))
        assert score["activityProgress"] == "Submitted"  # before nina's own due
        with browser(lms) as again:
            assert launch(lms, "nina", again).status_code == 303
        _newest_given(lms, nina, posted, 3, "the present score again after nina's next launch")
    finally:
        course_yaml.unlink(missing_ok=True)


def test_a_column_is_found_or_made_when_the_link_names_none(lms: Lms) -> None:
    """Moodle-style links announce only the line items' container: the tool looks for the
    assignment's column by resourceId, and makes it once when there is none."""
    lms.platform.allowed_scopes.update({SCOPE_SCORE, SCOPE_LINEITEM})
    lms.platform.custom["assignment"] = QUIZ
    lms.platform.link, lms.platform.course, lms.platform.announce_lineitem = "link-9", 2, False
    existing = lms.platform.add_line_item(3, {"label": "Quiz", "scoreMaximum": 5, "resourceId": QUIZ})
    for hint, course in (("gina", 2), ("hank", 2), ("iris", 3)):
        lms.platform.course = course
        user, client = student(lms, hint)
        with closing(client):
            hand_in(client, QUIZ, RIGHT)
        eventually(lambda user=user: lms.platform.scores_of(user), f"{hint}'s score")
    made = [i for i in lms.platform.line_items.values() if i["course"] == 2 and i.get("resourceId") == QUIZ]
    assert len(made) == 1 and made[0]["label"] == "A short quiz on ReLU"  # made once, then reused
    by_user = {score["userId"]: lineitem for lineitem, score in lms.platform.scores}
    users = lms.platform.users
    assert by_user[users["gina"].sub] == by_user[users["hank"].sub] == made[0]["id"]
    assert by_user[users["iris"].sub] == existing["id"]  # found by its resourceId


def test_no_score_is_lost_while_the_lms_is_down_even_across_a_restart(lms: Lms) -> None:
    lms.platform.allowed_scopes.update({SCOPE_SCORE})
    lms.platform.link = deep_link(lms, "dave", QUIZ)
    ivan, client = student(lms, "ivan")
    lms.platform.down = True
    with closing(client):
        hand_in(client, QUIZ, RIGHT)
        eventually(lambda: lms.platform.refused, "a refused post")
        hand_in(client, QUIZ, WRONG)  # a later version: its score replaces the one not posted
    course, port = lms.server.course, lms.server.port
    lms.server.stop()
    refused = lms.platform.refused
    lms.server = Server(course, WORKERS, port=port)
    eventually(lambda: lms.platform.refused > refused, "the restarted server trying again")
    assert lms.platform.scores_of(ivan) == []
    lms.platform.down = False
    ((_, score),) = eventually(lambda: lms.platform.scores_of(ivan), "ivan's score once the LMS is back")
    assert (score["scoreGiven"], score["scoreMaximum"]) == (0, 5)  # the later version's
    with lms.server.client("ta") as ta:  # nothing else waits: the earlier score was replaced
        eventually(lambda: "0 score(s) waiting" in _lms_page(ta), "an empty outbox")
    assert len(lms.platform.scores_of(ivan)) == 1


def _lms_page(ta: httpx.Client) -> str:
    page = ta.get("/ta/lms")
    assert page.status_code == 200, page.text
    return page.text


def test_the_lms_roster_names_students_in_the_canvas_export(lms: Lms) -> None:
    lms.platform.allowed_scopes.add(SCOPE_ROSTER)
    lms.platform.custom["assignment"] = QUIZ
    lms.platform.add_user("alice", [LEARNER], "s1111111")  # in the LMS; hands in with her token
    _, client = student(lms, "jack", "s7654321")
    with closing(client):
        hand_in(client, QUIZ, RIGHT)
    with lms.server.client("alice") as alice:
        response = alice.post(
            f"/api/v1/assignments/{QUIZ}/submissions", json={"answers": {"q1.formula": "x"}}
        )
        wait_graded(alice, response.json()["id"])
    csv_roster = lms.server.course.folder / "roster.csv"
    csv_roster.write_text("folder,name,sis user id\njack,Jack From The CSV,x1\n")
    requests = lms.platform.roster_requests
    with httpx.Client(base_url=lms.server.url, timeout=30) as ta:  # the TA's browser
        log_in(ta, "ta", lms.server.course.passwords["ta"])
        before = ta.get(f"/api/v1/assignments/{QUIZ}/export", params={"format": "canvas"}).text
        assert "Jack From The CSV" in before  # no LMS roster yet: roster.csv
        assert "/ta/lms" in ta.get("/ta").text
        page = ta.get("/ta/lms")
        action, fields = next(f for f in PageForms(page.text).forms if f[0] == "/ta/lms/roster")
        fetched = ta.post(action, data=fields, follow_redirects=True)
        assert fetched.status_code == 200 and "members" in fetched.text, fetched.text
        export = ta.get(f"/api/v1/assignments/{QUIZ}/export", params={"format": "canvas"})
    assert lms.platform.roster_requests - requests >= 2  # both pages of each course
    rows = {row["Student"]: row for row in csv.DictReader(io.StringIO(export.text))}
    assert rows["Jack Example"]["SIS User ID"] == "s7654321" and rows["Jack Example"][QUIZ] == "3"
    assert rows["Alice Example"]["SIS User ID"] == "s1111111"  # matched by her e-mail's name
    assert "Jack From The CSV" not in export.text  # the LMS's roster replaces roster.csv


def test_the_lti_pages_show_times_in_the_courses_zone_with_utc_on_hover(lms: Lms) -> None:
    """Issue 49 item 4: the deep-linking picker's due and the LMS page's "Roster fetched" are
    in the course's time zone (course.yaml's timezone), with UTC on hover, as every page."""
    course_yaml = lms.server.course.folder / "course.yaml"
    try:
        course_yaml.write_text(
            f"timezone: Europe/Berlin\nassignments:\n  {QUIZ}: {{due: 2030-01-15T17:00:00+00:00}}\n"
        )
        lms.platform.deep_linking = True
        lms.platform.allowed_scopes.add(SCOPE_ROSTER)  # the launch names the roster service

        def picker() -> str | None:
            with browser(lms) as client:
                text = launch(lms, "dave", client).text
            return text if "2030-01-15 18:00 CET" in text else None

        shown = eventually(picker, "the due in the course's zone on the picker")
        assert "title='2030-01-15 17:00 UTC'" in shown and "17:00 UTC</td>" not in shown
        lms.platform.deep_linking = False
        lms.platform.custom["assignment"] = QUIZ
        student(lms, "zoe")[1].close()  # her launch names the LMS course and its roster
        with httpx.Client(base_url=lms.server.url, timeout=30) as ta:
            log_in(ta, "ta", lms.server.course.passwords["ta"])
            page = ta.get("/ta/lms")
            action, fields = next(f for f in PageForms(page.text).forms if f[0] == "/ta/lms/roster")
            assert ta.post(action, data=fields, follow_redirects=True).status_code == 200
            text = ta.get("/ta/lms").text
        fetched = text.split("Roster fetched", 1)[1]
        assert re.search(
            r"<time datetime='[^']+' title='[\d-]+ [\d:]+ UTC'>[\d-]+ [\d:]+ CET</time>", fetched
        )
    finally:
        course_yaml.unlink(missing_ok=True)


def test_a_roster_member_cannot_take_another_students_row(lms: Lms) -> None:
    """A member who never launched, named like a student by their e-mail, does not get that
    student's row; two members matching one user link neither, and the TA is told."""
    lms.platform.allowed_scopes.add(SCOPE_ROSTER)
    lms.platform.custom["assignment"] = QUIZ
    _, client = student(lms, "sam")  # linked by his launch
    with closing(client):
        hand_in(client, QUIZ, RIGHT)
    with lms.server.client("bob") as bob:  # a user of the service, who never launched
        response = bob.post(f"/api/v1/assignments/{QUIZ}/submissions", json={"answers": {"q1.formula": "x"}})
        wait_graded(bob, response.json()["id"])
    for hint, email, name in (
        ("sam-x", "sam@elsewhere.example", "Not Sam"),
        ("bob-1", "bob@uni.example", "Bob One"),
        ("bob-2", "bob@elsewhere.example", "Bob Two"),
    ):
        member = lms.platform.add_user(hint, [LEARNER])
        member.email, member.name = email, name
    with lms.server.client("ta") as ta:
        assert ta.post("/api/v1/lms/roster").status_code == 200
        export = ta.get(f"/api/v1/assignments/{QUIZ}/export", params={"format": "moodle"}).text
        canvas = ta.get(f"/api/v1/assignments/{QUIZ}/export", params={"format": "canvas"}).text
        page = _lms_page(ta)
    assert "sam@uni.example" in export and "sam@elsewhere.example" not in export
    assert "Sam Example" in canvas and "Not Sam" not in canvas
    assert "Bob One" not in canvas and "Bob Two" not in canvas
    assert "bob: matched by Bob One, Bob Two" in page


def _member_statuses(lms: Lms, *users: LmsUser) -> dict[str, str]:
    database = Database(Settings(course_dir=lms.server.course.folder).database_url)
    try:
        with database.session() as db:
            rows = db.execute(
                select(LtiMember.subject, LtiMember.status).where(
                    LtiMember.subject.in_([u.sub for u in users])
                )
            ).all()
    finally:
        database.dispose()
    return {subject: status for subject, status in rows}


def test_a_student_the_lms_dropped_is_marked_after_a_fetch_however_grader_knew_them(lms: Lms) -> None:
    """Issue 60 item 10: a student grader knew only from a launch (no roster fetched since)
    is marked as dropped once the LMS's roster no longer lists them, as one known from an
    earlier fetch is; /ta/lms names who was dropped; a student still listed stays active."""
    lms.platform.allowed_scopes.add(SCOPE_ROSTER)
    lms.platform.custom["assignment"] = QUIZ
    vera, client = student(lms, "vera")  # known from a launch only: never in a fetched roster
    client.close()
    walt, client = student(lms, "walt")  # in a fetch, then dropped
    client.close()
    with lms.server.client("ta") as ta:
        assert ta.post("/api/v1/lms/roster").status_code == 200
        xena, client = student(lms, "xena")  # launches after that fetch
        client.close()
        del lms.platform.users["walt"], lms.platform.users["xena"]  # unenrolled in the LMS
        assert _member_statuses(lms, walt, xena)[xena.sub] == "Active"
        assert ta.post("/api/v1/lms/roster").status_code == 200
        page = _lms_page(ta)
    statuses = _member_statuses(lms, vera, walt, xena)
    assert statuses == {vera.sub: "Active", walt.sub: "Deleted", xena.sub: "Deleted"}
    dropped = page.split("Dropped from the LMS", 1)[1]
    assert "Walt Example" in dropped and "Xena Example" in dropped and "Vera Example" not in dropped


def _evaluate(page: Page, expression: str) -> Any:
    try:
        return page.evaluate(expression)
    except BrowserError:  # between two pages
        return None


@pytest.mark.skipif(chromium_path() is None, reason="chromium is not installed: apt-get install chromium")
def test_deep_linking_in_a_real_browser(lms: Lms, tmp_path: Path) -> None:
    """Headless Chromium goes through the LMS's login, the picker and the form that goes back
    to the LMS by itself: the pages' CSP allows all of it, and reports no violation."""
    lms.platform.deep_linking = True
    responses = len(lms.platform.deep_link_responses)
    login = {"iss": lms.platform.issuer, "login_hint": "dave", "client_id": CLIENT_ID}
    with Chromium() as chrome:
        page = chrome.open(f"{lms.server.url}/lti/login?{urlencode(login)}")
        picker = f"[...document.forms].find(f => f.assignment && f.assignment.value === '{QUIZ}')"
        eventually(lambda: _evaluate(page, f"{picker} !== undefined"), "the picker in the browser")
        page.screenshot(tmp_path / "picker.png")
        page.evaluate(f"{picker}.requestSubmit()")
        eventually(lambda: len(lms.platform.deep_link_responses) > responses, "the link back in the LMS")
        eventually(lambda: "was added" in str(_evaluate(page, "document.body.innerText")), "the LMS's page")
        assert page.errors == []


def _graded(
    database: Database, user_id: int, assignment_id: int, version: int, points: float, proof: bool = True
) -> None:
    """A version handed in and its verdict, written as the grading workers write one; with
    ``proof``, its proof waits for a TA."""
    parts = [PartResult("q1.formula", Status.CORRECT if points else Status.INCORRECT, points, 3.0)]
    if proof:
        parts.append(PartResult("q1.proof", Status.MANUAL, 0.0, 2.0))
    report = Report(QUIZ, "otto", parts)
    with database.session() as db:
        submission = Submission(
            assignment_id=assignment_id,
            user_id=user_id,
            version=version,
            filename="answers.yaml",
            content=RIGHT.encode(),
            content_hash="-",
        )
        db.add(submission)
        db.flush()
        db.add(
            VerdictRow(
                submission_id=submission.id,
                problem_hash="-",
                score=points,
                max_score=report.max_score,
                report=dumps(report),
            )
        )


@dataclass
class Outbox:
    """A database of its own with the score hook, one LMS student in course-1's line item 1,
    and a passback thread's work done by hand (``deliver_due``)."""

    database: Database
    passback: Passback
    student: LmsUser
    user_id: int
    quiz_id: int

    def graded(self, version: int, points: float, proof: bool = True) -> None:
        _graded(self.database, self.user_id, self.quiz_id, version, points, proof)

    def rows(self) -> list[LtiScore]:
        with self.database.session() as db:
            return list(db.scalars(select(LtiScore).order_by(LtiScore.id)))

    def due_now(self) -> None:
        """As if every wait were over."""
        with self.database.session() as db:
            db.execute(update(LtiScore).values(next_attempt_at=utcnow()))


@contextmanager
def outbox(lms: Lms, url: str, hint: str) -> Iterator[Outbox]:
    migrate(url)
    database = Database(url)
    scores.install(database.sessions)
    folder = lms.server.course.folder
    course = CourseState(database, folder, "course")
    course.sync(force=True)
    student = lms.platform.add_user(hint, [LEARNER])
    with database.session() as db:
        user, _ = add_user(db, hint, "student")
        db.add(LtiUser(issuer=lms.platform.issuer, subject=student.sub, user_id=user.id))
        db.add(LtiMember(issuer=lms.platform.issuer, context_id="course-1", subject=student.sub))
        db.add(
            LtiLineItem(
                issuer=lms.platform.issuer,
                client_id=CLIENT_ID,
                deployment_id="deployment-1",
                context_id="course-1",
                assignment=QUIZ,
                lineitem_url=f"{lms.platform.url}/courses/1/lineitems/1",
                scopes=[SCOPE_SCORE],
            )
        )
        user_id = user.id
    quiz = course.get(QUIZ)
    assert quiz is not None
    passback = Passback(
        database, load(folder), course, AccessTokens(ToolKeys(folder / ".grader-service").current())
    )
    lms.platform.allowed_scopes.add(SCOPE_SCORE)
    try:
        yield Outbox(database, passback, student, user_id, quiz.id)
    finally:
        passback.stop()
        database.dispose()


def test_the_outbox_on_sqlite_and_postgresql(lms: Lms, tmp_path: Path, db_url: str | None) -> None:
    """The outbox's queries on both databases: a score is queued in the verdict's own
    transaction, a later one supersedes it, a refused post waits with its error, and the
    newest score is posted once the LMS answers."""
    with outbox(lms, db_url or f"sqlite:///{tmp_path / 'grader.sqlite3'}", "otto") as box:
        box.graded(1, 3.0)
        lms.platform.down = True
        assert box.passback.deliver_due() == 0
        box.graded(2, 0.0)
        first, second = box.rows()
        assert first.attempts == 1 and "503" in str(first.last_error) and first.next_attempt_at > utcnow()
        assert (second.score_given, second.grading_progress) == (0.0, "PendingManual")
        box.due_now()
        lms.platform.down = False
        assert box.passback.deliver_due() == 1
        assert [row.status for row in box.rows()] == ["superseded", "delivered"]
    ((_, score),) = lms.platform.scores_of(box.student)
    assert (score["scoreGiven"], score["scoreMaximum"]) == (0, 5)


def _queued(box: Outbox) -> list[float]:
    return [row.score_given for row in box.rows()]


def test_every_change_of_a_counted_score_queues_it_in_the_same_transaction(
    lms: Lms, tmp_path: Path, db_url: str | None
) -> None:
    """Issue 60 item 9: whatever changes a student's counted score queues the new score with
    the change (rolled back together), and a change that leaves the score as it was queues
    nothing: a due moved, the late policy edited, an extension granted after a late hand-in,
    a regrade, a hand grade (a new verdict of the counted version sends its score even when
    it is the same, once the one before was posted); and at a restart, what changed with no
    hook listening."""
    with outbox(lms, db_url or f"sqlite:///{tmp_path / 'grader.sqlite3'}", "lena") as box:
        past, future = utcnow() - dt.timedelta(days=2), utcnow() + dt.timedelta(days=2)

        def change(**fields: Any) -> None:
            with box.database.session() as db:
                assignment = db.get(Assignment, box.quiz_id)
                assert assignment is not None
                for name, value in fields.items():
                    setattr(assignment, name, value)

        change(due=past, policy={"penalty": {"fixed": 20.0}})
        _verdict(box, 3.0, version=1)  # late: 20% of the 5 points possible off
        assert _queued(box) == [2.0]
        change(due=future)  # on time now
        assert _queued(box) == [2.0, 3.0]
        change(due=past)
        assert _queued(box) == [2.0, 3.0, 2.0]
        change(policy={"penalty": {"fixed": 40.0}})  # the late policy edited
        assert _queued(box) == [2.0, 3.0, 2.0, 1.0]
        change(title="A renamed quiz")  # nothing that moves a score
        assert _queued(box) == [2.0, 3.0, 2.0, 1.0]

        with pytest.raises(RuntimeError), box.database.session() as db:  # rolled back: no score
            grant_extension(db, box.quiz_id, "lena", future, None)
            assert [row.score_given for row in db.scalars(select(LtiScore))][-1] == 3.0
            raise RuntimeError("the transaction fails")
        assert _queued(box) == [2.0, 3.0, 2.0, 1.0]
        with box.database.session() as db:  # an extension granted after the late hand-in
            grant_extension(db, box.quiz_id, "lena", future, None)
        assert _queued(box) == [2.0, 3.0, 2.0, 1.0, 3.0]

        _verdict(box, 3.0)  # a regrade with the same points while that score waits: not twice
        assert _queued(box) == [2.0, 3.0, 2.0, 1.0, 3.0]
        box.due_now()
        assert box.passback.deliver_due() == 1  # the 3.0: posted
        _verdict(box, 3.0)  # a hand grade that gives the same points: sent again
        assert _queued(box) == [2.0, 3.0, 2.0, 1.0, 3.0, 3.0]
        _verdict(box, 2.5)  # a hand grade (or regrade) that changes them
        assert _queued(box) == [2.0, 3.0, 2.0, 1.0, 3.0, 3.0, 2.5]

        unhooked = Database(box.database.url)  # a process without the hook (an old command)
        try:
            with unhooked.session() as db:
                assignment = db.get(Assignment, box.quiz_id)
                assert assignment is not None
                assignment.granted_extensions = {}  # lena is late again: 1.5 with 40% off
        finally:
            unhooked.dispose()
        assert _queued(box) == [2.0, 3.0, 2.0, 1.0, 3.0, 3.0, 2.5]
        with box.database.session() as db:  # what the passback thread does at its start
            assert scores.queue_all_changed(db) == 1
        assert _queued(box) == [2.0, 3.0, 2.0, 1.0, 3.0, 3.0, 2.5, 0.5]
        box.due_now()
        assert box.passback.deliver_due() >= 1
    (*_, (_, score)) = lms.platform.scores_of(box.student)
    assert (score["scoreGiven"], score["scoreMaximum"]) == (0.5, 5)


def _verdict(box: Outbox, total: float, version: int | None = None) -> None:
    """A verdict of ``total`` points of 5 (the proof graded 2 of 2): of a new ``version``
    handed in, or a new verdict of the newest one, as a regrade or a hand grade writes one."""
    parts = [
        PartResult("q1.formula", Status.CORRECT, total - 2.0, 3.0),
        PartResult("q1.proof", Status.CORRECT, 2.0, 2.0),
    ]
    with box.database.session() as db:
        if version is not None:
            submission = Submission(
                assignment_id=box.quiz_id,
                user_id=box.user_id,
                version=version,
                filename="answers.yaml",
                content=RIGHT.encode(),
                content_hash="-",
            )
            db.add(submission)
            db.flush()
        submission_id = db.scalar(select(func.max(Submission.id)).where(Submission.user_id == box.user_id))
        db.add(
            VerdictRow(
                submission_id=submission_id,
                problem_hash="-",
                score=total,
                max_score=5.0,
                report=dumps(Report(QUIZ, "lena", parts)),
            )
        )


@pytest.mark.parametrize(
    ("setting", "sent", "shown"),
    [(None, "FullyGraded", 3), ("fully_graded", "FullyGraded", 3), ("pending_manual", "PendingManual", None)],
)
def test_what_the_gradebook_shows_while_a_proof_waits(
    lms: Lms, tmp_path: Path, setting: str | None, sent: str, shown: float | None
) -> None:
    """Moodle keeps scoreGiven only with FullyGraded: by default (``pending_scores: auto``, a
    platform that is not Canvas) the automatic points go as FullyGraded and Moodle shows them;
    ``pending_manual`` marks them as waiting for a TA (Canvas shows them as "needs grading",
    Moodle shows no grade)."""
    with outbox(lms, f"sqlite:///{tmp_path / 'grader.sqlite3'}", f"quinn-{setting}") as box:
        if setting is not None:
            (platform,) = box.passback.config.platforms
            changed = platform.model_copy(update={"pending_scores": setting})
            box.passback.config = box.passback.config.model_copy(update={"platforms": (changed,)})
        box.graded(1, 3.0)  # the proof waits for a TA
        assert box.passback.deliver_due() == 1
        assert box.rows()[-1].grading_progress == "PendingManual"  # the outbox keeps what waits
    ((lineitem, score),) = lms.platform.scores_of(box.student)
    assert (score["scoreGiven"], score["gradingProgress"]) == (3, sent)
    grade = lms.platform.grade_of(box.student, lineitem)
    assert grade is not None and grade.given == shown


def test_canvas_hosted_by_instructure_marks_waiting_points_by_default() -> None:
    fields = {
        "client_id": "1",
        "auth_url": "https://sso.canvaslms.com/api/lti/authorize_redirect",
        "token_url": "https://canvas.university.edu/login/oauth2/token",
        "jwks_url": "https://sso.canvaslms.com/api/lti/security/jwks",
        "deployment_ids": ["1"],
    }
    tool = "https://grader.example"
    canvas = LtiConfig.model_validate(
        {"tool_url": tool, "platforms": [{"issuer": "https://canvas.instructure.com", **fields}]}
    )
    moodle = LtiConfig.model_validate(
        {"tool_url": tool, "platforms": [{"issuer": "https://moodle.university.edu", **fields}]}
    )
    assert canvas.platforms[0].progress_while_pending() == "PendingManual"
    assert moodle.platforms[0].progress_while_pending() == "FullyGraded"
    with pytest.raises(ValueError, match="pending_scores"):
        LtiConfig.model_validate(
            {"tool_url": tool, "platforms": [{"issuer": "x", "pending_scores": "maybe", **fields}]}
        )


def test_two_scores_in_one_second_both_land_and_a_refusal_stops(
    lms: Lms, tmp_path: Path, db_url: str | None
) -> None:
    """Moodle refuses (409) a score whose timestamp is not a later second than the grade it
    has: the second of two scores made in one second still lands, with a later timestamp. A
    refusal a retry cannot change stops with the LMS's reason; a later score waits while an
    earlier one is being posted, so it is never overtaken."""
    with outbox(lms, db_url or f"sqlite:///{tmp_path / 'grader.sqlite3'}", "pia") as box:
        lineitem = f"{lms.platform.url}/courses/1/lineitems/1"
        box.graded(1, 3.0, proof=False)
        assert box.passback.deliver_due() == 1
        box.graded(2, 0.0, proof=False)
        with box.database.session() as db:  # made in the same second as the first
            first, second = db.scalars(select(LtiScore).order_by(LtiScore.id)).all()
            second.created_at = first.created_at
        assert box.passback.deliver_due() == 1
        assert lms.platform.conflicts == []
        grade = lms.platform.grade_of(box.student, lineitem)
        assert grade is not None and grade.given == 0  # the newer score, in the gradebook
        stamps = [
            dt.datetime.fromisoformat(score["timestamp"]) for _, score in lms.platform.scores_of(box.student)
        ]
        assert int(stamps[1].timestamp()) > int(stamps[0].timestamp())

        lms.platform.not_in_course.add(box.student.sub)  # the student left the course
        box.graded(3, 3.0, proof=False)
        assert box.passback.deliver_due() == 0
        refused = box.rows()[-1]
        assert refused.status == "refused" and refused.attempts == 1
        assert "400 Incorrect score received" in str(refused.last_error)  # Moodle's reason
        box.due_now()
        assert box.passback.deliver_due() == 0 and box.rows()[-1].attempts == 1  # not tried again

        lms.platform.not_in_course.clear()
        box.graded(4, 3.0, proof=False)
        with box.database.session() as db:  # another server is posting it
            db.execute(
                update(LtiScore)
                .where(LtiScore.id == box.rows()[-1].id)
                .values(status="sending", next_attempt_at=utcnow() + dt.timedelta(seconds=60))
            )
        box.graded(5, 0.0, proof=False)
        assert box.passback.deliver_due() == 0  # the later score waits for the earlier one
        box.due_now()  # that server died: its lease ran out
        assert box.passback.deliver_due() == 1
        assert [row.status for row in box.rows()[-2:]] == ["superseded", "delivered"]
        grade = lms.platform.grade_of(box.student, lineitem)
        assert grade is not None and grade.given == 0


# ---- the tool's own key: rotation ----------------------------------------------------------------


def rotate_key(folder: Path, *options: str) -> str:
    """``grader lti rotate-key``, run next to the running server as a TA would; the new kid."""
    result = CliRunner().invoke(main, ["lti", "rotate-key", str(folder), *options])
    assert result.exit_code == 0, result.output
    return result.stdout.strip()


def served_kids(lms: Lms) -> list[str]:
    """The kids of the running server's JWKS, which never holds a private member."""
    served = httpx.get(f"{lms.server.url}/lti/jwks.json").json()["keys"]
    assert all(key["kty"] == "RSA" and not PRIVATE_MEMBERS & set(key) for key in served)
    return [key["kid"] for key in served]


def assertion_form(token: str) -> dict[str, str]:
    """A client-credentials request with ``token`` as it reaches the LMS's token endpoint."""
    return {
        "grant_type": "client_credentials",
        "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": token,
    }


def key_file_private(folder: Path) -> bool:
    return (folder / ".grader-service" / KEY_FILE).stat().st_mode & 0o777 == 0o600


def test_a_rotated_key_signs_at_once_and_the_old_one_verifies_in_its_grace(lms: Lms) -> None:
    """``grader lti rotate-key`` next to a running server: the next deep-linking response and
    client assertion carry the new kid and verify; the JWKS has both keys; a pick started
    and a JWT signed before the rotation still verify."""
    folder = lms.server.course.folder
    old = ToolKeys(folder / ".grader-service").current()
    assert served_kids(lms)[0] == old.kid
    (platform,) = load(folder).platforms
    early = client_assertion(platform, old)  # signed before the rotation
    lms.platform.allowed_scopes.add(SCOPE_SCORE)
    lms.platform.deep_linking = True
    before = set(lms.platform.links)
    with browser(lms) as client:
        picker = launch(lms, "dave", client)  # the TA opens the list before the rotation ...
        new = rotate_key(folder)
        action, fields = PageForms(picker.text).with_field("assignment", QUIZ)
        back = client.post(action, data=fields)  # ... and picks after it
    assert back.status_code == 200, back.text
    assert new != old.kid and served_kids(lms)[:2] == [new, old.kid]
    ((action, fields),) = PageForms(back.text).forms
    assert httpx.post(action, data=fields).status_code == 200
    assert lms.platform.signed_by[-1] == new  # the response: the new key, and it verified
    assert lms.platform.check_client_assertion(assertion_form(early)) == ""  # the old key, in grace
    assert key_file_private(folder)

    (lms.platform.link,) = set(lms.platform.links) - before
    lms.platform.deep_linking = False
    lms.platform.tokens.clear()  # the LMS revokes its tokens: the server must ask for a new one
    kate, client = student(lms, "kate")
    with closing(client):
        hand_in(client, QUIZ, RIGHT)
    eventually(lambda: lms.platform.scores_of(kate), "kate's score, with a token got after the rotation")
    assert lms.platform.signed_by[-1] == new  # the running server's client assertion


def test_after_the_grace_the_old_key_is_gone(lms: Lms) -> None:
    folder = lms.server.course.folder
    old = ToolKeys(folder / ".grader-service").current()
    (platform,) = load(folder).platforms
    late = client_assertion(platform, old)
    new = rotate_key(folder, "--grace-days", "0")  # as after a leak: no grace
    assert served_kids(lms) == [new]
    assert "signature" in lms.platform.check_client_assertion(assertion_form(late))
    deep_link(lms, "dave", QUIZ)
    assert lms.platform.signed_by[-1] == new
    assert key_file_private(folder)


def test_the_one_key_file_of_before_still_loads(tmp_path: Path) -> None:
    before = RSAKey.generate_key(2048, auto_kid=True)
    path = tmp_path / KEY_FILE
    path.write_text(json.dumps(before.as_dict(private=True)))
    path.chmod(0o600)
    keys = ToolKeys(tmp_path)
    assert keys.current().kid == before.thumbprint()  # kept as the current key
    signed = jwt.encode({"alg": "RS256", "kid": before.kid}, {"sub": "x"}, before)
    assert jwt.decode(signed, KeySet.import_key_set(keys.public_jwks()), algorithms=["RS256"])  # type: ignore[arg-type]
    ring = keys.rotate()
    assert [key.kid for key in ring.keys] == [ring.current.kid, before.kid]
    stored = json.loads(path.read_text())
    assert stored["format"] == 2 and [entry["kid"] for entry in stored["keys"]] == [
        ring.current.kid,
        before.kid,
    ]
    assert path.stat().st_mode & 0o777 == 0o600
    assert not list(tmp_path.glob("*.tmp"))  # written through a temporary file, renamed


def _rewrite(path: Path, change: Any) -> None:
    """Change the stored key set as time would (creation times, the end of a grace)."""
    stored = json.loads(path.read_text())
    change(stored["keys"])
    write_atomic(path, json.dumps(stored), mode=0o600)


def _ago(days: float) -> str:
    return (dt.datetime.now(dt.UTC) - dt.timedelta(days=days)).isoformat()


def test_a_key_whose_grace_ended_leaves_the_jwks(tmp_path: Path) -> None:
    keys = ToolKeys(tmp_path)
    first = keys.current()
    signed = jwt.encode({"alg": "RS256", "kid": first.kid}, {"sub": "x"}, first)
    second = keys.rotate().current
    assert [key["kid"] for key in keys.public_jwks()["keys"]] == [second.kid, first.kid]
    _rewrite(tmp_path / KEY_FILE, lambda stored: stored[1].update(expires=_ago(1 / 86400)))
    assert [key["kid"] for key in keys.public_jwks()["keys"]] == [second.kid]
    with pytest.raises(JoseError):
        jwt.decode(signed, keys.verification_keys(), algorithms=["RS256"])


def test_the_service_rotates_a_key_older_than_lti_key_days(tmp_path: Path) -> None:
    data = tmp_path / ".grader-service"
    old = ToolKeys(data).current()
    _rewrite(data / KEY_FILE, lambda stored: stored[0].update(created=_ago(31)))
    app = FastAPI()
    install(app, Settings(course_dir=tmp_path, lti_key_days=30))  # at start-up
    kids = [key["kid"] for key in app.state.lti.tool_keys.public_jwks()["keys"]]  # what /lti/jwks.json serves
    assert len(kids) == 2 and kids[1] == old.kid
    assert ToolKeys(data, 30).current().kid == kids[0]  # another server just after: no second rotation
    _rewrite(data / KEY_FILE, lambda stored: stored[0].update(created=_ago(30)))
    signing = app.state.lti.tokens.key()  # while running: the next assertion signs with a new key
    assert signing.kid not in kids
    assert [key.kid for key in ToolKeys(data).ring().keys] == [signing.kid, *kids]
