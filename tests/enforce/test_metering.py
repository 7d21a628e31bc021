"""Metering on both databases: hourly buckets added to in batches, queue ids for attribution."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, func, select
from sqlmodel import Session, col

from abusedesk.enforce.metering import MeterFlusher, SendMeter, write_batch
from abusedesk.store.directory import DatabaseDirectory
from abusedesk.store.engine import create_database_engine
from abusedesk.store.tables import Mailbox, SentVolume, SubmittedMessage

BOB = "bob@shop.example"


def volume(engine: Engine, address: str) -> list[tuple[datetime, int, int]]:
    with Session(engine) as session:
        rows = session.execute(
            select(col(SentVolume.hour), col(SentVolume.messages), col(SentVolume.recipients))
            .join(Mailbox, col(Mailbox.id) == col(SentVolume.mailbox_id))
            .where(col(Mailbox.address) == address)
            .order_by(col(SentVolume.hour))
        ).all()
    return [(hour, messages, recipients) for hour, messages, recipients in rows]


def test_messages_and_recipients_land_in_the_hour_bucket(directory_engine: Engine) -> None:
    meter = SendMeter()
    for number in range(1000):
        meter.record("Bob@Shop.example", 3, queue_id=f"Q{number}", sasl_username=BOB)
    meter.record("alice@shop.example", 1)  # unauthenticated, hosted: metered, no queue id
    meter.record("stranger@elsewhere.example", 5, queue_id="QX")  # not ours: not metered
    write_batch(directory_engine, meter.take())

    [(hour, messages, recipients)] = volume(directory_engine, BOB)
    now = datetime.now(UTC)
    assert (hour.minute, hour.second, hour.microsecond) == (0, 0, 0)
    assert timedelta(0) <= now - hour < timedelta(hours=1)
    assert (messages, recipients) == (1000, 3000)
    assert [(m, r) for _, m, r in volume(directory_engine, "alice@shop.example")] == [(1, 1)]
    with Session(directory_engine) as session:
        assert session.execute(select(func.count()).select_from(SubmittedMessage)).scalar() == 1000
        buckets = session.execute(select(func.count()).select_from(SentVolume)).scalar()
    assert buckets == 2


def test_later_batches_add_to_the_same_bucket(directory_engine: Engine) -> None:
    meter = SendMeter()
    for _ in range(3):
        meter.record(BOB, 2, queue_id="", sasl_username=BOB)
        write_batch(directory_engine, meter.take())
    # A second node metering the same mailbox in the same hour adds to the same row.
    other = SendMeter()
    other.record(BOB, 10, sasl_username=BOB)
    write_batch(directory_engine, other.take())
    [(_, messages, recipients)] = volume(directory_engine, BOB)
    assert (messages, recipients) == (4, 16)


def test_the_queue_id_names_the_sasl_user_for_attribution(directory_engine: Engine) -> None:
    meter = SendMeter()
    meter.record(BOB, 1, queue_id="4QbC7d1XyZ", sasl_username=BOB)
    meter.record("alice@shop.example", 1, queue_id="4QbC7d1AAA")  # no SASL: not recorded
    write_batch(directory_engine, meter.take())
    directory = DatabaseDirectory(directory_engine)
    assert directory.sender_for_queue_id("4QbC7d1XyZ") == BOB
    assert directory.sender_for_queue_id("4QbC7d1AAA") is None
    # Postfix reuses short queue ids: the latest submission is the one meant.
    meter.record("alice@shop.example", 2, queue_id="4QbC7d1XyZ", sasl_username="alice@shop.example")
    write_batch(directory_engine, meter.take())
    assert directory.sender_for_queue_id("4QbC7d1XyZ") == "alice@shop.example"


def test_a_failed_flush_keeps_the_counts_for_the_next(
    directory_engine: Engine, tmp_path: Path
) -> None:
    meter = SendMeter()
    meter.record(BOB, 2, queue_id="Q1", sasl_username=BOB)

    async def flush_to(engine: Engine) -> bool:
        return await MeterFlusher(engine, meter).flush()

    broken = create_database_engine(f"sqlite:///{tmp_path / 'no-tables.sqlite3'}")
    assert asyncio.run(flush_to(broken)) is False
    meter.record(BOB, 3, queue_id="Q2", sasl_username=BOB)
    assert asyncio.run(flush_to(directory_engine)) is True
    [(_, messages, recipients)] = volume(directory_engine, BOB)
    assert (messages, recipients) == (2, 5)
    assert DatabaseDirectory(directory_engine).sender_for_queue_id("Q1") == BOB
    assert not meter.take()


def test_the_flusher_writes_periodically_and_once_more_when_stopped(
    directory_engine: Engine,
) -> None:
    meter = SendMeter()

    async def scenario() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(MeterFlusher(directory_engine, meter, interval=0.1).run(stop))
        meter.record(BOB, 1, sasl_username=BOB)
        await asyncio.sleep(0.5)
        assert [(m, r) for _, m, r in volume(directory_engine, BOB)] == [(1, 1)]
        meter.record(BOB, 1, sasl_username=BOB)
        stop.set()
        await asyncio.wait_for(task, 5)

    asyncio.run(scenario())
    assert [(m, r) for _, m, r in volume(directory_engine, BOB)] == [(2, 2)]
