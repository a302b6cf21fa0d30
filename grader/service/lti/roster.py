"""Names and Role Provisioning: the LMS course's roster, fetched when a TA asks, kept in
``lti_members``, and given to the Canvas and Moodle exports in place of ``roster.csv``.

The memberships URL is the one the launches announce (``lti_links``); the tool asks for it
with a client-credentials token of the ``contextmembership.readonly`` scope and follows the
``Link: rel="next"`` pages (on the same host only: the bearer token goes nowhere else).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
from sqlalchemy.orm import Session

from grader.reporting.lms import Roster
from grader.service.crud import lti
from grader.service.crud.lti import find_or_add
from grader.service.db import Database
from grader.service.lti.courses import update_member
from grader.service.lti.oauth import SCOPE_ROSTER, AccessTokens
from grader.service.lti.registration import LtiConfig, Platform
from grader.service.models import LtiMember, utcnow

MEMBERSHIP_TYPE = "application/vnd.ims.lti-nrps.v2.membershipcontainer+json"
MAX_PAGES = 500
LEFT = "Deleted"  # NRPS's status of a member no longer in the course


class RosterError(RuntimeError):
    """The roster could not be fetched (the message says why)."""


@dataclass(frozen=True)
class Source:
    """One LMS course's memberships endpoint."""

    issuer: str
    client_id: str
    context_id: str
    url: str


@dataclass(frozen=True)
class Synced:
    context_id: str
    members: int
    pages: int


def sources(db: Session) -> list[Source]:
    """The memberships URL of every LMS course the tool was launched from (the newest one
    its links announced)."""
    found: dict[tuple[str, str], Source] = {}
    for link in lti.roster_links(db):
        context = str(link.context_id)
        found[(link.issuer, context)] = Source(
            link.issuer, link.client_id, context, str(link.memberships_url)
        )
    return list(found.values())


def sync_rosters(database: Database, config: LtiConfig, tokens: AccessTokens) -> list[Synced]:
    """Fetch and store the roster of every LMS course; RosterError when one cannot be had."""
    with database.session() as db:
        found = sources(db)
    if not found:
        raise RosterError(
            "no LMS course has announced its roster yet: launch the tool from the course once "
            "(with the Names and Role Provisioning service enabled)"
        )
    synced = []
    with httpx.Client(timeout=15) as http:
        for source in found:
            platform = config.find(source.issuer, source.client_id)
            if platform is None:
                continue
            members, pages = fetch_members(http, tokens, platform, source.url)
            with database.session() as db:
                store_members(db, source, members)
            synced.append(Synced(source.context_id, len(members), pages))
    return synced


def fetch_members(
    http: httpx.Client, tokens: AccessTokens, platform: Platform, url: str
) -> tuple[list[dict[str, Any]], int]:
    """Every member on every page, and how many pages there were."""
    token = tokens.token(platform, (SCOPE_ROSTER,))
    headers = {"Accept": MEMBERSHIP_TYPE, "Authorization": f"Bearer {token}"}
    members: list[dict[str, Any]] = []
    seen: set[str] = set()
    page: str | None = url
    while page is not None and page not in seen and len(seen) < MAX_PAGES:
        seen.add(page)
        try:
            response = http.get(page, headers=headers)
            body = response.json() if response.is_success else None
        except (httpx.HTTPError, ValueError) as error:
            raise RosterError(f"the LMS's roster could not be read: {error}") from error
        if not isinstance(body, dict):
            raise RosterError(f"the LMS refused the roster ({response.status_code}): {response.text[:300]}")
        members += [m for m in body.get("members") or [] if isinstance(m, dict) and m.get("user_id")]
        page = _next_page(response, url)
    return members, len(seen)


def _next_page(response: httpx.Response, first: str) -> str | None:
    following = response.links.get("next", {}).get("url")
    if not following:
        return None
    start, then = urlsplit(first), urlsplit(following)
    if (start.scheme, start.netloc) != (then.scheme, then.netloc):
        raise RosterError(f"the roster's next page is on another host ({then.netloc}); not followed")
    return str(following)


def store_members(db: Session, source: Source, members: list[dict[str, Any]]) -> None:
    """The members as the LMS lists them now; those it no longer lists are marked as left,
    whether grader knew them from an earlier fetch or only from a launch (never fetched)."""
    now = utcnow()
    for data in members:
        keys = {"issuer": source.issuer, "context_id": source.context_id, "subject": str(data["user_id"])}
        member = find_or_add(db, LtiMember, keys)
        update_member(member, data)
        member.synced_at = now
    db.flush()
    for member in lti.members_not_listed(db, source.issuer, source.context_id, now, LEFT):
        member.status, member.updated_at = LEFT, now


def lms_roster(db: Session) -> Roster | None:
    """The roster of the LMS courses whose roster was fetched, in the form the Canvas and
    Moodle exports read (a row per service user, by user name); None when none was, or when
    it names none of the service's users."""
    members = lti.synced_members(db)
    if not members:
        return None
    matched = match_members(db, members)
    rows = {
        name: _row(name, member)
        for member in members
        if (name := matched.users.get((member.issuer, member.subject))) is not None
    }
    columns = ("folder", "student", "name", "email", "idnumber", "sisuserid")
    return Roster(rows, columns) if rows else None


@dataclass(frozen=True)
class Matched:
    users: dict[tuple[str, str], str]  # (issuer, LMS user id) -> service user name
    ambiguous: dict[str, list[LtiMember]]  # a user name several members match: none is linked


def match_members(db: Session, members: list[LtiMember]) -> Matched:
    """Each member's service user. A member linked by a launch keeps their user. Another
    matches, by their student number or their e-mail's local part (as ``grader users add``
    names them), only a user no launch linked, and only when no other member matches the
    same user: a name match never takes another student's row."""
    linked = lti.linked_users(db)
    free = lti.user_names(db) - set(linked.values())
    users: dict[tuple[str, str], str] = {}
    candidates: dict[tuple[str, str], set[str]] = {}
    claimants: dict[str, dict[tuple[str, str], LtiMember]] = {}
    for member in members:
        key = (member.issuer, member.subject)
        if key in linked:
            users[key] = linked[key]
            continue
        local = (member.email or "").split("@", 1)[0]
        candidates[key] = {name for name in (member.sourcedid, local) if name and name in free}
        for name in candidates[key]:
            claimants.setdefault(name, {})[key] = member
    ambiguous: dict[str, list[LtiMember]] = {}
    for key, names in candidates.items():
        if len(names) == 1 and len(claimants[next(iter(names))]) == 1:
            users[key] = next(iter(names))
            continue
        for name in names:  # several members match one user, or one member two users
            ambiguous[name] = list(claimants[name].values())
    return Matched(users, ambiguous)


def unmatched(db: Session) -> list[str]:
    """What the TA is told: each user several roster members match (none is linked)."""
    found = match_members(db, lti.synced_members(db)).ambiguous
    return [
        f"{name}: matched by {', '.join(member.name or member.email or member.subject for member in members)}"
        for name, members in sorted(found.items())
    ]


def _row(name: str, member: LtiMember) -> dict[str, str]:
    return {
        "folder": name,
        "student": member.name or name,
        "name": member.name or name,
        "email": member.email or "",
        "idnumber": member.sourcedid or "",
        "sisuserid": member.sourcedid or "",
    }
