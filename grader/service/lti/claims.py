"""The claims of an LTI 1.3 id_token the tool reads, by name, and the assignment a link opens."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlparse

CLAIM = "https://purl.imsglobal.org/spec/lti/claim/"
AGS_CLAIM = "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"
NRPS_CLAIM = "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice"
DL_SETTINGS_CLAIM = "https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings"


def assignment_of(claims: dict[str, Any]) -> str | None:
    """The problem set the link opens: the link's custom parameter ``assignment``, else an
    ``?assignment=`` on its target link URI (what Canvas sends for a URL typed in an
    "External Tool" assignment). Both are inside the signed token."""
    custom = claims.get(CLAIM + "custom") or {}
    name = custom.get("assignment") if isinstance(custom, dict) else None
    if not name:
        query = parse_qs(urlparse(str(claims.get(CLAIM + "target_link_uri") or "")).query)
        name = next(iter(query.get("assignment", [])), None)
    return str(name) if name else None
