"""The tool's own RSA key: generated on first use, kept private (0600) in the service's data
folder, its public half served as a JWKS at ``/lti/jwks.json`` (what a platform asks for as
the tool's "public keyset URL"). joserfc does the JWK work."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from joserfc.jwk import KeySet, RSAKey

KEY_FILE = "lti-tool-key.json"
KEY_BITS = 2048


def key_path(data_dir: Path) -> Path:
    return data_dir / KEY_FILE


def tool_key(data_dir: Path) -> RSAKey:
    """The tool's signing key; made once. Creation is exclusive (O_EXCL), so two processes
    starting at once end up with the same key, and the file is never readable by others."""
    path = key_path(data_dir)
    if not path.exists():
        key = RSAKey.generate_key(KEY_BITS, private=True, auto_kid=True)
        data = json.dumps(key.as_dict(private=True)).encode()
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another process made it first: use theirs
        else:
            with os.fdopen(handle, "wb") as stream:
                stream.write(data)
                stream.flush()
                os.fsync(stream.fileno())
    return RSAKey.import_key(json.loads(path.read_text()))


def public_jwks(data_dir: Path) -> dict[str, Any]:
    """The JWKS a platform fetches to check what the tool signs (deep-linking responses,
    OAuth2 client assertions): public parts only."""
    key = tool_key(data_dir)
    public = key.as_dict(private=False)
    public.update({"use": "sig", "alg": "RS256"})
    return {"keys": [public]}


def platform_keyset(jwks: dict[str, Any]) -> KeySet:
    return KeySet.import_key_set(jwks)  # type: ignore[arg-type]
