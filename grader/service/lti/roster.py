"""Names and Role Provisioning: the LMS course's roster, fetched when a TA asks, kept in
``lti_members``, and given to the Canvas and Moodle exports in place of ``roster.csv``
(docs/lms.md). ``Link: rel="next"`` pages are followed on the same host only: the bearer
token goes nowhere else."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple
from urllib.parse import urlsplit

import httpx
from sqlalchemy.orm import Session

from grader.course.lti import LtiConfig, Platform
from grader.reporting.lms import Roster
from grader.service.crud import lti
from grader.service.db import Database
from grader.service.lti.keys import SCOPE_ROSTER, AccessTokens
from grader.service.lti.launch import update_member
from grader.service.models import LtiMember, User, utcnow

MEMBERSHIP_TYPE = "application/vnd.ims.lti-nrps.v2.membershipcontainer+json"
MAX_PAGES = 500
LEFT = "Deleted"  # NRPS's status of a member no longer in the course


class RosterError(RuntimeError):
    """The roster could not be fetched (the message says why)."""


class Synced(NamedTuple):
    context_id: str
    members: int
    pages: int


def sync_rosters(database: Database, config: LtiConfig, tokens: AccessTokens) -> list[Synced]:
    """Fetch and store the roster of every LMS course; RosterError when one cannot be had."""
    with database.session() as db:  # the newest link of each LMS course that announced its roster
        found = {(link.issuer, link.context_id): link for link in lti.roster_links(db)}
    if not found:
        raise RosterError(
            "no LMS course has announced its roster yet: launch the tool from the course once "
            "(with the Names and Role Provisioning service enabled)"
        )
    synced = []
    with httpx.Client(timeout=15) as http:
        for (issuer, context), link in found.items():
            platform = config.find(issuer, link.client_id)
            if platform is None:
                continue
            members, pages = fetch_members(http, tokens, platform, str(link.memberships_url))
            with database.session() as db:
                store_members(db, issuer, str(context), members)
            synced.append(Synced(str(context), len(members), pages))
    return synced


def fetch_members(
    http: httpx.Client, tokens: AccessTokens, platform: Platform, url: str
) -> tuple[list[dict[str, Any]], int]:
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


def store_members(db: Session, issuer: str, context: str, members: list[dict[str, Any]]) -> None:
    """The members as the LMS lists them now; those it no longer lists (from a fetch or a launch) left."""
    now = utcnow()
    for data in members:
        keys = {"issuer": issuer, "context_id": context, "subject": str(data["user_id"])}
        member = lti.find_or_add(db, LtiMember, keys)
        update_member(member, data)
        member.synced_at = now
    for member in lti.find_all(db, LtiMember, issuer=issuer, context_id=context):
        if (member.synced_at is None or member.synced_at < now) and member.status != LEFT:
            member.status, member.updated_at = LEFT, now


def synced_members(db: Session) -> list[LtiMember]:
    """The members of the LMS courses whose roster was fetched, oldest news first."""
    members = lti.find_all(db, LtiMember, LtiMember.updated_at, LtiMember.id)
    synced = {(member.issuer, member.context_id) for member in members if member.synced_at is not None}
    return [member for member in members if (member.issuer, member.context_id) in synced]


def lms_roster(database: Database) -> Roster | None:
    """The fetched rosters as the Canvas and Moodle exports read them (a row per service user,
    by user name); None when none names a service user."""
    with database.session() as db:
        members = synced_members(db)
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
    free = {user.name for user in lti.find_all(db, User)} - set(linked.values())
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
    for name, claiming in claimants.items():
        key, *others = claiming
        if not others and candidates[key] == {name}:
            users[key] = name
        else:  # several members match one user, or one member two users
            ambiguous[name] = list(claiming.values())
    return Matched(users, ambiguous)


def unmatched(db: Session) -> list[str]:
    """What the TA is told: each user several roster members match (none is linked)."""
    found = match_members(db, synced_members(db)).ambiguous
    return [
        f"{name}: matched by {', '.join(member.name or member.email or member.subject for member in members)}"
        for name, members in sorted(found.items())
    ]


def _row(name: str, member: LtiMember) -> dict[str, str]:
    shown, number = member.name or name, member.sourcedid or ""
    return {
        "folder": name,
        "student": shown,
        "name": shown,
        "email": member.email or "",
        "idnumber": number,
        "sisuserid": number,
    }
