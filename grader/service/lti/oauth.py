"""OAuth2 client credentials for the LTI Advantage services (AGS, NRPS): a JWT signed by the
tool's key (RFC 7523 ``client_assertion``) gets a bearer token, cached until shortly before
it expires."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from typing import Any

import httpx
from joserfc.jwk import RSAKey

from grader.service.lti.keys import sign
from grader.service.lti.registration import Platform

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
SCOPE_LINEITEM = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem"
SCOPE_SCORE = "https://purl.imsglobal.org/spec/lti-ags/scope/score"
SCOPE_ROSTER = "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly"
EARLY_SECONDS = 60  # a cached token is renewed this long before it expires


class TokenError(RuntimeError):
    """The platform gave no token (down, or refused): the caller retries later."""


def client_assertion(platform: Platform, key: RSAKey) -> str:
    claims = {"iss": platform.client_id, "sub": platform.client_id, "aud": str(platform.token_url)}
    return sign(key, {**claims, "jti": secrets.token_urlsafe(24)}, 300)


class AccessTokens:
    """Bearer tokens per (platform, scopes). ``key`` signs the assertions: a key, or what gives the
    current one (``ToolKeys.current``: a rotated key signs the next assertion)."""

    def __init__(self, key: RSAKey | Callable[[], RSAKey]):
        self._key = key
        self._cache: dict[tuple[str, str, str], tuple[float, str]] = {}  # threads share it: one step each

    def token(self, platform: Platform, scopes: tuple[str, ...]) -> str:
        scope = " ".join(sorted(set(scopes)))
        cache_key = (platform.issuer, platform.client_id, scope)
        cached = self._cache.get(cache_key)
        if cached and cached[0] - EARLY_SECONDS > time.monotonic():
            return cached[1]
        body = self._request(platform, scope)
        expires = time.monotonic() + float(body.get("expires_in") or 3600)
        self._cache[cache_key] = (expires, str(body["access_token"]))
        return str(body["access_token"])

    def key(self) -> RSAKey:
        return self._key if isinstance(self._key, RSAKey) else self._key()

    def forget(self, platform: Platform) -> None:
        """Drop the platform's cached tokens (it refused one: revoked, or expired early)."""
        for key in list(self._cache):
            if key[:2] == (platform.issuer, platform.client_id):
                self._cache.pop(key, None)

    def _request(self, platform: Platform, scope: str) -> dict[str, Any]:
        form = {
            "grant_type": "client_credentials",
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": client_assertion(platform, self.key()),
            "scope": scope,
        }
        try:
            response = httpx.post(str(platform.token_url), data=form, timeout=15)
        except httpx.HTTPError as error:
            raise TokenError(f"the platform's token endpoint did not answer: {error}") from error
        if response.status_code != 200:
            raise TokenError(f"the platform refused a token ({response.status_code}): {response.text[:300]}")
        try:
            body: dict[str, Any] = response.json()
        except ValueError as error:
            raise TokenError("the platform's token answer is not JSON") from error
        if not isinstance(body, dict) or not body.get("access_token"):
            raise TokenError("the platform's token answer has no access_token")
        granted = set(str(body.get("scope") or scope).split())
        if not set(scope.split()) <= granted:
            raise TokenError(f"the platform granted only {sorted(granted)}; the tool asked for {scope}")
        return body
