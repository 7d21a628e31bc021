"""One page of an admin's complaints, newest first, that stays fast however big the scope.

A scope's complaints are found two ways. A small scope (a few thousand
complaints) is read through its mailboxes' index and sorted. A large scope
is read newest first in windows of ids (primary-key ranges, each filtered by
the scope, widening while they come back short): with a scope of one
complaint in two hundred or more the first window already holds a page,
where sorting the scope would read hundreds of thousands of rows. A capped
probe of the mailbox index tells which case it is. `+ 0` and `|| ''` keep
the database from using an index that would undo the chosen order (both
work in SQLite and PostgreSQL).
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
FIRST_WINDOW = 50_000


@dataclass(frozen=True, slots=True)
class ComplaintFilter:
    mailbox_id: int | None = None
    reporter: str | None = None
    message_ids: tuple[str, ...] = ()
    since: datetime | None = None
    until: datetime | None = None


def complaint_page(
    session: Session,
    actor: Actor,
    wanted: ComplaintFilter,
    paging: Paging,
    *,
    small_scope: int = SMALL_SCOPE,
    first_window: int = FIRST_WINDOW,
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
            select(func.count()).select_from(probe.limit(small_scope + 1).subquery())
        ).scalar_one()
        if found > small_scope:
            return _in_windows(session, wanted, mailboxes, paging, first_window)
        query = select(col(Complaint.id)).where(
            col(Complaint.mailbox_id).in_(mailboxes), *_conditions(wanted, indexed=False)
        )
    ids = list(
        session.execute(
            query.order_by(col(Complaint.id).desc()).offset(paging.offset).limit(paging.size + 1)
        ).scalars()
    )
    return paging.window(ids)


def _in_windows(
    session: Session,
    wanted: ComplaintFilter,
    mailboxes: Select[Any],
    paging: Paging,
    first_window: int,
) -> tuple[list[int], bool]:
    needed = paging.offset + paging.size + 1
    high = session.execute(select(func.max(col(Complaint.id)))).scalar_one() or 0
    width, ids = first_window, list[int]()
    while high > 0 and len(ids) < needed:
        ids += session.execute(
            select(col(Complaint.id))
            .where(
                col(Complaint.id) > high - width,
                col(Complaint.id) <= high,
                (col(Complaint.mailbox_id) + 0).in_(mailboxes),
                *_conditions(wanted, indexed=False),
            )
            .order_by(col(Complaint.id).desc())
            .limit(needed - len(ids))
        ).scalars()
        high -= width
        width *= 2
    return paging.window(ids[paging.offset :])


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
