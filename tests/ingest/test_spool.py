"""Storing raw reports: what comes back is exactly what arrived, however it was written.

On SQLite the spool writes through the driver rather than through SQLAlchemy;
these tests hold it to storing every value exactly as SQLAlchemy's own insert
of the same row would.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, text
from sqlmodel import Session, select

from abusedesk.errors import StorageError
from abusedesk.ingest.spool import IncomingReport, ListenerStore, store_reports
from abusedesk.store.tables import RawReport
from abusedesk.store.types import ReportSource

RECEIVED = datetime(2026, 11, 27, 10, 0, 0, tzinfo=UTC)  # whole seconds: the tricky case

Store = Callable[[Engine, Sequence[IncomingReport]], list[int]]


def through_the_listener(engine: Engine, reports: Sequence[IncomingReport]) -> list[int]:
    store = ListenerStore(engine)
    try:
        return store(reports)
    finally:
        store.close()


@pytest.fixture(params=[store_reports, through_the_listener], ids=["store_reports", "listener"])
def store(request: pytest.FixtureRequest) -> Store:
    """Both ways reports are stored: by the CLI and IMAP poller, and by the SMTP listener."""
    return request.param  # type: ignore[no-any-return]


def incoming(n: int, received_at: datetime = RECEIVED) -> IncomingReport:
    return IncomingReport(
        raw=b"Subject: report %d\r\n\r\nbody \xff\x00 bytes\r\n" % n,
        source=ReportSource.SMTP,
        trusted=n % 2 == 0,
        trust_reason=f"reason {n}",
        peer="192.0.2.7" if n else None,
        envelope={"helo": "mx.example", "rcpt_to": ["fbl@abusedesk.example"], "tls": False},
        received_at=received_at,
    )


def test_a_batch_comes_back_as_it_was_stored_and_in_order(engine: Engine, store: Store) -> None:
    reports = [incoming(n) for n in range(7)]
    store(engine, [incoming(9)])
    ids = store(engine, reports)
    assert ids == sorted(ids) and len(set(ids)) == 7
    with Session(engine) as session:
        rows = {row.id: row for row in session.exec(select(RawReport)).all()}
    for report_id, report in zip(ids, reports, strict=True):
        row = rows[report_id]
        assert row.raw == report.raw and row.size == len(report.raw)
        assert row.received_at == report.received_at
        assert row.envelope == report.envelope
        assert (row.trusted, row.trust_reason, row.peer) == (
            report.trusted,
            report.trust_reason,
            report.peer,
        )
        assert (row.status, row.reason, row.attempts) == ("pending", None, 0)
        assert row.source == "smtp"


def test_values_are_written_exactly_as_sqlalchemy_writes_them(engine: Engine, store: Store) -> None:
    with_micros = RECEIVED.replace(microsecond=1234)
    [spooled, spooled_micros] = store(engine, [incoming(1), incoming(2, received_at=with_micros)])
    with Session(engine) as session:
        for n, at in ((1, RECEIVED), (2, with_micros)):
            report = incoming(n, received_at=at)
            session.add(
                RawReport(
                    sha256="x",
                    raw=report.raw,
                    size=len(report.raw),
                    received_at=at,
                    source="smtp",
                    peer=report.peer,
                    envelope=report.envelope,
                    trusted=report.trusted,
                    trust_reason=report.trust_reason,
                )
            )
        session.commit()
    columns = "received_at, envelope, trusted, peer, trust_reason, raw"
    with engine.connect() as connection:
        stored = connection.execute(text(f"SELECT {columns} FROM rawreport ORDER BY id")).all()
    assert [tuple(row) for row in stored[:2]] == [tuple(row) for row in stored[2:]]
    assert spooled < spooled_micros


POISON_TRIGGER = {
    "sqlite": [
        "CREATE TRIGGER poison BEFORE INSERT ON rawreport WHEN NEW.trust_reason = 'poison' "
        "BEGIN SELECT RAISE(ABORT, 'refused by the test'); END"
    ],
    "postgresql": [
        "CREATE FUNCTION refuse_poison() RETURNS trigger AS $$ BEGIN "
        "IF NEW.trust_reason = 'poison' THEN RAISE EXCEPTION 'refused by the test'; END IF; "
        "RETURN NEW; END $$ LANGUAGE plpgsql",
        "CREATE TRIGGER poison BEFORE INSERT ON rawreport FOR EACH ROW "
        "EXECUTE FUNCTION refuse_poison()",
    ],
}


def test_a_batch_the_database_refuses_stores_none_of_it(engine: Engine, store: Store) -> None:
    [first] = store(engine, [incoming(1)])
    with engine.begin() as connection:
        for statement in POISON_TRIGGER[engine.dialect.name]:
            connection.exec_driver_sql(statement)
    poisoned = IncomingReport(
        raw=b"x", source=ReportSource.SMTP, trusted=False, trust_reason="poison"
    )
    with pytest.raises(StorageError, match="could not store 3 report"):
        store(engine, [incoming(2), incoming(3), poisoned])
    with Session(engine) as session:
        assert [row.id for row in session.exec(select(RawReport)).all()] == [first]
    assert len(store(engine, [incoming(4)])) == 1  # and the next batch is stored


def test_on_sqlite_the_listener_waits_for_the_write_lock_and_follows_it_closely(
    engine: Engine,
) -> None:
    if engine.dialect.name != "sqlite":
        pytest.skip("SQLite's single write lock")
    holder = sqlite3.connect(
        engine.url.database or "", isolation_level=None, check_same_thread=False
    )
    holder.execute("BEGIN IMMEDIATE")  # a worker recording its batch
    released_at: list[float] = []

    def release_later() -> None:
        time.sleep(0.3)
        released_at.append(time.monotonic())
        holder.execute("COMMIT")

    releaser = threading.Thread(target=release_later)
    releaser.start()
    ids = through_the_listener(engine, [incoming(1)])
    stored_at = time.monotonic()
    releaser.join()
    holder.close()
    assert len(ids) == 1
    assert stored_at >= released_at[0]
    # SQLite's own busy handler would have slept on for up to 50 ms at this point.
    assert stored_at - released_at[0] < 0.02
    with engine.connect() as connection:  # the pool's connections wait in SQLite, as before
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000


def test_a_large_batch_takes_several_statements_and_keeps_its_order(
    engine: Engine, store: Store
) -> None:
    reports = [incoming(n) for n in range(300)]  # more rows than one statement may bind
    ids = store(engine, reports)
    assert len(set(ids)) == 300
    with Session(engine) as session:
        raw_by_id = {row.id: row.raw for row in session.exec(select(RawReport)).all()}
    assert [raw_by_id[i] for i in ids] == [r.raw for r in reports]
