"""Store raw reports exactly as received, before anyone is told "accepted".

A batch is stored in one transaction: every report in it is committed, or none
is and the caller answers "try again later". Nothing here parses: ingest is
thin, processing is a queue (see `abusedesk.pipeline`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, Table, insert
from sqlalchemy.exc import DBAPIError
from sqlmodel import col

from abusedesk.errors import StorageError
from abusedesk.ingest.sqlite_spool import ListenerSpool, store_rows
from abusedesk.store.tables import RawReport
from abusedesk.store.types import ReportSource, ReportStatus, utcnow

_TABLE: Table = RawReport.__table__  # type: ignore[attr-defined]


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
    rows = _rows(reports)
    if engine.dialect.name == "sqlite":
        return store_rows(engine, _TABLE, rows)
    statement = insert(RawReport).returning(col(RawReport.id), sort_by_parameter_order=True)
    try:
        with engine.begin() as connection:
            # One multi-row statement and one commit for the whole batch: that single
            # commit is what makes a batch cheap, and atomic.
            ids = list(connection.execute(statement, rows).scalars())
    except DBAPIError as exc:
        raise StorageError(f"could not store {len(rows)} report(s): {_first_line(exc)}") from exc
    return [report_id for report_id in ids if report_id is not None]


class ListenerStore:
    """How the SMTP listener stores its batches, from one thread: as `store_reports`
    does, but on SQLite through a connection of its own (see `sqlite_spool`)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._sqlite = ListenerSpool(engine, _TABLE) if engine.dialect.name == "sqlite" else None

    def __call__(self, reports: Sequence[IncomingReport]) -> list[int]:
        if self._sqlite is None or not reports:
            return store_reports(self._engine, reports)
        return self._sqlite.store(_rows(reports))

    def close(self) -> None:
        if self._sqlite is not None:
            self._sqlite.close()


def _rows(reports: Sequence[IncomingReport]) -> list[dict[str, Any]]:
    return [
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


def _first_line(exc: DBAPIError) -> str:
    return str(exc.orig).strip().splitlines()[0] if str(exc.orig).strip() else type(exc).__name__
