"""A test LMS for the LTI tests: a small FastAPI app on a loopback port (uvicorn in a
thread) that plays the platform. It signs id_tokens with its own RSA key, serves its JWKS
and runs the OIDC authorization step (answering with the auto-posting form a browser would
receive). ``tamper`` spoils the next tokens the way an attacker would.

For LTI Advantage it is an OAuth2 token endpoint (the tool's client assertion is checked
against the tool's JWKS), Assignment and Grade Services (line items, scores: bearer token
and scope checked, every score recorded), Names and Role Provisioning (the members over two
pages) and the deep-linking return endpoint (the tool's JWT checked, the link and its line
item made). ``down`` makes all of them answer 503, the way an LMS under maintenance does.
The specification's strings are written out here, not taken from grader.

The scores behave as Moodle 4.5's (mod/lti/service/gradebookservices, read in its source and
seen in a real Moodle): the gradebook keeps a grade per line item and user with its time in
whole seconds; a score whose timestamp is not a later second than the grade's is refused
with 409, the reason in the status line and ``[]`` as the body; ``scoreGiven`` is stored
only with ``gradingProgress: FullyGraded`` (any other progress empties the grade); a user
who is not in the course is refused with 400."""

from __future__ import annotations

import datetime as dt
import threading
import time
import uuid
from dataclasses import dataclass, field
from html import escape
from html.parser import HTMLParser
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey
from uvicorn.protocols.http.h11_impl import H11Protocol

from grader.service.server import free_port

CLAIM = "https://purl.imsglobal.org/spec/lti/claim/"
CLIENT_ID = "grader-tool-1"
DEPLOYMENT = "deployment-1"
LEARNER = "http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"
INSTRUCTOR = "http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor"
TEACHING_ASSISTANT = "http://purl.imsglobal.org/vocab/lis/v2/membership/Instructor#TeachingAssistant"
AGS_CLAIM = "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"
NRPS_CLAIM = "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice"
DL_CLAIM = "https://purl.imsglobal.org/spec/lti-dl/claim/"
SCOPE_LINEITEM = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem"
SCOPE_LINEITEM_READ = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem.readonly"
SCOPE_SCORE = "https://purl.imsglobal.org/spec/lti-ags/scope/score"
SCOPE_ROSTER = "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly"
SCORE_TYPE = "application/vnd.ims.lis.v1.score+json"
CONTAINER_TYPE = "application/vnd.ims.lis.v2.lineitemcontainer+json"
LINEITEM_TYPE = "application/vnd.ims.lis.v2.lineitem+json"
MEMBERSHIP_TYPE = "application/vnd.ims.lti-nrps.v2.membershipcontainer+json"
ACTIVITY = {"Initialized", "Started", "InProgress", "Submitted", "Completed"}
GRADING = {"FullyGraded", "Pending", "PendingManual", "Failed", "NotReady"}
DEEP_LINK_DATA = "opaque <platform> data & more"
REASON_HEADER = b"x-status-reason"  # the test platform's way to set a status line's reason


class StatusReasons(H11Protocol):
    """uvicorn's HTTP/1.1, but a response's ``x-status-reason`` header becomes the reason
    phrase of its status line, as Moodle writes its refusals (ASGI has no reason phrase)."""

    def connection_made(self, transport: Any) -> None:
        super().connection_made(_ReasonTransport(transport))


class _ReasonTransport:
    def __init__(self, inner: Any):
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def write(self, data: bytes) -> None:
        head, found, rest = data.partition(b"\r\n" + REASON_HEADER + b": ")
        if found and data.startswith(b"HTTP/1.1 "):
            reason, _, tail = rest.partition(b"\r\n")
            status_line, _, headers = head.partition(b"\r\n")
            status_line = b" ".join([*status_line.split(b" ")[:2], reason])
            data = status_line + b"\r\n" + headers + b"\r\n" + tail
        self._inner.write(data)


@dataclass
class Grade:
    """A grade of the gradebook, as Moodle keeps it: the score, the time in whole seconds."""

    given: float | None
    maximum: float | None
    progress: str
    timemodified: int | None


