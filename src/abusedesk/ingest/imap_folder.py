"""One pass over one folder of a polled mailbox: store what is new, then move it.

Messages are read in UID order, BATCH_SIZE at a time; each batch is committed
in one transaction, then the folder's cursor (`imap_cursor`) is saved, then the
batch is moved to `processed_folder`. A message at or below the cursor that is
still in the folder was stored before a crash or a dropped connection, and is
only moved. Messages that cannot be stored go to `quarantine_folder` first.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence

from imapclient import IMAPClient  # type: ignore[import-untyped]
from sqlalchemy import Engine

from abusedesk.config import ImapAccount
from abusedesk.ingest.imap_cursor import last_stored_uid, save_cursor
from abusedesk.ingest.imap_mailbox import fetch_messages, move_messages
from abusedesk.ingest.spool import IncomingReport, store_reports
from abusedesk.store.types import ReportSource

log = logging.getLogger(__name__)

MAX_REPORT_SIZE = 10 * 1024 * 1024
BATCH_SIZE = 25
"""Messages fetched and committed together. Reports are a few KiB, so a batch is
small; its bound is BATCH_SIZE times the size limit."""


def mailbox_name(account: ImapAccount) -> str:
    """How logs, envelopes and the cursor name a polled mailbox."""
    return f"{account.username}@{account.host.lower()}"


def trust_for_account(account: ImapAccount) -> tuple[bool, str]:
    if account.provider_feed:
        return True, f"IMAP mailbox {mailbox_name(account)} is a configured provider feed"
    return False, f"IMAP mailbox {mailbox_name(account)} is not marked as a provider feed"


def poll_folder(
    client: IMAPClient,
    account: ImapAccount,
    engine: Engine,
    *,
    max_size: int = MAX_REPORT_SIZE,
    on_stored: Callable[[], None] = lambda: None,
    halt: threading.Event | None = None,
) -> int:
    """One pass over the account's folder in an open session; returns the reports stored."""
    name = mailbox_name(account)
    selected = client.select_folder(account.folder)
    uidvalidity = int(selected[b"UIDVALIDITY"])
    last_uid = last_stored_uid(engine, name, account.folder, uidvalidity)
    uids: list[int] = sorted(client.search(["NOT", "DELETED"]))
    already_stored = [uid for uid in uids if uid <= last_uid]
    if already_stored:
        log.info(
            "imap %s: moving %d message(s) stored earlier to %s",
            name,
            len(already_stored),
            account.processed_folder,
        )
        move_messages(client, already_stored, account.processed_folder)
    new = [uid for uid in uids if uid > last_uid]
    stored = 0
    for start in range(0, len(new), BATCH_SIZE):
        if halt is not None and halt.is_set():
            break
        batch = new[start : start + BATCH_SIZE]
        stored += _store_batch(client, account, engine, uidvalidity, batch, max_size, on_stored)
    return stored


def _store_batch(
    client: IMAPClient,
    account: ImapAccount,
    engine: Engine,
    uidvalidity: int,
    uids: Sequence[int],
    max_size: int,
    on_stored: Callable[[], None],
) -> int:
    name = mailbox_name(account)
    fetched = fetch_messages(client, uids, max_size)
    # Rejects leave the folder before anything is stored, so the cursor saved below
    # can never claim a message that is still waiting to be quarantined.
    for rejected in fetched.rejected:
        log.warning(
            "imap %s %s uid %s: moved to %s, not stored: %s",
            name,
            account.folder,
            rejected.uid,
            account.quarantine_folder,
            rejected.reason,
        )
    move_messages(client, [r.uid for r in fetched.rejected], account.quarantine_folder)
    if not fetched.bodies:
        return 0
    trusted, trust_reason = trust_for_account(account)
    stored_uids = sorted(fetched.bodies)
    reports = [
        IncomingReport(
            raw=fetched.bodies[uid],
            source=ReportSource.IMAP,
            trusted=trusted,
            trust_reason=trust_reason,
            peer=account.host,
            envelope={
                "account": name,
                "folder": account.folder,
                "uid": uid,
                "uidvalidity": uidvalidity,
            },
        )
        for uid in stored_uids
    ]
    report_ids = store_reports(engine, reports)
    save_cursor(engine, name, account.folder, uidvalidity, stored_uids[-1])
    on_stored()  # the worker may start on them while we move them
    for report_id, uid in zip(report_ids, stored_uids, strict=True):
        log.info(
            "imap: report %s stored (%d bytes from %s %s uid %s, %s)",
            report_id,
            len(fetched.bodies[uid]),
            name,
            account.folder,
            uid,
            "trusted" if trusted else "untrusted",
        )
    move_messages(client, stored_uids, account.processed_folder)
    return len(report_ids)
