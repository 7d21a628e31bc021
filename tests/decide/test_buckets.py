"""Hourly complaint buckets: kept in step by recording, and counting exactly what rows count."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, insert, select, update
from sqlmodel import Session, col
from tests.decide.conftest import add_complaint, mailbox_id
from tests.pipeline.test_worker import an_attributable_fixture, store

from abusedesk.config import Settings
from abusedesk.decide.counter_sql import CounterQuery
from abusedesk.decide.counters import NO_CAP, CounterQueries, SqlCounters
from abusedesk.decide.events import load_subject
from abusedesk.decide.loader import parse_rules
from abusedesk.pipeline.worker import ReportWorker
from abusedesk.record.buckets import rebuild_buckets
from abusedesk.store.engine import create_database_engine
from abusedesk.store.migrate import upgrade_database
from abusedesk.store.tables import Complaint, ComplaintVolume, Mailbox, RawReport

START = datetime(2026, 5, 1, tzinfo=UTC)
COUNTERS = """\
params: {wanted: complaint}
counters:
  domain_all_24h: {count: complaint, per: domain, within: 24h}
  domain_trusted_90m: {count: complaint, per: domain, within: 90m,
                       where: "report.trusted and report.kind == params.wanted"}
  company_complaints_24h: {count: complaint, per: company, within: 24h,
                           where: "report.kind == 'complaint'"}
  company_untrusted_7d: {count: complaint, per: company, within: 7d, where: not report.trusted}
  company_not_spam_2h: {count: complaint, per: company, within: 2h,
                        where: "report.kind != 'complaint' or not report.trusted"}
