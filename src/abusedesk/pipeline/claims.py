"""Claim pending raw reports so that each is worked on by one worker at a time.

A claim is a lease: a worker that dies leaves its claims behind, and they are
taken again once the lease has run out. On PostgreSQL `FOR UPDATE SKIP LOCKED`
lets many workers on many hosts claim side by side without waiting on each
other; SQLite has one writer at a time, which makes the same statement safe.
"""

from __future__ import annotations

from dataclasses import dataclass
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
        .returning(col(RawReport.id), col(RawReport.attempts))
    )


# Built once: building the statement cost more than running it, for every batch.
_CLAIM = _claim_statement()


@dataclass(frozen=True, slots=True, order=True)
class Claim:
    report_id: int
    attempts: int
    """Claims of the report so far, this one included: more than one means a worker
    that claimed it before did not finish (it may have died of this very report)."""


def claim_reports(
    engine: Engine, worker: str, limit: int, lease: timedelta = DEFAULT_LEASE
) -> list[Claim]:
    """Claim up to `limit` pending reports (oldest first) for `worker`."""
    now = utcnow()
    values = {"now": now, "stale_before": now - lease, "worker": worker, "limit": limit}
    with engine.begin() as connection:
        return sorted(Claim(i, attempts) for i, attempts in connection.execute(_CLAIM, values))


def claim_pending(
    engine: Engine, worker: str, limit: int, lease: timedelta = DEFAULT_LEASE
) -> list[int]:
    """`claim_reports`, their ids only."""
    return [claim.report_id for claim in claim_reports(engine, worker, limit, lease)]


def release_claims(engine: Engine, worker: str, report_ids: list[int]) -> None:
    """Give back claims of `worker`'s not worked on, as if they had not been made."""
    if not report_ids:
        return
    with engine.begin() as connection:
        connection.execute(
            update(RawReport)
            .where(
                col(RawReport.id).in_(report_ids),
                col(RawReport.claimed_by) == worker,
                col(RawReport.status) == ReportStatus.PENDING.value,
            )
            .values(claimed_at=None, claimed_by=None, attempts=col(RawReport.attempts) - 1)
        )


def pending_count(engine: Engine) -> int:
    with engine.connect() as connection:
        return connection.execute(
            select(func.count()).where(col(RawReport.status) == ReportStatus.PENDING.value)
        ).scalar_one()
