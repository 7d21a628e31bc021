"""Keep the hourly complaint buckets (`complaintvolume`) in step with the complaints recorded.

Every complaint charged to a mailbox adds one to its domain's bucket for the
hour it happened in, its kind and its trust, in the transaction that records
it; a complaint recorded again with other values moves from one bucket to the
other. decide/counters.py sums the buckets for domain and company counters.

On PostgreSQL a bucket's row stays locked until the recording transaction
commits: workers recording complaints of one domain in the same hour take turns
at that row, as they already do at a mailbox's row when deciding (decide.py).
Like those mailbox locks, two batches that meet the same two domains in
opposite orders can deadlock; PostgreSQL then fails one of the two statements,
and that batch's report must be retried rather than given up.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from typing import Any

from sqlalchemy import Connection, bindparam, delete, text
from sqlmodel import Session

from abusedesk.store.tables import Complaint, ComplaintVolume

Counted = tuple[int, datetime, str, bool]
"""What places a complaint in a bucket: domain id, time, kind, trust."""

_KEY = ["domain_id", "hour", "kind", "trusted"]


def _upsert(insert: Any) -> Any:
    statement = insert(ComplaintVolume).values(
        domain_id=bindparam("domain_id"),
        hour=bindparam("hour"),
        kind=bindparam("kind"),
        trusted=bindparam("trusted"),
        complaints=bindparam("change"),
    )
    table = ComplaintVolume.__table__  # type: ignore[attr-defined]
    return statement.on_conflict_do_update(
        index_elements=_KEY, set_={"complaints": table.c.complaints + statement.excluded.complaints}
    )


@cache
def _upsert_for(dialect: str) -> Any:
    """Built once per dialect: both databases speak INSERT … ON CONFLICT DO UPDATE. Each
    dialect module is imported when its database is first written to: PostgreSQL's costs
    a one-report `abusedesk ingest` on SQLite more than parsing the report does."""
    if dialect == "postgresql":
        from sqlalchemy.dialects import postgresql

        return _upsert(postgresql.insert)
    from sqlalchemy.dialects import sqlite

    return _upsert(sqlite.insert)


def bucket_hour(at: datetime) -> datetime:
    """The start of the UTC hour `at` lies in: the bucket it counts in."""
    return at.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def counted(complaint: Complaint) -> Counted | None:
    """Where `complaint` counts; None when it is charged to no mailbox."""
    if complaint.domain_id is None:
        return None
    return complaint.domain_id, complaint.occurred_at, complaint.kind, complaint.trusted


def move_complaint(session: Session, before: Counted | None, after: Counted | None) -> None:
    """Take a complaint out of the bucket it counted in and into the one it counts in now."""
    if before == after:
        return
    connection = session.connection()
    statement = _upsert_for(connection.dialect.name)
    for place, change in ((before, -1), (after, 1)):
        if place is not None:
            domain_id, at, kind, trusted = place
            connection.execute(
                statement,
                {
                    "domain_id": domain_id,
                    "hour": bucket_hour(at),
                    "kind": kind,
                    "trusted": trusted,
                    "change": change,
                },
            )


# SQLite keeps times as text, 'YYYY-MM-DD HH:MM:SS.ffffff', which the hour keeps the shape of.
_HOUR_SQL = {
    "postgresql": "date_trunc('hour', occurred_at)",
    "sqlite": "strftime('%Y-%m-%d %H:00:00.000000', occurred_at)",
}


def rebuild_buckets(connection: Connection) -> None:
    """Bucket every stored complaint afresh: for complaints written in bulk, bypassing recording.

    (Migration 0008 holds a copy of this statement, as migrations must not change.)
    """
    hour = _HOUR_SQL[connection.dialect.name]
    connection.execute(delete(ComplaintVolume))
    connection.execute(
        text(
            "INSERT INTO complaintvolume (domain_id, hour, kind, trusted, complaints) "
            f"SELECT domain_id, {hour}, kind, trusted, count(*) FROM complaint "
            f"WHERE domain_id IS NOT NULL GROUP BY domain_id, {hour}, kind, trusted"
        )
    )
