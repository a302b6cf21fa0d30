"""A test LMS for the LTI tests: a small FastAPI app on a loopback port (uvicorn in a
thread) that plays the platform. It signs id_tokens with its own RSA key, serves its JWKS
and runs the OIDC authorization step (answering with the auto-posting form a browser would
receive). ``tamper`` spoils the next tokens the way an attacker would."""

from __future__ import annotations

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
from fastapi.responses import HTMLResponse, JSONResponse
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey

from grader.service.server import free_port

CLAIM = "https://purl.imsglobal.org/spec/lti/claim/"
CLIENT_ID = "grader-tool-1"
DEPLOYMENT = "deployment-1"
LEARNER = "http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"
INSTRUCTOR = "http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor"
TEACHING_ASSISTANT = "http://purl.imsglobal.org/vocab/lis/v2/membership/Instructor#TeachingAssistant"


@dataclass
class LmsUser:
    sub: str
    email: str
    roles: list[str]


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

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def issuer(self) -> str:
        return self.url

    def lti_yaml(self) -> str:
        return (
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
            "iat": now - (7200 if "expired" in self.tamper else 0),
            "exp": now + (-3600 if "expired" in self.tamper else 300),
            "nonce": "not-the-nonce" if "nonce" in self.tamper else nonce,
            CLAIM + "message_type": "LtiResourceLinkRequest",
            CLAIM + "version": "1.3.0",
            CLAIM + "deployment_id": "deployment-9" if "deployment" in self.tamper else DEPLOYMENT,
            CLAIM + "target_link_uri": self.target_link_uri,
            CLAIM + "resource_link": {"id": "link-1"},
            CLAIM + "roles": user.roles,
            CLAIM + "custom": dict(self.custom),
            CLAIM + "context": {"id": "course-1", "title": "Mathematics of Deep Learning"},
            "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint": {
                "scope": sorted(self.allowed_scopes),
                "lineitems": f"{self.url}/courses/1/lineitems",
                "lineitem": f"{self.url}/courses/1/lineitems/1",
            },
            "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice": {
                "context_memberships_url": f"{self.url}/courses/1/memberships",
                "service_versions": ["2.0"],
            },
        }
        key = self.key
        if "forged" in self.tamper:  # an attacker's key that claims the platform's kid
            forged = RSAKey.generate_key(2048).as_dict(private=True)
            forged["kid"] = self.key.kid
            key = RSAKey.import_key(forged)
        return jwt.encode({"alg": "RS256", "kid": self.key.kid}, claims, key)

    def app(self) -> FastAPI:
        app = FastAPI()

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

    def check_client_assertion(self, form: dict[str, str]) -> str:
        """Why the tool's client assertion is refused ("" when it is good): signed by a key of
        the tool's JWKS, iss and sub the client id, aud the token URL, fresh, jti unseen."""
        if form.get("grant_type") != "client_credentials":
            return "grant_type"
        if form.get("client_assertion_type") != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer":
            return "client_assertion_type"
        try:
            keyset = KeySet.import_key_set(httpx.get(self.tool_jwks_url, timeout=10).json())
            claims = jwt.decode(form.get("client_assertion", ""), keyset, algorithms=["RS256"]).claims
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

    def add_user(self, hint: str, roles: list[str]) -> LmsUser:
        user = LmsUser(sub=str(uuid.uuid4()), email=f"{hint}@uni.example", roles=roles)
        self.users[hint] = user
        return user

    def start(self) -> None:
        config = uvicorn.Config(self.app(), host="127.0.0.1", port=self.port, log_level="warning")
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
