"""The tool's own RSA keys, kept private (0600) in the service's data folder, their public
halves served at ``/lti/jwks.json`` (docs/lms.md, "Rotating the tool's key"). The current
key signs; the previous ones stay published until their grace ends, so that what they
signed still verifies. Every ``kid`` is the key's RFC 7638 thumbprint.

OAuth2 client credentials for the LTI Advantage services (AGS, NRPS): a JWT signed by the
tool's key (RFC 7523 ``client_assertion``) gets a bearer token, cached until shortly before
it expires."""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import httpx
from filelock import FileLock
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer, computed_field

from grader.core.files import write_atomic
from grader.course.lti import Platform
from grader.service.models import utcnow

KEY_FILE = "lti-tool-key.json"
LOCK_FILE = "lti-tool-key.lock"  # held while the key file is made or rotated
KEY_BITS = 2048
GRACE_DAYS = 7.0  # how long a previous key stays published after a rotation
FORMAT = 2  # the key file's format (1: one bare JWK)
PRIVATE_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi"})


def import_key(jwk: dict[str, Any] | RSAKey) -> RSAKey:
    """A stored private key, its ``kid`` always its RFC 7638 thumbprint."""
    if isinstance(jwk, RSAKey):
        return jwk
    key = RSAKey.import_key({name: value for name, value in jwk.items() if name != "kid"})
    key.ensure_kid()
    return key


PrivateKey = Annotated[
    RSAKey, BeforeValidator(import_key), PlainSerializer(lambda key: key.as_dict(private=True))
]


class ToolKey(BaseModel):
    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True, validate_by_name=True)

    key: PrivateKey = Field(alias="jwk")
    created: dt.datetime
    expires: dt.datetime | None = None  # a previous key: when it leaves the JWKS; None: current

    @computed_field  # type: ignore[prop-decorator]
    @property
    def kid(self) -> str:
        return str(self.key.kid)

    def live(self, now: dt.datetime) -> bool:
        return self.expires is None or self.expires > now

    @classmethod
    def new(cls, now: dt.datetime) -> ToolKey:
        return cls(key=RSAKey.generate_key(KEY_BITS, private=True, auto_kid=True), created=now)


class KeyRing(BaseModel):
    """The key file: the current key first, then the previous ones (some may have expired since)."""

    model_config = ConfigDict(frozen=True)

    format: int = FORMAT
    keys: tuple[ToolKey, ...]

    @property
    def current(self) -> ToolKey:
        return self.keys[0]

    def due(self, days: float, now: dt.datetime) -> bool:
        return self.current.created + dt.timedelta(days=days) <= now

    def rotated(self, fresh: ToolKey, grace: dt.timedelta) -> KeyRing:
        """``fresh`` as the current key; the others published until the grace ends at the
        latest (a shorter grace shortens theirs too), the expired ones dropped."""
        until = fresh.created + grace
        previous = (key.model_copy(update={"expires": min(key.expires or until, until)}) for key in self.keys)
        return KeyRing(keys=(fresh, *(key for key in previous if key.live(fresh.created))))

    @classmethod
    def loads(cls, text: str, written: dt.datetime) -> KeyRing:
        data = json.loads(text)
        if "kty" in data:  # the one-key file of before: its key stays current, dated by the file
            return cls(keys=(ToolKey(key=data, created=written),))
        return cls.model_validate(data)


class ToolKeys:
    """The key file, read again when it changes (another process rotated). With ``rotate_days``,
    the current key is replaced when it is that old, before it signs (one server does, by a lock)."""

    def __init__(self, data_dir: Path, rotate_days: float | None = None):
        self.path = data_dir / KEY_FILE
        self.rotate_days = rotate_days
        self._cached: tuple[tuple[int, int, int], KeyRing] | None = None

    def ring(self) -> KeyRing:
        """The key set as it is on disk; one new key when there is none yet."""
        ring = self._read()
        if ring is None:
            with self._locked():
                ring = self._read()
                if ring is None:
                    ring = KeyRing(keys=(ToolKey.new(utcnow()),))
                    self._write(ring)
        return ring

    def current(self) -> RSAKey:
        ring = self.ring()
        if self.rotate_days is not None and ring.due(self.rotate_days, utcnow()):
            ring = self.rotate(older_than_days=self.rotate_days)
        return ring.current.key

    def rotate(self, grace_days: float = GRACE_DAYS, older_than_days: float | None = None) -> KeyRing:
        """A new current key; the others stay published for ``grace_days`` at most. With
        ``older_than_days``, only when the current key is that old."""
        with self._locked():
            ring, now = self._read(), utcnow()
            if ring is not None and older_than_days is not None and not ring.due(older_than_days, now):
                return ring
            fresh = ToolKey.new(now)
            ring = (
                KeyRing(keys=(fresh,)) if ring is None else ring.rotated(fresh, dt.timedelta(days=grace_days))
            )
            self._write(ring)
        return ring

    def verification_keys(self) -> KeySet:
        """The keys whose signatures still count: the current one and those in grace."""
        return KeySet([key.key for key in self.ring().keys if key.live(utcnow())])

    def public_jwks(self) -> dict[str, Any]:
        """The public halves of the keys in grace, the current one first."""
        jwks = self.verification_keys().as_dict(private=False, use="sig", alg="RS256")
        return {"keys": [{k: v for k, v in key.items() if k not in PRIVATE_MEMBERS} for key in jwks["keys"]]}

    def _read(self) -> KeyRing | None:
        try:
            with self.path.open("rb") as stream:
                stat = os.fstat(stream.fileno())
                stamp, cached = (stat.st_ino, stat.st_mtime_ns, stat.st_size), self._cached
                if cached is not None and cached[0] == stamp:
                    return cached[1]
                ring = KeyRing.loads(stream.read().decode(), dt.datetime.fromtimestamp(stat.st_mtime, dt.UTC))
        except FileNotFoundError:
            return None
        self._cached = (stamp, ring)  # one assignment: threads share it without a lock
        return ring

    def _write(self, ring: KeyRing) -> None:
        # a temporary file, then os.replace
        write_atomic(self.path, ring.model_dump_json(by_alias=True, indent=1), mode=0o600)

    def _locked(self) -> FileLock:
        return FileLock(self.path.parent / LOCK_FILE, mode=0o600)


def sign(key: RSAKey, claims: dict[str, Any], seconds: int) -> str:
    now = int(time.time())
    return jwt.encode(
        {"alg": "RS256", "kid": key.kid, "typ": "JWT"}, {**claims, "iat": now, "exp": now + seconds}, key
    )


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
