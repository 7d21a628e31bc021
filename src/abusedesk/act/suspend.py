"""Soft-suspend a mailbox: switch off sending only, once, with the evidence that led to it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlmodel import Session, col

from abusedesk.store.tables import Mailbox, Suspension
from abusedesk.store.types import Service


def active_suspension(session: Session, mailbox_id: int) -> Suspension | None:
    return session.execute(
        select(Suspension)
        .where(
            col(Suspension.mailbox_id) == mailbox_id,
            col(Suspension.service) == Service.SEND.value,
            col(Suspension.lifted_at).is_(None),
        )
        .limit(1)
    ).scalar_one_or_none()


def soft_suspend(
    session: Session,
    mailbox_id: int,
    at: datetime,
    decision_id: int,
    rule: str,
    complaint_ids: list[int],
) -> tuple[Suspension | None, Suspension | None]:
    """(the new suspension, None), or (None, the active one) when the mailbox is already suspended.

    `at` is the deciding event's time, so a replayed or backfilled history
    suspends at the moment live traffic would have.
    """
    existing = active_suspension(session, mailbox_id)
    if existing is not None:
        return None, existing
    mailbox = session.get(Mailbox, mailbox_id)
    assert mailbox is not None
    mailbox.can_send = False
    suspension = Suspension(
        mailbox_id=mailbox_id,
        service=Service.SEND.value,
        started_at=at,
        decision_id=decision_id,
        rule=rule,
        complaint_ids=complaint_ids,
    )
    session.add_all([mailbox, suspension])
    session.flush()
    return suspension, None
