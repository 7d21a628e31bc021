"""Signups: a mailbox that appears in the directory is an event the rules may react to.

However a mailbox arrives — `accounts import`, `accounts add`, or the
provisioning API — it goes through `import_accounts` and then here, so a
`signup` rule sees every new account the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Engine, select
from sqlmodel import Session, col

from abusedesk.accounts.csv_reader import AccountRow, normalize_address
from abusedesk.accounts.importer import ImportSummary, import_accounts
from abusedesk.decide import PolicyEngine, decide_event, signup_event
from abusedesk.decide.model import EventKind
from abusedesk.errors import DirectoryImportError
from abusedesk.store.tables import Company, Domain, Mailbox
from abusedesk.store.types import utcnow


def decide_signups(engine: Engine, policy: PolicyEngine, addresses: Sequence[str]) -> int:
    """Decide a `signup` event for each new mailbox; returns how many were decided.

    Nothing is asked of the engine when no rule reacts to signups, so a large
    import costs no more than the import itself.
    """
    if not addresses or not policy.ruleset.rules_for(EventKind.SIGNUP):
        return 0
    decided = 0
    with Session(engine) as session:
        for address in addresses:
            mailbox = session.execute(
                select(Mailbox).where(col(Mailbox.address) == normalize_address(address))
            ).scalar_one_or_none()
            if mailbox is None or mailbox.created_at is None:
                continue
            decide_event(session, policy, signup_event(mailbox))
            decided += 1
        session.commit()
    return decided


def add_account(
    engine: Engine,
    policy: PolicyEngine | None,
    address: str,
    *,
    company: str | None = None,
    abuse_contact: str | None = None,
    created_at: datetime | None = None,
    signup_ip: str | None = None,
) -> ImportSummary:
    """Add (or update) one mailbox; a new one's domain must exist or `company` be given."""
    address = normalize_address(address)
    local, at, domain = address.rpartition("@")
    if not at or not local or "." not in domain:
        raise DirectoryImportError(f"{address!r} is not an email address")
    if company is None:
        company = _company_of_domain(engine, domain)
        if company is None:
            raise DirectoryImportError(
                f"domain {domain} is not in the directory yet: say which company it belongs to"
            )
    if created_at is None and not _exists(engine, address):
        created_at = utcnow()  # a new account signs up now; an existing one keeps its date
    row = AccountRow(0, company, abuse_contact, domain, address, created_at, signup_ip)
    summary = import_accounts(engine, [row])
    if policy is not None:
        decide_signups(engine, policy, summary.created_addresses)
    return summary


def _company_of_domain(engine: Engine, domain: str) -> str | None:
    with Session(engine) as session:
        return session.execute(
            select(col(Company.name))
            .join(Domain, col(Domain.company_id) == col(Company.id))
            .where(col(Domain.name) == domain)
        ).scalar_one_or_none()


def _exists(engine: Engine, address: str) -> bool:
    with Session(engine) as session:
        found = session.execute(select(col(Mailbox.id)).where(col(Mailbox.address) == address))
        return found.first() is not None
