"""The IMAP poller: reports from provider-facing mailboxes, stored before they are moved.

For each configured account it stores every new message of `folder`
(`store_reports`) and only after the commit moves it to `processed_folder`
(see `imap_folder`). When the database is away the messages stay where they
are and are retried with backoff; when the server is away or drops us, the
poller reconnects with backoff. Between polls it waits in IDLE, so a report is
picked up as it arrives; a server without IDLE is polled every
`poll_interval_seconds`, and IDLE is renewed at that interval too.

Nothing is parsed here: a message that is not a feedback report at all is
stored like any other and quarantined by the worker with its reason, where the
console shows it. Only what cannot be stored goes to `quarantine_folder`: a
message the server cannot deliver, one without content, or one over
MAX_REPORT_SIZE (the SMTP listener's default limit; it would refuse it too).

Never reprocessing rests on the folder's UIDVALIDITY and the last stored UID,
kept in the database (`imap_cursor`). The cursor is saved after the reports'
commit, so a crash between the two stores a batch twice; the pipeline
deduplicates identical reports, so that costs a row and no complaint.

Library: imapclient, each mailbox in a thread of its own. Its parser handles
literals, FETCH responses and folder-name encoding, and it speaks IDLE, MOVE
and UIDPLUS; the core stays plain functions (`poll_once`) that tests and other
callers use directly. aioimaplib would save the thread but hands back raw
response lines to parse ourselves, which is where IMAP clients go wrong.
Run one poller per mailbox: several nodes polling one mailbox store reports twice.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from imapclient import IMAPClient  # type: ignore[import-untyped]
from imapclient.exceptions import (  # type: ignore[import-untyped]
    IMAPClientAbortError,
    IMAPClientError,
    LoginError,
)
from sqlalchemy import Engine

from abusedesk.config import ImapAccount, Settings
from abusedesk.errors import StorageError
from abusedesk.ingest.backoff import Backoff
from abusedesk.ingest.imap_folder import MAX_REPORT_SIZE, mailbox_name, poll_folder
from abusedesk.ingest.imap_mailbox import ensure_folders, open_mailbox, wait_for_new_mail

log = logging.getLogger(__name__)

DEFAULT_BACKOFF = Backoff(initial=1.0, cap=300.0)


def poll_once(
    account: ImapAccount,
    engine: Engine,
    *,
    max_size: int = MAX_REPORT_SIZE,
    on_stored: Callable[[], None] = lambda: None,
) -> int:
    """Connect, store and move every new message in the account's folder; return how many.

    Raises `StorageError` when the database is away (the messages stay in the
    folder), and imapclient's errors or `OSError` when the server is.
    """
    with open_mailbox(account) as client:
        ensure_folders(client, [account.processed_folder, account.quarantine_folder])
        return poll_folder(client, account, engine, max_size=max_size, on_stored=on_stored)


class MailboxPoller:
    """Keeps one account polled until `halt` is set: reconnects, retries, never raises."""

    def __init__(
        self,
        account: ImapAccount,
        engine: Engine,
        *,
        poll_interval: float,
        halt: threading.Event,
        on_stored: Callable[[], None],
        backoff: Backoff = DEFAULT_BACKOFF,
        max_size: int = MAX_REPORT_SIZE,
    ) -> None:
        self.account = account
        self.engine = engine
        self.poll_interval = poll_interval
        self.halt = halt
        self.on_stored = on_stored
        self.backoff = backoff
        self.max_size = max_size
        self.name = mailbox_name(account)
        self.reconnects = backoff.retries()

    def run(self) -> None:
        while not self.halt.is_set():
            try:
                with open_mailbox(self.account) as client:
                    log.info(
                        "imap %s: connected to %s:%s",
                        self.name,
                        self.account.host,
                        self.account.port,
                    )
                    self._serve(client)
                    return
            except LoginError as exc:
                problem = f"login refused ({exc}); check the account's username and password"
            except (IMAPClientAbortError, OSError) as exc:
                problem = f"connection lost or refused ({type(exc).__name__}: {exc})"
            except IMAPClientError as exc:
                problem = f"the server refused a command: {exc}"
            except Exception as exc:  # a bug must not end intake for good: log it and go on
                log.exception("imap %s: unexpected error", self.name)
                problem = f"unexpected {type(exc).__name__}"
            if self.halt.is_set():
                return
            delay = self.reconnects.next_delay()
            log.warning("imap %s: %s; reconnecting in %.1fs", self.name, problem, delay)
            self.halt.wait(delay)

    def _serve(self, client: IMAPClient) -> None:
        account = self.account
        ensure_folders(client, [account.processed_folder, account.quarantine_folder])
        storage_retries = self.backoff.retries()
        while not self.halt.is_set():
            try:
                poll_folder(
                    client,
                    account,
                    self.engine,
                    max_size=self.max_size,
                    on_stored=self.on_stored,
                    halt=self.halt,
                )
            except StorageError as exc:
                # The messages stay in the folder; IDLE would not wake us for them again.
                delay = storage_retries.next_delay()
                log.warning(
                    "imap %s: reports left in %s, retrying in %.1fs: %s",
                    self.name,
                    account.folder,
                    delay,
                    exc,
                )
                self.halt.wait(delay)
                continue
            # Only a whole poll shows the server is back: a login alone may be followed
            # by the same failure at once, and must not reset the backoff.
            self.reconnects.reset()
            storage_retries.reset()
            wait_for_new_mail(client, self.poll_interval, self.halt)


async def run_imap_poller(
    settings: Settings,
    engine: Engine,
    stop: asyncio.Event,
    on_stored: Callable[[], None],
    *,
    backoff: Backoff = DEFAULT_BACKOFF,
) -> None:
    """Poll every configured account until `stop` is set; `on_stored` runs in the loop."""
    accounts = settings.imap.accounts
    if not accounts:
        return
    loop = asyncio.get_running_loop()
    halt = threading.Event()

    def stored_from_thread() -> None:
        loop.call_soon_threadsafe(on_stored)

    pollers = [
        MailboxPoller(
            account,
            engine,
            poll_interval=settings.imap.poll_interval_seconds,
            halt=halt,
            on_stored=stored_from_thread,
            backoff=backoff,
        )
        for account in accounts
    ]
    # Threads of their own: an idling poller holds its thread for minutes, and the
    # loop's default executor is shared with the worker.
    with ThreadPoolExecutor(len(pollers), thread_name_prefix="imap-poller") as executor:
        runs = [loop.run_in_executor(executor, poller.run) for poller in pollers]
        try:
            await stop.wait()
        finally:
            halt.set()
            await asyncio.gather(*runs)
