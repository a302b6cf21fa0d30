"""LTI 1.3 over real HTTP: a test LMS (tests/lti_platform.py) launches students and TAs
into a real ``grader serve``; forged, expired, replayed, wrong-audience, wrong-nonce and
unknown-deployment tokens are refused."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import httpx
import pytest
from joserfc.jwk import RSAKey
from sqlalchemy import inspect, select

from grader.service.db import Database, migrate
from grader.service.lti.keys import tool_key
from grader.service.lti.launch import role_of
from grader.service.lti.models import LtiLink
from grader.service.lti.oauth import SCOPE_LINEITEM, SCOPE_ROSTER, SCOPE_SCORE, AccessTokens, TokenError
from grader.service.lti.registration import LtiConfigError, load
from grader.service.settings import Settings
from tests.lti_platform import (
    CLIENT_ID,
    INSTRUCTOR,
    LEARNER,
    TEACHING_ASSISTANT,
    AutoPostForm,
    Platform,
)
from tests.service_server import Server, make_course

ASSIGNMENT = "a1-activations-conv"


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
    (course.folder / "lti.yaml").write_text(platform.lti_yaml())
    try:
        with Server(course, 0) as server:
            platform.tool_jwks_url = f"{server.url}/lti/jwks.json"
            yield Lms(platform, server)
    finally:
        platform.stop()


@pytest.fixture(autouse=True)
def clean_platform(lms: Lms) -> Iterator[None]:
    yield
    lms.platform.tamper.clear()
    lms.platform.custom.clear()
    lms.platform.target_link_uri = "http://tool/lti/launch"
    lms.platform.allowed_scopes.clear()
    lms.platform.down = False


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


def test_roles_map_to_ta_or_student() -> None:
    claim = "https://purl.imsglobal.org/spec/lti/claim/roles"
    assert role_of({claim: [LEARNER]}) == "student"
    assert role_of({claim: [TEACHING_ASSISTANT]}) == "ta"
    assert role_of({claim: [INSTRUCTOR, LEARNER]}) == "ta"
    assert (
        role_of({claim: ["http://purl.imsglobal.org/vocab/lis/v2/institution/person#Administrator"]}) == "ta"
    )
    assert role_of({}) == "student"


def test_a_bad_lti_yaml_says_where(tmp_path: Path) -> None:
    (tmp_path / "lti.yaml").write_text("platforms:\n  - issuer: x\n    client_id: y\n")
    with pytest.raises(LtiConfigError, match=r"lti\.yaml"):
        load(tmp_path)
    assert load(tmp_path / "nowhere").platforms == ()


def test_the_tool_gets_an_access_token_with_its_own_key(lms: Lms) -> None:
    """The client-credentials grant AGS and NRPS use: the platform checks the tool's signed
    assertion against the JWKS the running server publishes, and the scopes it may have."""
    (platform,) = load(lms.server.course.folder).platforms
    tokens = AccessTokens(tool_key(lms.server.course.folder / ".grader-service"))
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
    assert {"lti_login_states", "lti_users", "lti_links"} <= tables
