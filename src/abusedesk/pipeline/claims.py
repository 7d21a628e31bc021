"""Claim pending raw reports so that each is worked on by one worker at a time.

A claim is a lease: a worker that dies leaves its claims behind, and they are
taken again once the lease has run out. On PostgreSQL `FOR UPDATE SKIP LOCKED`
lets many workers on many hosts claim side by side without waiting on each
other; SQLite has one writer at a time, which makes the same statement safe.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import Engine, bindparam, func, or_, select, update
from sqlmodel import col

from abusedesk.store.tables import RawReport
from abusedesk.store.types import ReportStatus, utcnow

DEFAULT_LEASE = timedelta(seconds=30)
"""Long enough for a worker to finish a batch (reports take milliseconds each), short
enough that reports claimed by a worker that was killed are taken again soon."""


def _claim_statement() -> Any:
    claimable = (
        select(col(RawReport.id))
        .where(
            col(RawReport.status) == ReportStatus.PENDING.value,
            or_(
                col(RawReport.claimed_at).is_(None),
                col(RawReport.claimed_at) < bindparam("stale_before"),
            ),
        )
        .order_by(col(RawReport.id))
        .limit(bindparam("limit"))
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    return (
        update(RawReport)
        .where(col(RawReport.id).in_(claimable))
        .values(
            claimed_at=bindparam("now"),
            claimed_by=bindparam("worker"),
            attempts=col(RawReport.attempts) + 1,
        )
        .returning(col(RawReport.id))
    )


# Built once: building the statement cost more than running it, for every batch.
_CLAIM = _claim_statement()


def claim_pending(
    engine: Engine, worker: str, limit: int, lease: timedelta = DEFAULT_LEASE
) -> list[int]:
    """Claim up to `limit` pending reports (oldest first) for `worker`; return their ids."""
    now = utcnow()
    values = {"now": now, "stale_before": now - lease, "worker": worker, "limit": limit}
    with engine.begin() as connection:
        return sorted(i for i in connection.execute(_CLAIM, values).scalars() if i is not None)


def pending_count(engine: Engine) -> int:
    with engine.connect() as connection:
        return connection.execute(
            select(func.count()).where(col(RawReport.status) == ReportStatus.PENDING.value)
        ).scalar_one()
