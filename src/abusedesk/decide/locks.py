"""Row locks that make workers on many nodes decide as one worker would.

A decision counts complaints per mailbox, per domain and per company. Two
workers on PostgreSQL that record complaints of one domain side by side would
each count the other's as not yet committed, and both stay under a limit that
their complaints together crossed. So a transaction that records and decides
locks every mailbox it touches, then their domains, then their companies.

A worker's batch takes all of its locks before it reads or writes anything,
each kind in id order: two batches then never hold one lock each while waiting
for the other's (a deadlock, which PostgreSQL would end by failing one batch),
and a batch that waited sees what the other committed — a report that another
worker recorded meanwhile is then a duplicate, not a clash on the unique key.
The dedupe keys are locked too (advisory locks, first), for the reports that
were attributed to no mailbox. SQLite has one writer at a time: nothing to do.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from sqlalchemy import bindparam, select, text
from sqlmodel import Session, col

from abusedesk.store.tables import Company, Domain, Mailbox

_HELD = "abusedesk.locked_mailboxes"
_LOCK_KEYS = text(
    "SELECT count(pg_advisory_xact_lock(id)) FROM unnest(CAST(:ids AS bigint[])) AS ids(id)"
)
_MAILBOXES_BY_ADDRESS = (
    select(col(Mailbox.id), col(Mailbox.domain_id))
    .where(col(Mailbox.address).in_(bindparam("addresses", expanding=True)))
    .order_by(col(Mailbox.id))
    .with_for_update()
)
_MAILBOXES_BY_ID = (
    select(col(Mailbox.id), col(Mailbox.domain_id))
    .where(col(Mailbox.id).in_(bindparam("ids", expanding=True)))
    .order_by(col(Mailbox.id))
    .with_for_update()
)
_DOMAINS = (
    select(col(Domain.id), col(Domain.company_id))
    .where(col(Domain.id).in_(bindparam("ids", expanding=True)))
    .order_by(col(Domain.id))
    .with_for_update()
)
_COMPANIES = (
    select(col(Company.id))
    .where(col(Company.id).in_(bindparam("ids", expanding=True)))
    .order_by(col(Company.id))
    .with_for_update()
)


def lock_batch(session: Session, addresses: Iterable[str], dedupe_keys: Iterable[str]) -> None:
    """Lock what a batch will record and decide on: its dedupe keys, then the mailboxes
    (by address, lowercased) with their domains and companies."""
    if not _needs_locks(session):
        return
    ids = sorted({_key_lock_id(key) for key in dedupe_keys})
    if ids:
        session.execute(_LOCK_KEYS, {"ids": ids})
    wanted = sorted({address.lower() for address in addresses})
    if wanted:
        rows = session.execute(_MAILBOXES_BY_ADDRESS, {"addresses": wanted}).all()
        _lock_owners(session, {int(domain) for _, domain in rows})
        _held(session).update(int(mailbox) for mailbox, _ in rows)


def lock_mailbox(session: Session, mailbox_id: int) -> None:
    """Lock one mailbox, its domain and its company (for one decision outside a batch)."""
    if not _needs_locks(session) or mailbox_id in _held(session):
        return
    rows = session.execute(_MAILBOXES_BY_ID, {"ids": [mailbox_id]}).all()
    _lock_owners(session, {int(domain) for _, domain in rows})


def _held(session: Session) -> set[int]:
    """The mailboxes (with their domains and companies) that `lock_batch` locked in the
    session's current transaction: a decision in the batch need not lock them again.

    Only the batch's locks are remembered: taken first in the outermost transaction, no
    savepoint's rollback can release them, and they last until that transaction ends.
    """
    transaction = session.get_transaction()
    held = session.info.get(_HELD)
    if held is None or held[0] is not transaction:
        held = (transaction, set())
        session.info[_HELD] = held
    mailboxes: set[int] = held[1]
    return mailboxes


def _lock_owners(session: Session, domain_ids: set[int]) -> None:
    if not domain_ids:
        return
    rows = session.execute(_DOMAINS, {"ids": sorted(domain_ids)}).all()
    companies = sorted({int(company) for _, company in rows if company is not None})
    if companies:
        session.execute(_COMPANIES, {"ids": companies}).all()


def _needs_locks(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _key_lock_id(key: str) -> int:
    """A dedupe key as an advisory lock's signed 64-bit id."""
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big", signed=True)
