"""What reviewers see of suspensions: active (or all) ones, in their scope, newest first."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlmodel import Session, col

from abusedesk.access.scope import Actor, mailbox_scope
from abusedesk.errors import NotFoundError
from abusedesk.store.tables import Company, Domain, Mailbox, Suspension


@dataclass(frozen=True, slots=True)
class SuspensionView:
    id: int
    mailbox: str
    domain: str
    company: str
    service: str
    started_at: datetime
    rule: str | None
    decision_id: int | None
    complaint_ids: tuple[int, ...]
    lifted_at: datetime | None
    lifted_by: str | None
    outcome: str | None
    note: str | None

    @property
    def active(self) -> bool:
        return self.lifted_at is None

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "mailbox": self.mailbox,
            "domain": self.domain,
            "company": self.company,
            "service": self.service,
            "active": self.active,
            "started_at": self.started_at.isoformat(),
            "rule": self.rule,
            "decision_id": self.decision_id,
            "complaint_ids": list(self.complaint_ids),
            "lifted_at": self.lifted_at.isoformat() if self.lifted_at else None,
            "lifted_by": self.lifted_by,
            "outcome": self.outcome,
            "note": self.note,
        }


def list_suspensions(
    session: Session,
    *,
    actor: Actor | None = None,
    company: str | None = None,
    domain: str | None = None,
    include_lifted: bool = False,
    limit: int = 1000,
) -> list[SuspensionView]:
    """Suspensions newest first; only the actor's when one is given (None: the operator's CLI)."""
    query = (
        select(Suspension, col(Mailbox.address), col(Domain.name), col(Company.name))
        .join(Mailbox, col(Mailbox.id) == col(Suspension.mailbox_id))
        .join(Domain, col(Domain.id) == col(Mailbox.domain_id))
        .join(Company, col(Company.id) == col(Domain.company_id))
        .order_by(col(Suspension.started_at).desc(), col(Suspension.id).desc())
        .limit(limit)
    )
    if actor is not None:
        query = query.where(mailbox_scope(actor))
    if not include_lifted:
        query = query.where(col(Suspension.lifted_at).is_(None))
    if company is not None:
        name = company.strip()
        if (
            session.execute(select(col(Company.id)).where(col(Company.name) == name)).first()
            is None
        ):
            raise NotFoundError(f"no company {name!r}")
        query = query.where(col(Company.name) == name)
    if domain is not None:
        name = domain.strip().lower()
        if session.execute(select(col(Domain.id)).where(col(Domain.name) == name)).first() is None:
            raise NotFoundError(f"no domain {name}")
        query = query.where(col(Domain.name) == name)
    return [_view(*row) for row in session.execute(query).all()]


def _view(suspension: Suspension, mailbox: str, domain: str, company: str) -> SuspensionView:
    assert suspension.id is not None
    return SuspensionView(
        id=suspension.id,
        mailbox=mailbox,
        domain=domain,
        company=company,
        service=suspension.service,
        started_at=suspension.started_at,
        rule=suspension.rule,
        decision_id=suspension.decision_id,
        complaint_ids=tuple(suspension.complaint_ids),
        lifted_at=suspension.lifted_at,
        lifted_by=suspension.lifted_by,
        outcome=suspension.outcome,
        note=suspension.note,
    )