@dataclass
class LmsUser:
    sub: str
    email: str
    roles: list[str]
    name: str = ""
    sourcedid: str | None = None  # the student number the LMS knows


@dataclass
class Link:
    """A resource link of the LMS (one placement of the tool in a course)."""

    custom: dict[str, str]
    lineitem: str | None  # the line item the link's launches announce
    course: int = 1
    title: str = ""


@dataclass
class Platform:
    port: int = field(default_factory=free_port)
    key: RSAKey = field(default_factory=lambda: RSAKey.generate_key(2048, auto_kid=True))
    users: dict[str, LmsUser] = field(default_factory=dict)  # login_hint -> user
    tamper: set[str] = field(default_factory=set)  # forged, expired, audience, deployment, nonce
    custom: dict[str, str] = field(default_factory=dict)  # the link's custom parameters
    target_link_uri: str = "http://tool/lti/launch"
    auth_requests: list[dict[str, str]] = field(default_factory=list)
    tool_jwks_url: str = ""  # where the tool's public keys are (its registration)
    allowed_scopes: set[str] = field(default_factory=set)  # what the tool's registration may ask
    down: bool = False  # the token endpoint answers 503
    seen_jti: set[str] = field(default_factory=set)
    tokens: dict[str, set[str]] = field(default_factory=dict)  # access token -> its scopes
    link: str = "link-1"  # the resource link the next launch opens
    links: dict[str, Link] = field(default_factory=dict)  # made by deep linking (link-1 is built in)
    course: int = 1  # link-1's course
    announce_lineitem: bool = True  # link-1's launches name its line item (else only the container)
    deep_linking: bool = False  # the next launches are deep-linking requests
    line_items: dict[str, dict[str, Any]] = field(default_factory=dict)  # id (URL) -> line item
    scores: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # (line item, score) taken
    gradebook: dict[tuple[str, str], Grade] = field(default_factory=dict)  # (line item, user id)
    conflicts: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # refused with 409
    not_in_course: set[str] = field(default_factory=set)  # user ids whose scores are refused (400)
    refused: int = 0  # requests answered 503 while down
    deep_link_responses: list[dict[str, Any]] = field(default_factory=list)  # the tool's, verified
    signed_by: list[str] = field(default_factory=list)  # the kid of each tool JWT that verified
    roster_requests: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def issuer(self) -> str:
        return self.url

    def lti_yaml(self, tool_url: str) -> str:
        return (
            f"tool_url: {tool_url}\n"
            "platforms:\n"
            f"  - name: Test LMS\n    issuer: {self.issuer}\n    client_id: {CLIENT_ID}\n"
            f"    auth_url: {self.url}/auth\n    token_url: {self.url}/token\n"
            f"    jwks_url: {self.url}/jwks\n    deployment_ids: [{DEPLOYMENT}]\n"
        )

    def id_token(self, user: LmsUser, nonce: str) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "aud": "someone-else" if "audience" in self.tamper else CLIENT_ID,
            "sub": user.sub,
            "email": user.email,
            "name": user.name,
            "iat": now - (7200 if "expired" in self.tamper else 0),
            "exp": now + (-3600 if "expired" in self.tamper else 300),
            "nonce": "not-the-nonce" if "nonce" in self.tamper else nonce,
            CLAIM + "version": "1.3.0",
            CLAIM + "deployment_id": "deployment-9" if "deployment" in self.tamper else DEPLOYMENT,
            CLAIM + "target_link_uri": self.target_link_uri,
            CLAIM + "roles": user.roles,
        }
        if user.sourcedid:
            claims[CLAIM + "lis"] = {"person_sourcedid": user.sourcedid}
        claims.update(self.deep_linking_claims() if self.deep_linking else self.link_claims())
        key = self.key
        if "forged" in self.tamper:  # an attacker's key that claims the platform's kid
            forged = RSAKey.generate_key(2048).as_dict(private=True)
            forged["kid"] = self.key.kid
            key = RSAKey.import_key(forged)
        return jwt.encode({"alg": "RS256", "kid": self.key.kid}, claims, key)

    def link_claims(self) -> dict[str, Any]:
        """A resource link launch: link-1 (the test's custom parameters and course), or a
        link deep linking made."""
        made = self.links.get(self.link)
        course = made.course if made else self.course
        lineitem = made.lineitem if made else f"{self.url}/courses/1/lineitems/1"
        ags: dict[str, Any] = {
            "scope": sorted(self.allowed_scopes),
            "lineitems": f"{self.url}/courses/{course}/lineitems",
        }
        if lineitem and (made or self.announce_lineitem):
            ags["lineitem"] = lineitem
        return {
            CLAIM + "message_type": "LtiResourceLinkRequest",
            CLAIM + "resource_link": {"id": self.link},
            CLAIM + "custom": dict(made.custom if made else self.custom),
            CLAIM + "context": {"id": f"course-{course}", "title": "Mathematics of Deep Learning"},
            AGS_CLAIM: ags,
            NRPS_CLAIM: {
                "context_memberships_url": f"{self.url}/courses/{course}/memberships",
                "service_versions": ["2.0"],
            },
        }

    def deep_linking_claims(self) -> dict[str, Any]:
        return {
            CLAIM + "message_type": "LtiDeepLinkingRequest",
            CLAIM + "context": {"id": "course-1", "title": "Mathematics of Deep Learning"},
            DL_CLAIM + "deep_linking_settings": {
                "deep_link_return_url": f"{self.url}/deep_link_return",
                "accept_types": ["ltiResourceLink"],
                "accept_presentation_document_targets": ["iframe", "window"],
                "accept_multiple": False,
                "accept_lineitem": True,
                "data": DEEP_LINK_DATA,
            },
        }

    def app(self) -> FastAPI:
        app = FastAPI()
        self.grade_routes(app)
        self.roster_routes(app)
        self.deep_link_routes(app)

        @app.get("/favicon.ico")
        def favicon() -> Response:
            return Response(status_code=204)

        @app.get("/jwks")
        def jwks() -> JSONResponse:
            public = self.key.as_dict(private=False)
            public.update({"use": "sig", "alg": "RS256"})
            return JSONResponse({"keys": [public]})

        @app.get("/auth")
        def auth(request: Request) -> HTMLResponse:
            query = dict(request.query_params)
            self.auth_requests.append(query)
            problems = [
                name
                for name, wanted in (
                    ("scope", "openid"),
                    ("response_type", "id_token"),
                    ("response_mode", "form_post"),
                    ("client_id", CLIENT_ID),
                )
                if query.get(name) != wanted
            ]
            user = self.users.get(query.get("login_hint", ""))
            if problems or user is None or not query.get("nonce") or not query.get("state"):
                return HTMLResponse(f"bad authorization request: {problems}", status_code=400)
            token = self.id_token(user, query["nonce"])
            form = (
                f"<form method='post' action='{escape(query['redirect_uri'])}'>"
                f"<input type='hidden' name='id_token' value='{escape(token)}'>"
                f"<input type='hidden' name='state' value='{escape(query['state'])}'></form>"
            )
            return HTMLResponse(f"<html><body onload='document.forms[0].submit()'>{form}</body></html>")

        @app.post("/token")
        async def token(request: Request) -> JSONResponse:
            if self.down:
                self.refused += 1
                return JSONResponse({"error": "temporarily_unavailable"}, status_code=503)
            form = {k: str(v) for k, v in (await request.form()).items()}
            refused = self.check_client_assertion(form)
            if refused:
                return JSONResponse(
                    {"error": "invalid_client", "error_description": refused}, status_code=401
                )
            wanted = set(form.get("scope", "").split())
            if not wanted or not wanted <= self.allowed_scopes:
                return JSONResponse({"error": "invalid_scope"}, status_code=400)
            access = uuid.uuid4().hex
            self.tokens[access] = wanted
            return JSONResponse(
                {
                    "access_token": access,
                    "token_type": "Bearer",
                    "expires_in": 3600,
                    "scope": " ".join(wanted),
                }
            )

        return app

    def refusal(self, request: Request, scopes: set[str]) -> JSONResponse | None:
        """503 while down; 401 without a token this platform issued; 403 when the token has
        none of ``scopes``."""
        if self.down:
            self.refused += 1
            return JSONResponse({"error": "temporarily_unavailable"}, status_code=503)
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        granted = self.tokens.get(token.strip()) if scheme.lower() == "bearer" else None
        if granted is None:
            return JSONResponse({"error": "invalid_token"}, status_code=401)
        if not granted & scopes:
            return JSONResponse({"error": "insufficient_scope"}, status_code=403)
        return None

    def grade_routes(self, app: FastAPI) -> None:
        """Assignment and Grade Services: line items (list, make) and scores."""

        @app.get("/courses/{course}/lineitems")
        def line_items(course: int, request: Request) -> Response:
            refused = self.refusal(request, {SCOPE_LINEITEM, SCOPE_LINEITEM_READ})
            if refused:
                return refused
            wanted = request.query_params.get("resource_id")
            found = [
                item
                for item in self.line_items.values()
                if item["course"] == course and (wanted is None or item.get("resourceId") == wanted)
            ]
            public = [{k: v for k, v in item.items() if k != "course"} for item in found]
            return JSONResponse(public, media_type=CONTAINER_TYPE)

        @app.post("/courses/{course}/lineitems")
        async def make_line_item(course: int, request: Request) -> Response:
            refused = self.refusal(request, {SCOPE_LINEITEM})
            if refused:
                return refused
            body = await request.json()
            problem = line_item_problem(request.headers.get("content-type"), body)
            if problem:
                return JSONResponse({"error": problem}, status_code=400)
            item = self.add_line_item(course, body)
            return JSONResponse(
                {k: v for k, v in item.items() if k != "course"}, status_code=201, media_type=LINEITEM_TYPE
            )

        @app.post("/courses/{course}/lineitems/{number}/scores")
        async def score(course: int, number: str, request: Request) -> Response:
            refused = self.refusal(request, {SCOPE_SCORE})
            if refused:
                return refused
            lineitem = f"{self.url}/courses/{course}/lineitems/{number}"
            if lineitem not in self.line_items:
                return JSONResponse({"error": "no such line item"}, status_code=404)
            body = await request.json()
            problem = score_problem(request.headers.get("content-type"), body)
            if problem or body["userId"] in self.not_in_course:
                return moodle_refusal(400, "Incorrect score received")
            return self.take_score(lineitem, number, body)

    def take_score(self, lineitem: str, number: str, body: dict[str, Any]) -> Response:
        """Moodle's rule: a later second than the grade's, and a score only when fully graded."""
        second = int(dt.datetime.fromisoformat(body["timestamp"]).timestamp())
        user = body["userId"]
        grade = self.gradebook.get((lineitem, user))
        if grade is not None and grade.timemodified is not None and grade.timemodified >= second:
            self.conflicts.append((lineitem, body))
            return moodle_refusal(
                409, f"Refusing score with an earlier timestamp for item {number} and user {user}"
            )
        graded = body["gradingProgress"] == "FullyGraded" and body.get("scoreGiven") is not None
        self.gradebook[(lineitem, user)] = Grade(
            body.get("scoreGiven") if graded else None,
            body.get("scoreMaximum"),
            body["gradingProgress"],
            second if graded else None,
        )
        self.scores.append((lineitem, body))
        return JSONResponse([], media_type="application/json")

    def add_line_item(self, course: int, body: dict[str, Any]) -> dict[str, Any]:
        number = len(self.line_items) + 1
        item = {**body, "id": f"{self.url}/courses/{course}/lineitems/{number}", "course": course}
        self.line_items[item["id"]] = item
        return item

    def roster_routes(self, app: FastAPI) -> None:
        """Names and Role Provisioning: every user is a member of every course, listed over
        two pages."""

        @app.get("/courses/{course}/memberships")
        def memberships(course: int, request: Request) -> Response:
            refused = self.refusal(request, {SCOPE_ROSTER})
            if refused:
                return refused
            if request.headers.get("accept") != MEMBERSHIP_TYPE:
                return JSONResponse({"error": "accept"}, status_code=406)
            self.roster_requests += 1
            members = [self.member(user) for user in self.users.values()]
            half = (len(members) + 1) // 2
            url = f"{self.url}/courses/{course}/memberships"
            second = request.query_params.get("page") == "2"
            body = {
                "id": url,
                "context": {"id": f"course-{course}", "title": "Mathematics of Deep Learning"},
                "members": members[half:] if second else members[:half],
            }
            headers = {} if second else {"Link": f'<{url}?page=2>; rel="next"'}
            return JSONResponse(body, headers=headers, media_type=MEMBERSHIP_TYPE)

    def member(self, user: LmsUser) -> dict[str, Any]:
        member: dict[str, Any] = {
            "status": "Active",
            "name": user.name,
            "email": user.email,
            "user_id": user.sub,
            "roles": user.roles,
        }
        if user.sourcedid:
            member["lis_person_sourcedid"] = user.sourcedid
        return member

    def deep_link_routes(self, app: FastAPI) -> None:
        @app.post("/deep_link_return")
        async def deep_link_return(request: Request) -> HTMLResponse:
            form = {k: str(v) for k, v in (await request.form()).items()}
            claims, problem = self.check_deep_link_response(form.get("JWT", ""))
            if problem:
                return HTMLResponse(f"refused: {escape(problem)}", status_code=400)
            self.deep_link_responses.append(claims)
            for item in claims[DL_CLAIM + "content_items"]:
                self.add_link(item)
            return HTMLResponse("<p>The assignment was added.</p>")

    def add_link(self, item: dict[str, Any]) -> None:
        """A content item becomes a link, and its lineItem a line item of the link."""
        link_id = f"link-dl-{len(self.links) + 1}"
        lineitem = None
        if isinstance(item.get("lineItem"), dict):
            lineitem = self.add_line_item(1, {**item["lineItem"], "resourceLinkId": link_id})["id"]
        self.links[link_id] = Link(dict(item.get("custom") or {}), lineitem, 1, str(item.get("title")))

    def check_deep_link_response(self, token: str) -> tuple[dict[str, Any], str]:
        """The tool's deep-linking response, verified as a platform does ("" when good)."""
        try:
            claims = dict(self.verify_tool_jwt(token))
        except Exception as error:  # a refusal, whatever went wrong
            return {}, f"signature: {error}"
        expected = {
            "iss": CLIENT_ID,
            "aud": self.issuer,
            CLAIM + "message_type": "LtiDeepLinkingResponse",
            CLAIM + "version": "1.3.0",
            CLAIM + "deployment_id": DEPLOYMENT,
            DL_CLAIM + "data": DEEP_LINK_DATA,
        }
        wrong = [name for name, value in expected.items() if claims.get(name) != value]
        if wrong:
            return claims, f"wrong {wrong}"
        if not claims.get("nonce") or not claims.get("exp") or claims["exp"] < time.time():
            return claims, "nonce/exp"
        items = claims.get(DL_CLAIM + "content_items")
        if not isinstance(items, list) or not all(i.get("type") == "ltiResourceLink" for i in items):
            return claims, "content_items"
        return claims, ""

    def verify_tool_jwt(self, token: str) -> dict[str, Any]:
        """The claims of a JWT the tool signed, checked against the tool's JWKS as fetched now
        (by the ``kid`` of its header); its kid is noted in ``signed_by``."""
        keyset = KeySet.import_key_set(httpx.get(self.tool_jwks_url, timeout=10).json())
        decoded = jwt.decode(token, keyset, algorithms=["RS256"])
        self.signed_by.append(str(decoded.header.get("kid")))
        return dict(decoded.claims)

    def check_client_assertion(self, form: dict[str, str]) -> str:
        """Why the tool's client assertion is refused ("" when it is good): signed by a key of
        the tool's JWKS, iss and sub the client id, aud the token URL, fresh, jti unseen."""
        if form.get("grant_type") != "client_credentials":
            return "grant_type"
        if form.get("client_assertion_type") != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer":
            return "client_assertion_type"
        try:
            claims = self.verify_tool_jwt(form.get("client_assertion", ""))
        except Exception as error:  # a refusal, whatever went wrong
            return f"signature: {error}"
        now = time.time()
        if claims.get("iss") != CLIENT_ID or claims.get("sub") != CLIENT_ID:
            return "iss/sub"
        if claims.get("aud") not in (f"{self.url}/token", [f"{self.url}/token"]):
            return "aud"
        if not claims.get("exp") or claims["exp"] < now or claims.get("iat", now + 999) > now + 60:
            return "exp/iat"
        if not claims.get("jti") or claims["jti"] in self.seen_jti:
            return "jti"
        self.seen_jti.add(claims["jti"])
        return ""

    def add_user(self, hint: str, roles: list[str], sourcedid: str | None = None) -> LmsUser:
        name = f"{hint.capitalize()} Example"
        user = LmsUser(str(uuid.uuid4()), f"{hint}@uni.example", roles, name, sourcedid)
        self.users[hint] = user
        return user

    def scores_of(self, user: LmsUser) -> list[tuple[str, dict[str, Any]]]:
        return [(lineitem, score) for lineitem, score in self.scores if score["userId"] == user.sub]

    def grade_of(self, user: LmsUser, lineitem: str) -> Grade | None:
        """What the gradebook shows for ``user`` in ``lineitem``."""
        return self.gradebook.get((lineitem, user.sub))

    def start(self) -> None:
        self.line_items[f"{self.url}/courses/1/lineitems/1"] = {
            "id": f"{self.url}/courses/1/lineitems/1",
            "label": "Homework 1",
            "scoreMaximum": 100,
            "resourceLinkId": "link-1",
            "course": 1,
        }
        config = uvicorn.Config(
            self.app(), host="127.0.0.1", port=self.port, log_level="warning", http=StatusReasons
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("the test platform did not start")
            time.sleep(0.05)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(30)


class AutoPostForm(HTMLParser):
    """The form a browser would post on its own: its action and hidden fields."""

    def __init__(self, page: str):
        super().__init__()
        self.action = ""
        self.fields: dict[str, str] = {}
        self.feed(page)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag == "form":
            self.action = values.get("action", "")
        elif tag == "input":
            self.fields[values.get("name", "")] = values.get("value", "")


class PageForms(HTMLParser):
    """Every form of a page: its action and its fields (hidden or not)."""

    def __init__(self, page: str):
        super().__init__()
        self.forms: list[tuple[str, dict[str, str]]] = []
        self.feed(page)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag == "form":
            self.forms.append((values.get("action", ""), {}))
        elif tag in ("input", "textarea") and self.forms and values.get("name"):
            self.forms[-1][1][values["name"]] = values.get("value", "")

    def with_field(self, name: str, value: str) -> tuple[str, dict[str, str]]:
        return next(form for form in self.forms if form[1].get(name) == value)


def moodle_refusal(status: int, reason: str) -> Response:
    """A refusal as Moodle answers one: the reason in the status line, ``[]`` as the body."""
    return Response("[]", status_code=status, headers={REASON_HEADER.decode(): reason})


def line_item_problem(content_type: str | None, body: dict[str, Any]) -> str:
    if content_type != LINEITEM_TYPE:
        return "content type"
    if not isinstance(body.get("scoreMaximum"), int | float) or body["scoreMaximum"] <= 0:
        return "scoreMaximum"
    return "" if body.get("label") else "label"


def score_problem(content_type: str | None, body: dict[str, Any]) -> str:
    """What is wrong with a posted score ("" when nothing): the fields AGS requires."""
    if content_type != SCORE_TYPE:
        return "content type"
    if not isinstance(body.get("userId"), str) or not body["userId"]:
        return "userId"
    if body.get("activityProgress") not in ACTIVITY or body.get("gradingProgress") not in GRADING:
        return "progress"
    given, maximum = body.get("scoreGiven"), body.get("scoreMaximum")
    if given is not None and (not isinstance(maximum, int | float) or not 0 <= given <= maximum):
        return "scoreGiven/scoreMaximum"
    try:
        stamp = dt.datetime.fromisoformat(str(body.get("timestamp")))
    except ValueError:
        return "timestamp"
    return "" if stamp.tzinfo is not None else "timestamp without a time zone"
