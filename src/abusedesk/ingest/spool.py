"""Store raw reports exactly as received, before anyone is told "accepted".

A batch is stored in one transaction: every report in it is committed, or none
is and the caller answers "try again later". Nothing here parses: ingest is
thin, processing is a queue (see `abusedesk.pipeline`).
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, insert
from sqlalchemy.exc import DBAPIError
from sqlmodel import col

from abusedesk.errors import StorageError
from abusedesk.store.tables import RawReport
from abusedesk.store.types import ReportSource, ReportStatus, utcnow


@dataclass(frozen=True, slots=True)
class IncomingReport:
    """One report as it arrived, with who sent it and whether we trust them."""

    raw: bytes
    source: ReportSource
    trusted: bool
    trust_reason: str
    peer: str | None = None
    envelope: dict[str, object] = field(default_factory=dict)
    received_at: datetime = field(default_factory=utcnow)


def store_reports(engine: Engine, reports: Sequence[IncomingReport]) -> list[int]:
    """Commit `reports` in one transaction and return their ids, in order.

    Raises `StorageError` when the database cannot take them; then nothing was stored.
    """
    if not reports:
        return []
    rows = [
        {
            "sha256": hashlib.sha256(report.raw).hexdigest(),
            "raw": report.raw,
            "size": len(report.raw),
            "received_at": report.received_at,
            "source": report.source.value,
            "peer": report.peer,
            "envelope": report.envelope,
            "trusted": report.trusted,
            "trust_reason": report.trust_reason,
            "status": ReportStatus.PENDING.value,
            "reason": None,
            "attempts": 0,
        }
        for report in reports
    ]
    if engine.dialect.name == "sqlite":
        return _store_on_sqlite(engine, rows)
    statement = insert(RawReport).returning(col(RawReport.id), sort_by_parameter_order=True)
    try:
        with engine.begin() as connection:
            # One multi-row statement and one commit for the whole batch: that single
            # commit is what makes a batch cheap, and atomic.
            ids = list(connection.execute(statement, rows).scalars())
    except DBAPIError as exc:
        raise StorageError(f"could not store {len(rows)} report(s): {_first_line(exc)}") from exc
    return [report_id for report_id in ids if report_id is not None]


def _store_on_sqlite(engine: Engine, rows: list[dict[str, Any]]) -> list[int]:
    """The same on SQLite, straight through the driver.

    SQLite has no multi-row INSERT whose RETURNING order is defined, so SQLAlchemy
    sends one statement a row; doing that itself costs the listener a third of what
    SQLAlchemy's execution costs, and the listener's thread is what limits intake.
    Values are converted by the columns' own SQLAlchemy types, so they are stored
    exactly as through SQLAlchemy.
    """
    columns = list(rows[0])
    table = RawReport.__table__  # type: ignore[attr-defined]
    sql = (
        f"INSERT INTO {table.name} ({', '.join(columns)}) "
        f"VALUES ({', '.join('?' for _ in columns)})"
    )
    convert = [
        table.c[name].type.dialect_impl(engine.dialect).bind_processor(engine.dialect)
        for name in columns
    ]
    connection = engine.raw_connection()
    try:
        cursor = connection.cursor()
        try:
            cursor.execute("BEGIN")
            ids = []
            for row in rows:
                values = [
                    value if to_db is None else to_db(value)
                    for value, to_db in zip(row.values(), convert, strict=True)
                ]
                cursor.execute(sql, values)
                assert cursor.lastrowid is not None
                ids.append(int(cursor.lastrowid))
            connection.commit()
        except sqlite3.Error as exc:
            connection.rollback()
            raise StorageError(f"could not store {len(rows)} report(s): {exc}") from exc
        finally:
            cursor.close()
    finally:
        connection.close()  # back to the pool
    return ids


def _first_line(exc: DBAPIError) -> str:
    return str(exc.orig).strip().splitlines()[0] if str(exc.orig).strip() else type(exc).__name__
