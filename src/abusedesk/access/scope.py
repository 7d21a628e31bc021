"""What an admin may see: staff all, a company admin their company, a domain admin one domain.

Every scope clause is here, built on `mailbox_scope`, so one idea of "whose
is this" holds everywhere: an escalation about a mailbox, a domain or a
company is visible to whoever may see that mailbox, domain or company; a
report to whoever may see the mailbox it was charged to (a report charged to
nobody is staff's).

Out of scope reads exactly like "does not exist": an admin cannot probe for
mailboxes of other companies by the difference between "forbidden" and
"not found".
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, Select, and_, exists, false, or_, select, true
from sqlmodel import Session, col

from abusedesk.access import Role
from abusedesk.errors import NotFoundError
from abusedesk.store.addresses import normalize_address
from abusedesk.store.tables import (
    AdminUser,
    Company,
    Complaint,
    Domain,
    Escalation,
    Mailbox,
    RawReport,
)


@dataclass(frozen=True, slots=True)
class Actor:
    """A person acting, with their reach and where they act from ("cli", or a client IP)."""

    username: str
    role: Role
    company_id: int | None
    domain_id: int | None
    origin: str

    def may_see(self, domain_id: int | None, company_id: int | None) -> bool:
        """Whether an object of this domain (or, with no domain, this company) is in scope."""
        if self.role is Role.STAFF:
            return True
        if self.role is Role.COMPANY_ADMIN:
            return company_id is not None and company_id == self.company_id
        return domain_id is not None and domain_id == self.domain_id


def actor_for(user: AdminUser, origin: str) -> Actor:
    return Actor(user.username, Role(user.role), user.company_id, user.domain_id, origin)


def load_actor(session: Session, username: str, origin: str) -> Actor:
    """The enabled admin user `username` as an actor; NotFoundError otherwise."""
    user = session.execute(
        select(AdminUser).where(col(AdminUser.username) == username.strip())
    ).scalar_one_or_none()
    if user is None or user.disabled:
        raise NotFoundError(f"no admin user {username.strip()}")
    return actor_for(user, origin)


def mailbox_scope(actor: Actor) -> ColumnElement[bool]:
    """A where-clause keeping the actor's mailboxes, for a query that joins Mailbox to Domain."""
    if actor.role is Role.STAFF:
        return true()
    if actor.role is Role.COMPANY_ADMIN:
        return col(Domain.company_id) == actor.company_id if actor.company_id else false()
    return col(Mailbox.domain_id) == actor.domain_id if actor.domain_id else false()


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
    mailboxes = mailbox_addresses(actor)
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


def mailbox_addresses(actor: Actor) -> Select[str]:
    """A subquery of the addresses of the actor's mailboxes, for `… IN (…)` clauses."""
    return (
        select(col(Mailbox.address))
        .join(Domain, col(Domain.id) == col(Mailbox.domain_id))
        .where(mailbox_scope(actor))
    )


def mailbox_in_scope(session: Session, actor: Actor, address: str) -> Mailbox:
    """The mailbox if the actor may see it; the same NotFoundError when missing or not theirs."""
    wanted = normalize_address(address)
    mailbox: Mailbox | None = session.execute(
        select(Mailbox)
        .join(Domain, col(Domain.id) == col(Mailbox.domain_id))
        .where(col(Mailbox.address) == wanted, mailbox_scope(actor))
    ).scalar_one_or_none()
    if mailbox is None:
        raise NotFoundError(f"no mailbox {wanted}")
    return mailbox
