"""What an admin may see: staff all, a company admin their company, a domain admin one domain.

Out of scope reads exactly like "does not exist": an admin cannot probe for
mailboxes of other companies by the difference between "forbidden" and
"not found".
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, false, select, true
from sqlmodel import Session, col

from abusedesk.access import Role
from abusedesk.accounts.csv_reader import normalize_address
from abusedesk.errors import NotFoundError
from abusedesk.store.tables import AdminUser, Domain, Mailbox


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