"""
SENDERS = ("alice@shop.example", "bob@shop.example", "orders@bakery.example")


def buckets(engine: Engine) -> set[tuple[object, ...]]:
    with engine.connect() as connection:
        rows = connection.execute(
            select(
                col(ComplaintVolume.domain_id),
                col(ComplaintVolume.hour),
                col(ComplaintVolume.kind),
                col(ComplaintVolume.trusted),
                col(ComplaintVolume.complaints),
            ).where(col(ComplaintVolume.complaints) != 0)
        )
        return {tuple(row) for row in rows}


def rebuilt(engine: Engine) -> set[tuple[object, ...]]:
    """What the buckets should hold: every stored complaint bucketed afresh."""
    with engine.connect() as connection:
        transaction = connection.begin()
        rebuild_buckets(connection)
        rows = connection.execute(
            select(
                col(ComplaintVolume.domain_id),
                col(ComplaintVolume.hour),
                col(ComplaintVolume.kind),
                col(ComplaintVolume.trusted),
                col(ComplaintVolume.complaints),
            )
        )
        found = {tuple(row) for row in rows}
        transaction.rollback()
    return found


def test_bucketed_counts_equal_counting_every_row(directory_engine: Engine) -> None:
    engine = directory_engine
    rng = random.Random(11)
    with Session(engine) as session:
        for _ in range(400):
            at = START + timedelta(seconds=rng.randrange(0, 4 * 86_400))
            if rng.random() < 0.2:  # some exactly on the hour, where the edges are
                at = at.replace(minute=0, second=0)
            kind = rng.choice(["complaint", "complaint", "not-spam", "opt-out"])
            mailbox = mailbox_id(engine, rng.choice(SENDERS))
            add_complaint(session, mailbox, at, trusted=rng.random() < 0.8, kind=kind)
        session.commit()
    ruleset = parse_rules(COUNTERS, Path("wide.yaml")).ruleset
    assert ruleset is not None
    queries = CounterQueries()
    moments = [START + timedelta(seconds=rng.randrange(0, 5 * 86_400)) for _ in range(40)]
    moments += [START + timedelta(days=2, hours=h) for h in range(3)]  # hour-aligned
    checked = 0
    with Session(engine) as session:
        counters = SqlCounters(session, queries)
        params = {"wanted": "complaint"}
        for address in SENDERS:
            subject = load_subject(session, mailbox_id(engine, address))
            assert subject is not None
            for counter in ruleset.counters.values():
                query = queries.get(counter)
                assert isinstance(query, CounterQuery) and query.buckets is not None
                for at in moments:
                    values = query.values(subject, at, params, NO_CAP)
                    rows = session.connection().execute(query.count, values).scalar_one()
                    assert counters.count(counter, subject, at, params, None) == rows
                    for cap in (1, 5, 40):
                        capped = counters.count(counter, subject, at, params, cap)
                        assert capped == min(rows, cap), (counter.name, at, cap)
                    checked += rows > 0
    assert checked > 100  # the moments fall among the complaints, not beside them


def test_a_report_recorded_again_moves_its_complaint_to_its_new_bucket(
    settings: Settings, directory_engine: Engine
) -> None:
    engine = directory_engine
    (report_id,) = store(engine, an_attributable_fixture())
    ReportWorker(engine, settings).run_until_idle()
    (before,) = buckets(engine)
    assert before[3] is True and before[4] == 1
    with Session(engine) as session:  # processed again, now as an untrusted report
        session.execute(
            update(RawReport)
            .where(col(RawReport.id) == report_id)
            .values(status="pending", trusted=False, claimed_at=None)
        )
        session.commit()
    ReportWorker(engine, settings).run_until_idle()
    (after,) = buckets(engine)
    assert after == (*before[:3], False, 1)
    assert buckets(engine) == rebuilt(engine)


def test_migrating_buckets_the_stored_complaints(database_url: str, settings: Settings) -> None:
    engine = create_database_engine(database_url)
    upgrade_database(engine, "0004")
    # A directory and complaints as 0004 stored them (ids clear of PostgreSQL's sequences).
    with engine.begin() as connection:
        connection.exec_driver_sql(
            "INSERT INTO company (id, name, created_at) VALUES (1, 'Acme', '2025-01-01')"
        )
        connection.exec_driver_sql(
            "INSERT INTO domain (id, name, company_id, created_at) "
            "VALUES (1, 'shop.example', 1, '2025-01-01')"
        )
        connection.execute(
            insert(Mailbox.__table__),  # type: ignore[attr-defined]
            [
                {
                    "id": 1,
                    "address": "alice@shop.example",
                    "domain_id": 1,
                    "can_send": True,
                    "can_receive": True,
                    "can_login": True,
                }
            ],
        )
        for i in range(5):
            at = START + timedelta(minutes=25 * i)
            connection.execute(
                insert(RawReport.__table__),  # type: ignore[attr-defined]
                [
                    {
                        "id": 1001 + i,
                        "sha256": f"{i:064x}",
                        "raw": b"r",
                        "size": 1,
                        "received_at": at,
                        "source": "file",
                        "envelope": {},
                        "trusted": True,
                        "status": "processed",
                        "attempts": 0,
                    }
                ],
            )
            connection.exec_driver_sql(
                "INSERT INTO complaint (id, raw_report_id, dedupe_key, kind, format, trusted, "
                "occurred_at, recorded_at, mailbox_id, problems) "
                f"VALUES ({1001 + i}, {1001 + i}, 'k{i}', 'complaint', 'arf', true, "
                f"'{at.replace(tzinfo=None)}', '{at.replace(tzinfo=None)}', 1, '[]')"
            )
    upgrade_database(engine)
    with Session(engine) as session:
        domains = session.execute(select(col(Complaint.domain_id))).scalars().all()
        assert domains == [1] * 5
        # One more in the second hour must land in the bucket the migration made.
        add_complaint(session, 1, START + timedelta(hours=1, minutes=50))
        session.commit()
    assert buckets(engine) == {
        (1, START, "complaint", True, 3),
        (1, START + timedelta(hours=1), "complaint", True, 3),
    }
    engine.dispose()
