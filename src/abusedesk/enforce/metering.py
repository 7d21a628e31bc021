"""Metering: how many messages and recipients each mailbox sent, and who sent which queue id.

The policy service calls `SendMeter.record` at END-OF-MESSAGE; that only adds
to counters in memory. `MeterFlusher` writes them every few seconds in one
transaction: hourly `sentvolume` buckets are upserted by adding (several nodes
may meter the same mailbox in the same hour), and `queue_id → sasl_username`
goes to `submittedmessage` for attribution. Only authenticated submissions are
recorded there: an envelope sender is whatever the client wrote, and
attribution must rest on what our relay verified. A failed write keeps the
batch for the next attempt, up to a bound, so a database outage costs
metering precision and never the service.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import Connection, Engine, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import col

from abusedesk.enforce.state import MAILBOX_ID, normalize
from abusedesk.enforce.stats import PolicyStats
from abusedesk.store.tables import Mailbox, SentVolume, SubmittedMessage

log = logging.getLogger(__name__)

FLUSH_SECONDS = 5.0
MAX_PENDING_SUBMISSIONS = 500_000
"""Queue ids held while the database is away; beyond it, new ones are dropped (and logged)."""
LOOKUP_CHUNK = 500
MAX_QUEUE_ID = 64
MAX_ADDRESS = 320


@dataclass(frozen=True, slots=True)
class Submission:
    sasl_username: str
    at: datetime
    recipients: int


@dataclass(slots=True)
class MeterBatch:
    """Counts since the last flush: (address, hour number since the epoch) → [messages, rcpts]."""

    volume: dict[tuple[str, int], list[int]] = field(default_factory=dict)
    submissions: dict[str, Submission] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.volume or self.submissions)


class SendMeter:
    def __init__(self) -> None:
        self._batch = MeterBatch()
        self.dropped_submissions = 0

    def record(
        self, sender: str, recipients: int, *, queue_id: str = "", sasl_username: str = ""
    ) -> None:
        """Count one accepted message of `sender` (the SASL user, else the envelope sender)."""
        now = time.time()
        if sender:
            key = (normalize(sender), int(now // 3600))
            counts = self._batch.volume.get(key)
            if counts is None:
                self._batch.volume[key] = [1, recipients]
            else:
                counts[0] += 1
                counts[1] += recipients
        if sasl_username and queue_id and len(queue_id) <= MAX_QUEUE_ID:
            if len(self._batch.submissions) >= MAX_PENDING_SUBMISSIONS:
                self.dropped_submissions += 1
                return
            self._batch.submissions[queue_id] = Submission(
                sasl_username.strip()[:MAX_ADDRESS], datetime.fromtimestamp(now, UTC), recipients
            )

    def take(self) -> MeterBatch:
        """What was counted since the last `take`; counting starts afresh."""
        batch, self._batch = self._batch, MeterBatch()
        return batch

    def give_back(self, batch: MeterBatch) -> None:
        """Put back a batch that could not be written, so the next flush writes it too."""
        for key, (messages, recipients) in batch.volume.items():
            counts = self._batch.volume.setdefault(key, [0, 0])
            counts[0] += messages
            counts[1] += recipients
        room = MAX_PENDING_SUBMISSIONS - len(self._batch.submissions)
        for queue_id, submission in list(batch.submissions.items())[: max(room, 0)]:
            self._batch.submissions.setdefault(queue_id, submission)
        self.dropped_submissions += max(len(batch.submissions) - max(room, 0), 0)


def write_batch(engine: Engine, batch: MeterBatch) -> None:
    """Add one batch to the database in one transaction."""
    with engine.begin() as connection:
        ids = _mailbox_ids(connection, {address for address, _ in batch.volume})
        volume = [
            {
                "mailbox_id": ids[address],
                "hour": datetime.fromtimestamp(hour * 3600, UTC),
                "messages": messages,
                "recipients": recipients,
            }
            for (address, hour), (messages, recipients) in batch.volume.items()
            if address in ids  # an envelope sender we do not host is not metered
        ]
        if volume:
            insert = _insert(connection)(SentVolume)
            table = SentVolume.__table__.c  # type: ignore[attr-defined]
            connection.execute(
                insert.on_conflict_do_update(
                    index_elements=[table.mailbox_id, table.hour],
                    set_={
                        "messages": table.messages + insert.excluded.messages,
                        "recipients": table.recipients + insert.excluded.recipients,
                    },
                ),
                volume,
            )
        if batch.submissions:
            insert = _insert(connection)(SubmittedMessage)
            # Postfix reuses short queue ids over time: the latest submission is the one meant.
            connection.execute(
                insert.on_conflict_do_update(
                    index_elements=[SubmittedMessage.__table__.c.queue_id],  # type: ignore[attr-defined]
                    set_={
                        "sasl_username": insert.excluded.sasl_username,
                        "submitted_at": insert.excluded.submitted_at,
                        "recipient_count": insert.excluded.recipient_count,
                    },
                ),
                [
                    {
                        "queue_id": queue_id,
                        "sasl_username": s.sasl_username,
                        "submitted_at": s.at,
                        "recipient_count": s.recipients,
                    }
                    for queue_id, s in batch.submissions.items()
                ],
            )


def _insert(connection: Connection):  # type: ignore[no-untyped-def]
    return postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert


def _mailbox_ids(connection: Connection, addresses: Iterable[str]) -> dict[str, int]:
    wanted = sorted(addresses)
    found: dict[str, int] = {}
    for start in range(0, len(wanted), LOOKUP_CHUNK):
        chunk = wanted[start : start + LOOKUP_CHUNK]
        rows = connection.execute(
            select(col(Mailbox.address), MAILBOX_ID).where(col(Mailbox.address).in_(chunk))
        )
        found.update((address, int(mailbox_id)) for address, mailbox_id in rows)
    return found


class MeterFlusher:
    """Writes the meter's counts every `interval` seconds, and once more when stopped."""

    def __init__(
        self,
        engine: Engine,
        meter: SendMeter,
        interval: float = FLUSH_SECONDS,
        stats: PolicyStats | None = None,
    ) -> None:
        self._engine = engine
        self._meter = meter
        self._interval = interval
        self._stats = stats or PolicyStats()

    async def flush(self) -> bool:
        """Write what was counted; False (and the counts kept) when the database refused."""
        batch = self._meter.take()
        if not batch:
            return True
        try:
            await asyncio.to_thread(write_batch, self._engine, batch)
        except Exception as exc:  # the database may be away: keep the counts for later
            self._meter.give_back(batch)
            self._stats.metering_flush_failures += 1
            log.warning("enforce: cannot write metering (%s); keeping it for the next try", exc)
            return False
        if self._meter.dropped_submissions:
            log.warning(
                "enforce: %d queue ids were not recorded (too many waiting for the database)",
                self._meter.dropped_submissions,
            )
            self._meter.dropped_submissions = 0
        return True

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self._interval)
            await self.flush()
