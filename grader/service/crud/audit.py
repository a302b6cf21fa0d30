"""The audit log: one function writes every row, in the transaction of the write it records
(a change and its audit row commit together, or neither does)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from grader.service.models import AuditEntry, User

_ADD = insert(AuditEntry)  # built once: a hand-in's transaction writes one


def audit(db: Session | Connection, by: User | int | None, action: str, **detail: Any) -> None:
    """An ``audit_log`` row: ``by`` made the change (a user, their id, or None for the
    service itself), ``action`` names it and ``detail`` says what changed (JSON)."""
    user_id = by.id if isinstance(by, User) else by
    db.execute(_ADD, {"user_id": user_id, "action": action, "detail": detail})


def audit_entries(db: Session, *actions: str) -> list[tuple[AuditEntry, str | None]]:
    """The rows of ``actions``, oldest first, with who made each (None: the service)."""
    query = select(AuditEntry, User.name).join(User, User.id == AuditEntry.user_id, isouter=True)
    return [
        (entry, name)
        for entry, name in db.execute(query.where(AuditEntry.action.in_(actions)).order_by(AuditEntry.id))
    ]
