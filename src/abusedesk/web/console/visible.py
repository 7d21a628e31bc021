"""Scope for the objects the console shows besides mailboxes: domains, escalations, reports.

Each is built on `access.scope` (the `Actor` and `mailbox_scope`), so one
idea of "whose is this" holds everywhere: an escalation about a mailbox, a
domain or a company is visible to whoever may see that mailbox, domain or
company; a report to whoever may see the mailbox it was charged to (a report
charged to nobody is staff's).
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, exists, false, or_, select, true
from sqlmodel import Session, col

from abusedesk.access import Role
from abusedesk.access.scope import Actor, mailbox_scope
from abusedesk.errors import NotFoundError
from abusedesk.store.tables import (
    Company,
    Complaint,
    Domain,
    Escalation,
    Mailbox,
    RawReport,
    Suspension,
)


def domain_scope(actor: Actor) -> ColumnElement[bool]:
    """A where-clause keeping the actor's domains, for a query on Domain."""
    if actor.role is Role.STAFF:
        return true()
    if actor.role is Role.COMPANY_ADMIN:
        return col(Domain.company_id) == actor.company_id if actor.company_id else false()
    return col(Domain.id) == actor.domain_id if actor.domain_id else false()


def company_scope(actor: Actor) -> ColumnElement[bool]:
    """A where-clause keeping the companies the actor answers for (domain admins: none)."""
    if actor.role is Role.STAFF:
        return true()
    if actor.role is Role.COMPANY_ADMIN and actor.company_id:
        return col(Company.id) == actor.company_id
    return false()


def escalation_scope(actor: Actor) -> ColumnElement[bool]:
    if actor.role is Role.STAFF:
        return true()
    mailboxes = (
        select(col(Mailbox.address))
        .join(Domain, col(Domain.id) == col(Mailbox.domain_id))
        .where(mailbox_scope(actor))
    )
    domains = select(col(Domain.name)).where(domain_scope(actor))
    companies = select(col(Company.name)).where(company_scope(actor))
    return or_(
        and_(col(Escalation.scope) == "mailbox", col(Escalation.scope_key).in_(mailboxes)),
        and_(col(Escalation.scope) == "domain", col(Escalation.scope_key).in_(domains)),
        and_(col(Escalation.scope) == "company", col(Escalation.scope_key).in_(companies)),
    )


def report_scope(actor: Actor) -> ColumnElement[bool]:
    """A where-clause on RawReport: reports charged to one of the actor's mailboxes."""
    if actor.role is Role.STAFF:
        return true()
    return exists(
        select(col(Complaint.id))
        .join(Mailbox, col(Mailbox.id) == col(Complaint.mailbox_id))
        .join(Domain, col(Domain.id) == col(Mailbox.domain_id))
        .where(col(Complaint.raw_report_id) == col(RawReport.id), mailbox_scope(actor))
    )


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
