"""Queries on the account directory: mailbox lookups and their status."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, Select, func, select
from sqlmodel import Session, col

from abusedesk.attribute.attribution import MailboxDirectory
from abusedesk.store.addresses import normalize_address
from abusedesk.store.tables import (
    Company,
    Complaint,
    Domain,
    Mailbox,
    SubmittedMessage,
    Suspension,
)


@dataclass(frozen=True, slots=True)
class MailboxView:
    """A mailbox as the CLI and API show it."""

    address: str
    company: str
    domain: str
    created_at: datetime | None
    send: bool
    receive: bool
    login: bool
    deleted: bool

    @property
    def status(self) -> str:
        if self.deleted:
            return "deleted"
        if not (self.send and self.receive and self.login):
            return "some-services-disabled"
        return "active"

    def as_json(self) -> dict[str, object]:
        return {
            "address": self.address,
            "status": self.status,
            "services": {"send": self.send, "receive": self.receive, "login": self.login},
            "company": self.company,
            "domain": self.domain,
            "created_at": self.created_at.isoformat() if self.created_at else None,
        }


_VIEW_COLUMNS = (
    col(Mailbox.address),
    col(Company.name),
    col(Domain.name),
    col(Mailbox.created_at),
    col(Mailbox.can_send),
    col(Mailbox.can_receive),
    col(Mailbox.can_login),
    col(Mailbox.deleted_at),
)


def _view(
    row: tuple[str, str, str, datetime | None, bool, bool, bool, datetime | None],
) -> MailboxView:
    address, company, domain, created_at, send, receive, login, deleted_at = row
    return MailboxView(
        address, company, domain, created_at, send, receive, login, deleted_at is not None
    )


def _view_query() -> Select[str, str, str, datetime | None, bool, bool, bool, datetime | None]:
    return (
        select(*_VIEW_COLUMNS)
        .join(Domain, col(Domain.id) == col(Mailbox.domain_id))
        .join(Company, col(Company.id) == col(Domain.company_id))
    )


def find_mailbox(engine: Engine, address: str) -> MailboxView | None:
    with Session(engine) as session:
        row = session.execute(
            _view_query().where(col(Mailbox.address) == normalize_address(address))
        ).first()
    return _view(row) if row else None


def list_mailboxes(engine: Engine, *, limit: int | None = None) -> list[MailboxView]:
    query = _view_query().order_by(col(Company.name), col(Domain.name), col(Mailbox.address))
    if limit is not None:
        query = query.limit(limit)
    with Session(engine) as session:
        return [_view(row) for row in session.execute(query)]


class DatabaseDirectory:
    """The `MailboxDirectory` attribution uses, answered from the database."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def is_hosted(self, address: str) -> bool:
        with self._engine.connect() as connection:
            found = connection.execute(
                select(col(Mailbox.id)).where(
                    col(Mailbox.address) == normalize_address(address),
                    col(Mailbox.deleted_at).is_(None),
                )
            ).first()
        return found is not None

    def sender_for_queue_id(self, queue_id: str) -> str | None:
        with self._engine.connect() as connection:
            return connection.execute(
                select(col(SubmittedMessage.sasl_username)).where(
                    col(SubmittedMessage.queue_id) == queue_id
                )
            ).scalar_one_or_none()

    def queue_record_span(self) -> tuple[datetime | None, datetime | None]:
        with self._engine.connect() as connection:
            first, last = connection.execute(
                select(
                    func.min(col(SubmittedMessage.submitted_at)),
                    func.max(col(SubmittedMessage.submitted_at)),
                )
            ).one()
        return first, last


class CachedDirectory:
    """A `MailboxDirectory` that asks the one it wraps once per address (for one batch)."""

    def __init__(self, directory: MailboxDirectory) -> None:
        self._directory = directory
        self._hosted: dict[str, bool] = {}
        self._span: tuple[datetime | None, datetime | None] | None = None

    def is_hosted(self, address: str) -> bool:
        key = normalize_address(address)
        if key not in self._hosted:
            self._hosted[key] = self._directory.is_hosted(key)
        return self._hosted[key]

    def sender_for_queue_id(self, queue_id: str) -> str | None:
        return self._directory.sender_for_queue_id(queue_id)

    def queue_record_span(self) -> tuple[datetime | None, datetime | None]:
        # It only grows while a batch is worked on: asked once a batch, not once a report.
        if self._span is None:
            self._span = self._directory.queue_record_span()
        return self._span


def mailbox_record(engine: Engine, address: str) -> dict[str, object]:
    """What happened to a mailbox: complaints by kind, and its suspensions, newest first."""
    with Session(engine) as session:
        mailbox_id = session.execute(
            select(col(Mailbox.id)).where(col(Mailbox.address) == normalize_address(address))
        ).scalar_one_or_none()
        if mailbox_id is None:
            return {}
        kinds = session.execute(
            select(col(Complaint.kind), func.count())
            .where(col(Complaint.mailbox_id) == mailbox_id)
            .group_by(col(Complaint.kind))
        ).all()
        suspensions = session.execute(
            select(Suspension)
            .where(col(Suspension.mailbox_id) == mailbox_id)
            .order_by(col(Suspension.started_at).desc())
        ).scalars()
        return {
            "complaints": {kind: count for kind, count in kinds},
            "suspensions": [
                {
                    "id": s.id,
                    "service": s.service,
                    "started_at": s.started_at.isoformat(),
                    "rule": s.rule,
                    "decision_id": s.decision_id,
                    "complaint_ids": s.complaint_ids,
                    "lifted_at": s.lifted_at.isoformat() if s.lifted_at else None,
                    "lifted_by": s.lifted_by,
                    "outcome": s.outcome,
                }
                for s in suspensions
            ],
        }
