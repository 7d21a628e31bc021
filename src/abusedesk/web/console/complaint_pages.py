"""One page of an admin's complaints, newest first, that stays fast however big the scope.

A scope's complaints are found two ways. A small scope (a few thousand
complaints) is read through its mailboxes' index and sorted. A large scope
is read in id order, newest first, keeping its own rows: with a tenth of all
complaints or more that stops after a few hundred rows, where sorting the
scope would read hundreds of thousands. A capped probe of the mailbox index
tells which case it is. `+ 0` and `|| ''` keep the database from using an
index that would undo the chosen order (both work in SQLite and PostgreSQL).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, func, select
from sqlmodel import Session, col

from abusedesk.access import Role
from abusedesk.access.scope import Actor, mailbox_scope
from abusedesk.store.tables import Complaint, Domain, Mailbox
from abusedesk.web.console.forms import Paging

SMALL_SCOPE = 5_000


@dataclass(frozen=True, slots=True)
class ComplaintFilter:
    mailbox_id: int | None = None
    reporter: str | None = None
    message_ids: tuple[str, ...] = ()
    since: datetime | None = None
    until: datetime | None = None


def complaint_page(
    session: Session, actor: Actor, wanted: ComplaintFilter, paging: Paging
) -> tuple[list[int], bool]:
    """The ids of one page of the actor's complaints matching `wanted`, and whether more follow."""
    query: Select[Any] = select(col(Complaint.id)).where(*_conditions(wanted, indexed=True))
    if wanted.mailbox_id is not None:
        query = query.where(col(Complaint.mailbox_id) == wanted.mailbox_id)
    elif actor.role is Role.STAFF:
        query = query.where(col(Complaint.mailbox_id).is_not(None))
    else:
        mailboxes = (
            select(col(Mailbox.id))
            .join(Domain, col(Domain.id) == col(Mailbox.domain_id))
            .where(mailbox_scope(actor))
        )
        probe = select(col(Complaint.id)).where(col(Complaint.mailbox_id).in_(mailboxes))
        found = session.execute(
            select(func.count()).select_from(probe.limit(SMALL_SCOPE + 1).subquery())
        ).scalar_one()
        if found <= SMALL_SCOPE:
            query = select(col(Complaint.id)).where(
                col(Complaint.mailbox_id).in_(mailboxes), *_conditions(wanted, indexed=False)
            )
        else:
            query = query.where((col(Complaint.mailbox_id) + 0).in_(mailboxes))
    ids = list(
        session.execute(
            query.order_by(col(Complaint.id).desc()).offset(paging.offset).limit(paging.size + 1)
        ).scalars()
    )
    return paging.window(ids)


def _conditions(wanted: ComplaintFilter, *, indexed: bool) -> list[ColumnElement[bool]]:
    """The filters; with `indexed=False` the reporter's and time's indexes are left alone."""
    conditions: list[ColumnElement[bool]] = []
    if wanted.reporter:
        reporter: Any = col(Complaint.reporter) if indexed else col(Complaint.reporter).concat("")
        conditions.append(reporter == wanted.reporter)
    if wanted.message_ids:
        conditions.append(col(Complaint.original_message_id).in_(wanted.message_ids))
    if wanted.since:
        conditions.append(col(Complaint.occurred_at) >= wanted.since)
    if wanted.until:
        conditions.append(col(Complaint.occurred_at) < wanted.until)
    return conditions
