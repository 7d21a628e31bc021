"""The audit trail: every admin action is recorded, in the transaction that does it."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from sqlalchemy import and_, or_, select
from sqlmodel import Session, col

from abusedesk.access import Role
from abusedesk.access.scope import Actor, mailbox_scope
from abusedesk.store.tables import AuditEntry, Domain, Mailbox
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
    visible_to: Actor | None = None,
    limit: int = 1000,
) -> list[AuditEntry]:
    """Audit entries, newest first, optionally of one actor or about one target.

    With `visible_to`, only what that admin may see: their own actions and those
    on mailboxes in their scope (staff see everything).
    """
    query = select(AuditEntry).order_by(col(AuditEntry.at).desc(), col(AuditEntry.id).desc())
    if visible_to is not None and visible_to.role is not Role.STAFF:
        theirs = (
            select(col(Mailbox.address))
            .join(Domain, col(Domain.id) == col(Mailbox.domain_id))
            .where(mailbox_scope(visible_to))
        )
        query = query.where(
            or_(
                col(AuditEntry.actor) == visible_to.username,
                and_(col(AuditEntry.target_type) == "mailbox", col(AuditEntry.target).in_(theirs)),
            )
        )
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
