"""The IMAP poller against a real Dovecot, on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
import logging
import random
import re
import threading
import time
from collections.abc import Callable, Iterator

import pytest
from imapclient.exceptions import IMAPClientError
from sqlalchemy import Engine, select, text
from sqlmodel import Session
from tests.conftest import CORPUS, RunningService
from tests.dovecot import Dovecot, MailUser, running_dovecot

from abusedesk.config import ImapAccount, ImapSettings, Settings
from abusedesk.errors import StorageError
from abusedesk.ingest.backoff import Backoff
from abusedesk.ingest.imap import poll_once, run_imap_poller
from abusedesk.service import Roles
from abusedesk.store.tables import ImapCursor, RawReport

REPORTS = [
    (CORPUS / name).read_bytes()
    for name in (
        "01-rfc5965-b1-minimal-abuse.eml",
        "02-rfc5965-b2-extended-abuse.eml",
        "07-aol-scomp-2007-redacted-sender.eml",
    )
]
FAST_RETRIES = Backoff(initial=0.05, cap=0.5)


@pytest.fixture(scope="module")
def dovecot_server() -> Iterator[Dovecot]:
    with running_dovecot() as server:
        yield server


@pytest.fixture
def mailbox(dovecot_server: Dovecot) -> MailUser:
    """A fresh, empty mailbox on the shared server."""
    return dovecot_server.add_user()


def crlf(raw: bytes) -> bytes:
    """IMAP hands messages out with CRLF line endings, whatever was appended."""
    return re.sub(rb"\r?\n", b"\r\n", raw)


def stored_reports(engine: Engine) -> list[RawReport]:
    with Session(engine) as session:
        return list(session.execute(select(RawReport).order_by(RawReport.id)).scalars())


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> float:
    """Seconds until `condition` held; fails the test after `timeout`."""
    started = time.monotonic()
    while not condition():
        assert time.monotonic() - started < timeout, f"timed out waiting for {what}"
        time.sleep(0.05)
    return time.monotonic() - started


class PollerThread:
    """`run_imap_poller` in a thread with its own event loop, as the service runs it."""

    def __init__(self, settings: Settings, engine: Engine) -> None:
        self.wakeups = 0
        self._loop = asyncio.new_event_loop()
        self._stop = asyncio.Event()
        poller = run_imap_poller(
            settings, engine, self._stop, self._on_stored, backoff=FAST_RETRIES
        )
        self._thread = threading.Thread(target=self._loop.run_until_complete, args=(poller,))

    def _on_stored(self) -> None:
        self.wakeups += 1

    def __enter__(self) -> PollerThread:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def stop(self) -> float:
        """Stop the poller; returns how long it took to finish."""
        started = time.monotonic()
        if self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._stop.set)
            self._thread.join(10)
        assert not self._thread.is_alive(), "the poller did not stop"
        self._loop.close()
        return time.monotonic() - started


def with_accounts(settings: Settings, *accounts: ImapAccount, interval: float = 60) -> Settings:
    imap = ImapSettings(accounts=list(accounts), poll_interval_seconds=interval)
    return settings.model_copy(update={"imap": imap})


def test_new_reports_are_stored_then_moved(engine: Engine, mailbox: MailUser) -> None:
    for raw in REPORTS[:2]:
        mailbox.append(raw)
    account = mailbox.account()

    assert poll_once(account, engine) == 2

    stored = stored_reports(engine)
    assert [r.raw for r in stored] == [crlf(raw) for raw in REPORTS[:2]]
    uidvalidity = mailbox.uidvalidity()
    assert [r.envelope for r in stored] == [
        {"account": mailbox.username + "@127.0.0.1", "folder": "INBOX", "uid": uid,
         "uidvalidity": uidvalidity}
        for uid in (1, 2)
    ]  # fmt: skip
    assert all(r.source == "imap" and r.status == "pending" for r in stored)
    assert not any(r.trusted for r in stored)
    assert stored[0].trust_reason == (
        f"IMAP mailbox {mailbox.username}@127.0.0.1 is not marked as a provider feed"
    )
    assert mailbox.messages("INBOX") == []
    assert mailbox.messages("Processed") == [crlf(raw) for raw in REPORTS[:2]]
    assert mailbox.messages("Quarantine") == []  # created, and empty

    assert poll_once(account, engine) == 0
    assert len(stored_reports(engine)) == 2


def test_provider_feed_reports_are_trusted(engine: Engine, mailbox: MailUser) -> None:
    mailbox.append(REPORTS[0])
    assert poll_once(mailbox.account(provider_feed=True), engine) == 1
    [report] = stored_reports(engine)
    assert report.trusted
    assert report.trust_reason == (
        f"IMAP mailbox {mailbox.username}@127.0.0.1 is a configured provider feed"
    )


def test_a_report_stored_before_a_crash_is_moved_not_stored_again(
    engine: Engine, mailbox: MailUser
) -> None:
    mailbox.append(REPORTS[0])
    account = mailbox.account()
    # The connection drops after the commit and before the move: a poller that
    # dies there leaves a stored report in the inbox.
    with pytest.raises((IMAPClientError, OSError)):
        poll_once(account, engine, on_stored=mailbox.kick)
    assert mailbox.messages("INBOX") == [crlf(REPORTS[0])]
    mailbox.append(REPORTS[1])

    assert poll_once(account, engine) == 1  # a new session: only the cursor in the database
    assert [r.raw for r in stored_reports(engine)] == [crlf(REPORTS[0]), crlf(REPORTS[1])]
    assert mailbox.messages("INBOX") == []
    assert mailbox.messages("Processed") == [crlf(REPORTS[0]), crlf(REPORTS[1])]
    with Session(engine) as session:
        [cursor] = session.execute(select(ImapCursor)).scalars()
    assert (cursor.folder, cursor.uidvalidity, cursor.last_uid) == (
        "INBOX",
        mailbox.uidvalidity(),
        2,
    )


def test_a_new_uidvalidity_starts_the_folder_over(engine: Engine, mailbox: MailUser) -> None:
    account = mailbox.account(folder="Feed")
    mailbox.append(REPORTS[0], folder="Feed")
    mailbox.append(REPORTS[1], folder="Feed")
    assert poll_once(account, engine) == 2
    old_uidvalidity = mailbox.uidvalidity("Feed")

    mailbox.recreate_folder("Feed")
    assert mailbox.uidvalidity("Feed") != old_uidvalidity
    mailbox.append(REPORTS[2], folder="Feed")  # UID 1 again, which the old cursor had passed

    assert poll_once(account, engine) == 1
    assert stored_reports(engine)[-1].raw == crlf(REPORTS[2])
    assert mailbox.messages("Feed") == []


def test_a_report_waits_in_the_inbox_while_the_database_is_away(
    engine: Engine, mailbox: MailUser
) -> None:
    mailbox.append(REPORTS[0])
    account = mailbox.account()
    with engine.begin() as connection:
        connection.execute(text("ALTER TABLE rawreport RENAME TO rawreport_away"))
    try:
        with pytest.raises(StorageError):
            poll_once(account, engine)
        assert mailbox.messages("INBOX") == [crlf(REPORTS[0])]
        assert mailbox.messages("Processed") == []
    finally:
        with engine.begin() as connection:
            connection.execute(text("ALTER TABLE rawreport_away RENAME TO rawreport"))

    assert poll_once(account, engine) == 1
    assert [r.raw for r in stored_reports(engine)] == [crlf(REPORTS[0])]
    assert mailbox.messages("INBOX") == []


def test_the_running_poller_retries_until_the_database_is_back(
    settings: Settings, engine: Engine, mailbox: MailUser
) -> None:
    with engine.begin() as connection:
        connection.execute(text("ALTER TABLE rawreport RENAME TO rawreport_away"))
    mailbox.append(REPORTS[0])
    # IDLE says nothing more about a message already there: only the retry can store it.
    with PollerThread(with_accounts(settings, mailbox.account()), engine):
        time.sleep(1)
        assert mailbox.messages("INBOX") == [crlf(REPORTS[0])]
        with engine.begin() as connection:
            connection.execute(text("ALTER TABLE rawreport_away RENAME TO rawreport"))
        wait_until(lambda: len(stored_reports(engine)) == 1, 10, "a retry")
        wait_until(lambda: mailbox.messages("INBOX") == [], 5, "the move")


def test_a_message_that_cannot_be_stored_is_quarantined(
    engine: Engine, mailbox: MailUser, caplog: pytest.LogCaptureFixture
) -> None:
    oversized = REPORTS[1] + b"\n" + b"padding\n" * 2000
    mailbox.append(oversized)
    mailbox.append(REPORTS[0])
    limit = len(crlf(REPORTS[0])) + 1000

    with caplog.at_level(logging.WARNING, "abusedesk.ingest"):
        assert poll_once(mailbox.account(), engine, max_size=limit) == 1

    assert [r.raw for r in stored_reports(engine)] == [crlf(REPORTS[0])]
    assert mailbox.messages("Quarantine") == [crlf(oversized)]
    assert mailbox.messages("Processed") == [crlf(REPORTS[0])]
    assert mailbox.messages("INBOX") == []
    assert f"uid 1: moved to Quarantine, not stored: {len(crlf(oversized))} bytes" in caplog.text


def test_idle_wakes_the_poller_when_a_report_arrives(
    settings: Settings, engine: Engine, mailbox: MailUser
) -> None:
    mailbox.append(REPORTS[0])
    # A minute between polls: only IDLE can bring the second report in quickly.
    with PollerThread(with_accounts(settings, mailbox.account(), interval=60), engine) as poller:
        wait_until(lambda: len(stored_reports(engine)) == 1, 10, "the first report")
        time.sleep(0.3)  # let the poller settle into IDLE
        mailbox.append(REPORTS[1])
        assert wait_until(lambda: len(stored_reports(engine)) == 2, 10, "the second report") < 3
        assert poller.stop() < 3
    assert poller.wakeups == 2
    assert mailbox.messages("Processed") == [crlf(REPORTS[0]), crlf(REPORTS[1])]


def test_without_move_or_idle_it_polls_and_copies(settings: Settings, engine: Engine) -> None:
    with running_dovecot(capability="IMAP4rev1 LITERAL+ SASL-IR ID ENABLE UIDPLUS") as server:
        mailbox = server.add_user()
        with mailbox.client() as client:
            assert not client.has_capability("MOVE") and not client.has_capability("IDLE")
        mailbox.append(REPORTS[0])
        account = mailbox.account()
        with PollerThread(with_accounts(settings, account, interval=0.2), engine):
            wait_until(lambda: len(stored_reports(engine)) == 1, 10, "the first report")
            mailbox.append(REPORTS[1])
            wait_until(lambda: len(stored_reports(engine)) == 2, 10, "a poll after the interval")
            wait_until(lambda: len(mailbox.messages("Processed")) == 2, 5, "the copies")
        # COPY, \Deleted and UID EXPUNGE leave nothing behind, not even flagged messages.
        assert mailbox.messages("INBOX") == []
        assert mailbox.messages("Processed") == [crlf(REPORTS[0]), crlf(REPORTS[1])]


def test_the_poller_reconnects_after_dovecot_restarts(
    settings: Settings, engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    with running_dovecot() as server:
        mailbox = server.add_user()
        mailbox.append(REPORTS[0])
        with (
            caplog.at_level(logging.INFO, "abusedesk.ingest"),
            PollerThread(with_accounts(settings, mailbox.account()), engine),
        ):
            wait_until(lambda: len(stored_reports(engine)) == 1, 10, "the first report")
            server.restart()
            mailbox.append(REPORTS[1])
            wait_until(lambda: len(stored_reports(engine)) == 2, 10, "a report after the restart")
            mailbox.kick()
            mailbox.append(REPORTS[2])
            wait_until(lambda: len(stored_reports(engine)) == 3, 10, "a report after a kick")
    assert [r.raw for r in stored_reports(engine)] == [crlf(raw) for raw in REPORTS]
    reconnects = [r for r in caplog.records if "reconnecting in" in r.getMessage()]
    assert len(reconnects) >= 2 and all(r.levelno == logging.WARNING for r in reconnects)
    stored_lines = [r.getMessage() for r in caplog.records if "stored (" in r.getMessage()]
    assert [line.split()[2] for line in stored_lines] == [str(r.id) for r in stored_reports(engine)]


def test_the_service_runs_the_poller(settings: Settings, engine: Engine, mailbox: MailUser) -> None:
    mailbox.append(REPORTS[0])
    with RunningService(
        with_accounts(settings, mailbox.account()),
        engine,
        Roles(smtp=False, worker=False, web=False),
    ):
        wait_until(lambda: len(stored_reports(engine)) == 1, 10, "the service to poll")
    with RunningService(
        with_accounts(settings, mailbox.account()),
        engine,
        Roles(smtp=False, worker=False, web=False, imap=False),
    ):
        mailbox.append(REPORTS[1])
        time.sleep(1)
    assert len(stored_reports(engine)) == 1


@pytest.mark.parametrize("seed", range(5))
def test_backoff_doubles_with_jitter_up_to_its_cap(seed: int) -> None:
    retries = Backoff(initial=1.0, cap=8.0).retries(random.Random(seed))
    delays = [retries.next_delay() for _ in range(2000)]
    for step, delay in zip([1.0, 2.0, 4.0, 8.0, 8.0], delays, strict=False):
        assert step / 2 <= delay <= step
    assert all(4.0 <= delay <= 8.0 for delay in delays[3:])
    retries.reset()
    assert retries.next_delay() <= 1.0
