"""Console look-ups by id (escalations, reports, suspensions, companies), out of scope as missing.

The scope clauses themselves live in `access.scope`, so one idea of "whose is
this" holds everywhere; this module only turns a console id into the object
or the same NotFoundError whether it is missing or not the actor's.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlmodel import Session, col

from abusedesk.access.scope import (
    Actor,
    company_scope,
    escalation_scope,
    mailbox_scope,
    report_scope,
)
from abusedesk.errors import NotFoundError
from abusedesk.store.tables import Company, Domain, Escalation, Mailbox, RawReport, Suspension


def escalation_in_scope(session: Session, actor: Actor, escalation_id: str) -> Escalation:
    found: Escalation | None = session.execute(
        select(Escalation).where(
            col(Escalation.id) == _number(escalation_id), escalation_scope(actor)
        )
    ).scalar_one_or_none()
    if found is None:
        raise NotFoundError(f"no escalation {escalation_id}")
    return found


def report_in_scope(session: Session, actor: Actor, report_id: str) -> RawReport:
    found: RawReport | None = session.execute(
        select(RawReport).where(col(RawReport.id) == _number(report_id), report_scope(actor))
    ).scalar_one_or_none()
    if found is None:
        raise NotFoundError(f"no report {report_id}")
    return found


def suspension_in_scope(
    session: Session, actor: Actor, suspension_id: str
) -> tuple[Suspension, str]:
    """The suspension and its mailbox's address, if the actor may see that mailbox."""
    found = session.execute(
        select(Suspension, col(Mailbox.address))
        .join(Mailbox, col(Mailbox.id) == col(Suspension.mailbox_id))
        .join(Domain, col(Domain.id) == col(Mailbox.domain_id))
        .where(col(Suspension.id) == _number(suspension_id), mailbox_scope(actor))
    ).first()
    if found is None:
        raise NotFoundError(f"no suspension {suspension_id}")
    return found[0], str(found[1])


def company_in_scope(session: Session, actor: Actor, name: str) -> Company:
    found: Company | None = session.execute(
        select(Company).where(col(Company.name) == name.strip(), company_scope(actor))
    ).scalar_one_or_none()
    if found is None:
        raise NotFoundError(f"no company {name.strip()}")
    return found


def _number(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        return -1
    return value if 0 < value < 2**62 else -1
