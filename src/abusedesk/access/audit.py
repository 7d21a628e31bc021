"""The audit trail: every admin action is recorded, in the transaction that does it."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, Select, String, and_, cast, or_, select, true
from sqlmodel import Session, col

from abusedesk.access import Role
from abusedesk.access.scope import (
    Actor,
    company_scope,
    domain_scope,
    escalation_scope,
    mailbox_addresses,
)
from abusedesk.store.tables import AuditEntry, Company, Domain, Escalation
from abusedesk.store.types import utcnow


class AuditAction(StrEnum):
    """The actions this package and act/ record; other modules may record their own names."""

    USER_ADD = "user.add"
    USER_PASSWORD = "user.password"
    USER_TOKEN = "user.token"
    SUSPENSION_LIFT = "suspension.lift"
    MAILBOX_DELETE = "mailbox.delete"
    COMPLAINT_CHARGE = "complaint.charge"
    """Staff charged an unproven complaint's candidate by hand (act/charge.py)."""
    ACCOUNT_SIGNUP = "account.signup"
    """A signup (accounts/signup.py), added or refused; its detail says which and why."""


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


def audit_scope(actor: Actor) -> ColumnElement[bool]:
    """A where-clause on AuditEntry: what this admin may see (staff see everything).

    Their own actions, and those about the mailboxes, domains, companies and
    escalations in their scope.
    """
    if actor.role is Role.STAFF:
        return true()
    mailboxes = mailbox_addresses(actor)
    domains = select(col(Domain.name)).where(domain_scope(actor))
    companies = select(col(Company.name)).where(company_scope(actor))
    escalations = select(cast(col(Escalation.id), String)).where(escalation_scope(actor))
    return or_(
        col(AuditEntry.actor) == actor.username,
        _about("mailbox", mailboxes),
        _about("domain", domains),
        _about("company", companies),
        _about("escalation", escalations),
    )


def list_audit(
    session: Session,
    *,
    actor: str | None = None,
    action: str | None = None,
    target: str | None = None,
    visible_to: Actor | None = None,
    offset: int = 0,
    limit: int = 1000,
) -> list[AuditEntry]:
    """Audit entries, newest first, optionally of one actor, one action or about one target.

    With `visible_to`, only what that admin may see (`audit_scope`); the CLI
    and the console both list through here, so both show an admin the same.
    """
    query = select(AuditEntry).order_by(col(AuditEntry.at).desc(), col(AuditEntry.id).desc())
    if visible_to is not None:
        query = query.where(audit_scope(visible_to))
    if actor is not None:
        query = query.where(col(AuditEntry.actor) == actor.strip())
    if action is not None:
        query = query.where(col(AuditEntry.action) == action.strip())
    if target is not None:
        wanted = target.strip()
        # Mailbox and domain targets are stored lowercased; usernames keep their case.
        query = query.where(col(AuditEntry.target).in_({wanted, wanted.lower()}))
    return list(session.execute(query.offset(offset).limit(limit)).scalars())


def _about(target_type: str, keys: Select[Any]) -> ColumnElement[bool]:
    return and_(col(AuditEntry.target_type) == target_type, col(AuditEntry.target).in_(keys))


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
