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
from sqlalchemy import select
from sqlalchemy.orm import Session

from grader.reporting.lms import Roster
from grader.service.db import Database, User, utcnow
from grader.service.lti.courses import find_or_add, update_member
from grader.service.lti.models import LtiLink, LtiMember, LtiUser
from grader.service.lti.oauth import SCOPE_ROSTER, AccessTokens
from grader.service.lti.registration import LtiConfig, Platform

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
    links = db.scalars(
        select(LtiLink)
        .where(LtiLink.memberships_url.is_not(None), LtiLink.context_id.is_not(None))
        .order_by(LtiLink.updated_at)
    )
    for link in links:
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
    """The members as the LMS lists them now; those it no longer lists are marked as left."""
    now = utcnow()
    for data in members:
        keys = {"issuer": source.issuer, "context_id": source.context_id, "subject": str(data["user_id"])}
        member = find_or_add(db, LtiMember, keys)
        update_member(member, data)
        member.synced_at = now
    db.flush()
    gone = db.scalars(
        select(LtiMember).where(
            LtiMember.issuer == source.issuer,
            LtiMember.context_id == source.context_id,
            LtiMember.synced_at < now,
        )
    )
    for member in gone:
        member.status = LEFT


def lms_roster(db: Session) -> Roster | None:
    """The roster of the LMS courses whose roster was fetched, in the form the Canvas and
    Moodle exports read (a row per service user, by user name); None when none was, or when
    it names none of the service's users."""
    synced = set(
        db.execute(
            select(LtiMember.issuer, LtiMember.context_id).where(LtiMember.synced_at.is_not(None)).distinct()
        ).all()
    )
    if not synced:
        return None
    users = _service_users(db)
    rows: dict[str, dict[str, str]] = {}
    for member in db.scalars(select(LtiMember).order_by(LtiMember.updated_at)):
        name = _user_of(member, users)
        if (member.issuer, member.context_id) in synced and name is not None:
            rows[name] = _row(name, member)
    columns = ("folder", "student", "name", "email", "idnumber", "sisuserid")
    return Roster(rows, columns) if rows else None


@dataclass(frozen=True)
class _Users:
    linked: dict[tuple[str, str], str]  # (issuer, LMS user id) -> user name
    names: set[str]


def _service_users(db: Session) -> _Users:
    linked = db.execute(
        select(LtiUser.issuer, LtiUser.subject, User.name).join(User, User.id == LtiUser.user_id)
    ).all()
    return _Users({(i, s): n for i, s, n in linked}, set(db.scalars(select(User.name))))


def _user_of(member: LtiMember, users: _Users) -> str | None:
    """The member's service user: the one their launches made, else one named after their
    student number or the local part of their e-mail (as ``grader users add`` would)."""
    linked = users.linked.get((member.issuer, member.subject))
    if linked is not None:
        return linked
    local = (member.email or "").split("@", 1)[0]
    return next((name for name in (member.sourcedid, local) if name and name in users.names), None)


def _row(name: str, member: LtiMember) -> dict[str, str]:
    return {
        "folder": name,
        "student": member.name or name,
        "name": member.name or name,
        "email": member.email or "",
        "idnumber": member.sourcedid or "",
        "sisuserid": member.sourcedid or "",
    }
