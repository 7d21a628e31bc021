"""Deliver due notices to the smarthost: temporary trouble is retried, a 5xx is final.

`deliver_due` does one round (claim a batch, send it over one SMTP
connection, record each outcome); `abusedesk notices send` runs one round and
`abusedesk serve` runs `run_delivery`, a round every few seconds. A refused
connection, a dropped one or a 4xx reply leaves the notice queued with an
exponential backoff; after `give_up_hours` it is marked failed. A 5xx reply
marks it failed at once, with the smarthost's answer, for an operator to see.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import smtplib
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.errors import HeaderParseError

from sqlalchemy import Engine

from abusedesk.config import NoticesSettings
from abusedesk.metrics import Metrics
from abusedesk.notify.message import build_message
from abusedesk.notify.outbox import (
    claim_due,
    record_failed,
    record_retry,
    record_sent,
    retry_delay,
)
from abusedesk.store.tables import Notice
from abusedesk.store.types import utcnow

log = logging.getLogger(__name__)
BATCH = 50


@dataclass(frozen=True, slots=True)
class DeliveryRound:
    sent: int = 0
    retried: int = 0
    failed: int = 0

    @property
    def claimed(self) -> int:
        return self.sent + self.retried + self.failed


class _Outcome:
    def __init__(self) -> None:
        self.sent = self.retried = self.failed = 0


def deliver_due(
    engine: Engine, settings: NoticesSettings, *, now: datetime | None = None, limit: int = BATCH
) -> DeliveryRound:
    """One delivery round; never raises for SMTP trouble (it is recorded on the notices)."""
    at = now or utcnow()
    notices = claim_due(engine, limit, now=at)
    if not notices:
        return DeliveryRound()
    outcome = _Outcome()
    try:
        connection = smtplib.SMTP(
            settings.smarthost, settings.smarthost_port, timeout=settings.smtp_timeout_seconds
        )
    except (OSError, smtplib.SMTPException) as error:
        for notice in notices:
            reason = f"smarthost unreachable: {_describe(error)}"
            _temporary(engine, settings, notice, reason, at, outcome)
        return DeliveryRound(0, outcome.retried, outcome.failed)
    try:
        _send_all(engine, settings, connection, notices, at, outcome)
    finally:
        try:
            connection.quit()
        except (OSError, smtplib.SMTPException):
            connection.close()
    return DeliveryRound(outcome.sent, outcome.retried, outcome.failed)


def _send_all(
    engine: Engine,
    settings: NoticesSettings,
    connection: smtplib.SMTP,
    notices: list[Notice],
    at: datetime,
    outcome: _Outcome,
) -> None:
    for index, notice in enumerate(notices):
        try:
            message = build_message(notice, settings.from_address)
        except (ValueError, HeaderParseError, IndexError) as error:
            # An address the email API cannot write (a bad [notices] from_address, say)
            # will not get better by retrying: fail the notice, visibly, with the reason.
            record_failed(engine, notice, f"cannot build the message: {_describe(error)}")
            outcome.failed += 1
            continue
        try:
            connection.send_message(
                message, from_addr=settings.from_address, to_addrs=[notice.recipient]
            )
        except smtplib.SMTPRecipientsRefused as error:
            code, text = next(iter(error.recipients.values()))
            _answer(engine, settings, notice, code, text, at, outcome)
            _reset(connection)
        except smtplib.SMTPResponseException as error:
            _answer(engine, settings, notice, error.smtp_code, error.smtp_error, at, outcome)
            _reset(connection)
        except (OSError, smtplib.SMTPException) as error:
            # The connection is gone: this notice and the rest of the batch wait for the next round.
            reason = f"connection to the smarthost lost: {_describe(error)}"
            for rest in notices[index:]:
                _temporary(engine, settings, rest, reason, at, outcome)
            return
        else:
            record_sent(engine, notice)
            outcome.sent += 1
            log.info("notice %s sent to %s (%s)", notice.id, notice.recipient, notice.message_id)


def _answer(
    engine: Engine,
    settings: NoticesSettings,
    notice: Notice,
    code: int,
    text: bytes | str,
    at: datetime,
    outcome: _Outcome,
) -> None:
    said = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
    reason = f"smarthost answered {code} {said}".strip()
    if 500 <= code < 600:
        record_failed(engine, notice, reason)
        outcome.failed += 1
        log.error("notice %s to %s failed for good: %s", notice.id, notice.recipient, reason)
    else:
        _temporary(engine, settings, notice, reason, at, outcome)


def _temporary(
    engine: Engine,
    settings: NoticesSettings,
    notice: Notice,
    reason: str,
    at: datetime,
    outcome: _Outcome,
) -> None:
    """Retry later with backoff; once `give_up_hours` have passed, fail for good."""
    if at - notice.created_at > timedelta(hours=settings.give_up_hours):
        record_failed(engine, notice, f"gave up after {notice.attempts} attempts: {reason}")
        outcome.failed += 1
        log.error("notice %s to %s: gave up (%s)", notice.id, notice.recipient, reason)
        return
    outcome.retried += 1
    delay = retry_delay(notice.attempts, settings.retry_initial_seconds, settings.retry_max_seconds)
    record_retry(engine, notice, reason, at + delay)
    log.warning("notice %s: %s; retrying in %ss", notice.id, reason, int(delay.total_seconds()))


def _reset(connection: smtplib.SMTP) -> None:
    """After a refused transaction, RSET so the next notice starts clean on this connection."""
    with contextlib.suppress(OSError, smtplib.SMTPException):
        connection.rset()


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}".strip().rstrip(":")


async def run_delivery(
    engine: Engine,
    settings: NoticesSettings,
    stop: asyncio.Event,
    metrics: Metrics | None = None,
) -> None:
    """Deliver due notices every `send_interval_seconds` until `stop` is set."""
    while not stop.is_set():
        try:
            done = await asyncio.to_thread(deliver_due, engine, settings)
            if metrics is not None:
                counted = (("sent", done.sent), ("retry", done.retried), ("failed", done.failed))
                for outcome, count in counted:
                    metrics.notices_delivered.labels(outcome).inc(count)
            if done.claimed:
                log.info(
                    "notices: %s sent, %s to retry, %s failed", done.sent, done.retried, done.failed
                )
        except Exception:
            # The database may be briefly away; the notices wait in the outbox.
            log.exception("notice delivery round failed; trying again shortly")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=settings.send_interval_seconds)
