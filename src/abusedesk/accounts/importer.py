"""Apply account directory rows to the database: create what is new, update what changed.

Re-importing the same file changes nothing. The work is done in bulk
(executemany in chunks, in one transaction) so 100,000 rows take seconds, not
minutes: per-row ORM round trips would dominate everything else.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Connection, Engine, bindparam, insert, select, update
from sqlmodel import col

from abusedesk.accounts.csv_reader import AccountRow
from abusedesk.store.tables import Company, Contact, Domain, Mailbox
from abusedesk.store.types import utcnow

CHUNK = 5000

ProgressCallback = Callable[[int], None]


@dataclass
class ImportSummary:
    rows: int = 0
    companies_created: int = 0
    domains_created: int = 0
    domains_moved: int = 0
    contacts_changed: int = 0
    mailboxes_updated: int = 0
    created_addresses: list[str] = field(default_factory=list)

    @property
    def mailboxes_created(self) -> int:
        return len(self.created_addresses)

    @property
    def changed_anything(self) -> bool:
        return bool(
            self.companies_created
            or self.domains_created
            or self.domains_moved
            or self.contacts_changed
            or self.mailboxes_updated
            or self.created_addresses
        )


def import_accounts(
    engine: Engine, rows: Sequence[AccountRow], progress: ProgressCallback | None = None
) -> ImportSummary:
    """Create or update companies, domains, abuse contacts and mailboxes from `rows`."""
    summary = ImportSummary(rows=len(rows))
    with engine.begin() as connection:
        company_ids = _sync_companies(connection, rows, summary)
        domain_ids = _sync_domains(connection, rows, company_ids, summary)
        _sync_contacts(connection, rows, company_ids, summary)
        _sync_mailboxes(connection, rows, domain_ids, summary, progress or (lambda _n: None))
    return summary


def _sync_companies(
    connection: Connection, rows: Sequence[AccountRow], summary: ImportSummary
) -> dict[str, int]:
    existing = _names_to_ids(connection, Company)
    wanted = sorted({row.company for row in rows} - existing.keys())
    if wanted:
        now = utcnow()
        connection.execute(insert(Company), [{"name": n, "created_at": now} for n in wanted])
        summary.companies_created = len(wanted)
        existing = _names_to_ids(connection, Company)
    return existing


def _names_to_ids(connection: Connection, table: type[Company] | type[Domain]) -> dict[str, int]:
    rows = connection.execute(select(col(table.name), col(table.id)))
    return {name: ident for name, ident in rows if ident is not None}


def _sync_domains(
    connection: Connection,
    rows: Sequence[AccountRow],
    company_ids: dict[str, int],
    summary: ImportSummary,
) -> dict[str, int]:
    owner = {row.domain: company_ids[row.company] for row in rows}
    existing = {
        name: (domain_id, company_id)
        for name, domain_id, company_id in connection.execute(
            select(col(Domain.name), col(Domain.id), col(Domain.company_id))
        )
    }
    new = [name for name in owner if name not in existing]
    if new:
        now = utcnow()
        connection.execute(
            insert(Domain), [{"name": n, "company_id": owner[n], "created_at": now} for n in new]
        )
        summary.domains_created = len(new)
    moved = [
        {"b_id": existing[n][0], "b_company": owner[n]}
        for n in owner
        if n in existing and existing[n][1] != owner[n]
    ]
    if moved:
        connection.execute(
            update(Domain)
            .where(col(Domain.id) == bindparam("b_id"))
            .values(company_id=bindparam("b_company")),
            moved,
        )
        summary.domains_moved = len(moved)
    return _names_to_ids(connection, Domain)


def _sync_contacts(
    connection: Connection,
    rows: Sequence[AccountRow],
    company_ids: dict[str, int],
    summary: ImportSummary,
) -> None:
    """The directory owns each company's company-level abuse contact; the last row wins."""
    wanted: dict[int, str | None] = {}
    for row in rows:
        if row.company_abuse_contact or company_ids[row.company] not in wanted:
            wanted[company_ids[row.company]] = row.company_abuse_contact
    current = {
        company_id: (contact_id, email)
        for contact_id, company_id, email in connection.execute(
            select(col(Contact.id), col(Contact.company_id), col(Contact.email)).where(
                col(Contact.role) == "abuse",
                col(Contact.domain_id).is_(None),
            )
        )
    }
    for company_id, email in wanted.items():
        if email is None:
            continue
        if company_id not in current:
            connection.execute(
                insert(Contact),
                [
                    {
                        "company_id": company_id,
                        "role": "abuse",
                        "email": email,
                        "verified": False,
                        "created_at": utcnow(),
                    }
                ],
            )
            summary.contacts_changed += 1
        elif current[company_id][1] != email:
            connection.execute(
                update(Contact)
                .where(col(Contact.id) == current[company_id][0])
                .values(email=email, verified=False)
            )
            summary.contacts_changed += 1


def _sync_mailboxes(
    connection: Connection,
    rows: Sequence[AccountRow],
    domain_ids: dict[str, int],
    summary: ImportSummary,
    progress: ProgressCallback,
) -> None:
    existing: dict[str, tuple[int, int, datetime | None]] = {
        address: (mailbox_id, domain_id, created_at)
        for address, mailbox_id, domain_id, created_at in connection.execute(
            select(
                col(Mailbox.address),
                col(Mailbox.id),
                col(Mailbox.domain_id),
                col(Mailbox.created_at),
            )
        )
        if mailbox_id is not None
    }
    for start in range(0, len(rows), CHUNK):
        chunk = rows[start : start + CHUNK]
        inserts, updates = [], []
        for row in chunk:
            domain_id = domain_ids[row.domain]
            if row.address not in existing:
                inserts.append(_new_mailbox(row, domain_id))
                summary.created_addresses.append(row.address)
                continue
            mailbox_id, old_domain, old_created = existing[row.address]
            created = row.created_at or old_created
            if old_domain != domain_id or old_created != created:
                updates.append({"b_id": mailbox_id, "b_domain": domain_id, "b_created": created})
        if inserts:
            connection.execute(insert(Mailbox), inserts)
        if updates:
            connection.execute(
                update(Mailbox)
                .where(col(Mailbox.id) == bindparam("b_id"))
                .values(domain_id=bindparam("b_domain"), created_at=bindparam("b_created")),
                updates,
            )
            summary.mailboxes_updated += len(updates)
        progress(len(chunk))


def _new_mailbox(row: AccountRow, domain_id: int) -> dict[str, object]:
    return {
        "address": row.address,
        "domain_id": domain_id,
        "created_at": row.created_at,
        "signup_ip": row.signup_ip,
        "can_send": True,
        "can_receive": True,
        "can_login": True,
        "deleted_at": None,
    }
