"""The audit trail: every admin action is recorded, in the transaction that does it."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlmodel import Session, col

from abusedesk.access.scope import Actor
from abusedesk.store.tables import AuditEntry
from abusedesk.store.types import utcnow


class AuditAction(StrEnum):
    """The actions this package and act/ record; other modules may record their own names."""

    USER_ADD = "user.add"
    USER_PASSWORD = "user.password"
    USER_TOKEN = "user.token"
    SUSPENSION_LIFT = "suspension.lift"
    MAILBOX_DELETE = "mailbox.delete"


def record_audit(
    session: Session,
    actor: Actor,
    action: str,
    target_type: str,
    target: str,
    *,
    note: str | None = None,
    detail: dict[str, Any] | None = None,
) -> AuditEntry:
    """Add an audit entry to `session`; it commits (or rolls back) with the action itself."""
    entry = AuditEntry(
        at=utcnow(),
        actor=actor.username,
        action=str(action),
        target_type=target_type,
        target=target,
        origin=actor.origin[:255],
        note=note,
        detail=dict(detail or {}),
    )
    session.add(entry)
    session.flush()
    return entry


def list_audit(
    session: Session,
    *,
    actor: str | None = None,
    target: str | None = None,
    limit: int = 1000,
) -> list[AuditEntry]:
    """Audit entries, newest first, optionally of one actor or about one target."""
    query = select(AuditEntry).order_by(col(AuditEntry.at).desc(), col(AuditEntry.id).desc())
    if actor is not None:
        query = query.where(col(AuditEntry.actor) == actor.strip())
    if target is not None:
        wanted = target.strip()
        # Mailbox and domain targets are stored lowercased; usernames keep their case.
        query = query.where(col(AuditEntry.target).in_({wanted, wanted.lower()}))
    return list(session.execute(query.limit(limit)).scalars())


def audit_json(entry: AuditEntry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "at": entry.at.isoformat(),
        "actor": entry.actor,
        "action": entry.action,
        "target_type": entry.target_type,
        "target": entry.target,
        "origin": entry.origin,
        "note": entry.note,
        "detail": entry.detail,
    }
