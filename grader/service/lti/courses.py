"""What a launch tells about the LMS course (the LTI context) it comes from: where an
assignment's scores go (the AGS endpoint, kept per platform, context and assignment) and
who is in the course (the launching user; the roster service adds everyone)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from grader.service.crud.lti import find_or_add
from grader.service.lti.claims import AGS_CLAIM, CLAIM, assignment_of
from grader.service.lti.registration import Platform
from grader.service.models import LtiLineItem, LtiMember, utcnow

LIS_CLAIM = CLAIM + "lis"


def context_of(claims: dict[str, Any]) -> str | None:
    context = claims.get(CLAIM + "context") or {}
    found = context.get("id") if isinstance(context, dict) else None
    return str(found) if found else None


def record_line_item(db: Session, claims: dict[str, Any], platform: Platform) -> LtiLineItem | None:
    """Remember where this assignment's scores go in this LMS course, from the launch's AGS
    claim; None when the launch has no such claim, context or known assignment."""
    ags, context, assignment = claims.get(AGS_CLAIM), context_of(claims), assignment_of(claims)
    if not isinstance(ags, dict) or not context or not assignment:
        return None
    deployment = str(claims[CLAIM + "deployment_id"])
    keys = {
        "issuer": platform.issuer,
        "client_id": platform.client_id,
        "context_id": context,
        "assignment": assignment,
    }
    item = find_or_add(db, LtiLineItem, keys, deployment_id=deployment)
    item.deployment_id = deployment
    item.lineitems_url = ags.get("lineitems") or item.lineitems_url
    item.lineitem_url = ags.get("lineitem") or item.lineitem_url  # one found or made earlier stays
    item.scopes = [str(scope) for scope in ags.get("scope") or []]
    item.updated_at = utcnow()
    return item


def record_member(db: Session, claims: dict[str, Any]) -> LtiMember | None:
    """The launching user as a member of the launch's LMS course (its scores go there)."""
    context = context_of(claims)
    if not context:
        return None
    keys = {"issuer": str(claims["iss"]), "context_id": context, "subject": str(claims["sub"])}
    member = find_or_add(db, LtiMember, keys)
    lis = claims.get(LIS_CLAIM) or {}
    update_member(
        member,
        {
            "name": claims.get("name"),
            "email": claims.get("email"),
            "lis_person_sourcedid": lis.get("person_sourcedid") if isinstance(lis, dict) else None,
            "roles": claims.get(CLAIM + "roles"),
        },
    )
    return member


def update_member(member: LtiMember, data: dict[str, Any]) -> None:
    """Fill ``member`` from a roster entry (or the same fields of a launch): what is given
    replaces what was known, what is missing is kept."""
    member.name = _text(data.get("name"), 300) or member.name
    member.email = _text(data.get("email"), 320) or member.email
    member.sourcedid = _text(data.get("lis_person_sourcedid"), 255) or member.sourcedid
    roles = data.get("roles")
    if isinstance(roles, list):
        member.roles = [str(role) for role in roles]
    member.status = _text(data.get("status"), 20) or "Active"
    member.updated_at = utcnow()


def _text(value: Any, limit: int) -> str | None:
    return str(value)[:limit] if value not in (None, "") else None
