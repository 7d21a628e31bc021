"""The IMAP conversation the poller needs, over imapclient: connect, fetch, move, wait.

Errors, as imapclient raises them:

    IMAPClientError (imaplib.IMAP4.error)   the server answered NO or BAD
    ├── LoginError                          the credentials were refused
    └── IMAPClientAbortError                the connection is broken: reconnect
    OSError                                 the socket failed (refused, reset, timed out)

`ConnectionLost` below is ours, for a server that said BYE while we were idling.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from imapclient import DELETED, IMAPClient  # type: ignore[import-untyped]
from imapclient.exceptions import (  # type: ignore[import-untyped]
    IMAPClientAbortError,
    IMAPClientError,
)

from abusedesk.config import ImapAccount

log = logging.getLogger(__name__)

SOCKET_TIMEOUT_SECONDS = 30.0
IDLE_CHECK_SECONDS = 0.5
"""How often an idling poller looks up from the socket to see whether it should stop."""
IDLE_RENEW_SECONDS = 600.0
"""RFC 2177 asks clients to renew IDLE within 29 minutes; NAT boxes forget sooner."""
BODY = b"BODY[]"
SIZE = b"RFC822.SIZE"


class ConnectionLost(IMAPClientAbortError):  # type: ignore[misc]
    """The server ended the session (BYE) while we were waiting for mail."""


@dataclass(frozen=True, slots=True)
class Rejected:
    """A message the poller cannot store, with the reason given when quarantining it."""

    uid: int
    reason: str


@dataclass(slots=True)
class Fetched:
    bodies: dict[int, bytes] = field(default_factory=dict)
    rejected: list[Rejected] = field(default_factory=list)


@contextlib.contextmanager
def open_mailbox(account: ImapAccount) -> Iterator[IMAPClient]:
    """A logged-in session; logs out on the way out, quietly if the server is already gone.

    `tls = true` is implicit TLS with certificate checks (port 993); `tls = false`
    is plain IMAP, meant for a mailbox server on loopback or a trusted network.
    """
    client = IMAPClient(
        account.host, port=account.port, ssl=account.tls, timeout=SOCKET_TIMEOUT_SECONDS
    )
    try:
        client.login(account.username, account.password)
        yield client
    finally:
        try:
            client.logout()
        except (IMAPClientError, OSError):
            # imaplib closes the socket only after a LOGOUT that got its answer.
            with contextlib.suppress(OSError):
                client.shutdown()


def ensure_folders(client: IMAPClient, folders: Sequence[str]) -> None:
    for folder in folders:
        if client.folder_exists(folder):
            continue
        try:
            client.create_folder(folder)
        except IMAPClientAbortError:
            raise
        except IMAPClientError:
            # Another session may have created it meanwhile; only a still-missing folder is wrong.
            if not client.folder_exists(folder):
                raise
        log.info("imap: created folder %s", folder)


def fetch_messages(client: IMAPClient, uids: Sequence[int], max_size: int) -> Fetched:
    """The bytes of `uids` in the selected folder, and those that cannot be stored.

    Messages expunged by someone else meanwhile are in neither list.
    """
    fetched = Fetched()
    sizes: dict[int, dict[bytes, object]] = client.fetch(uids, [SIZE])
    wanted = []
    for uid in uids:
        size = sizes.get(uid, {}).get(SIZE)
        if uid not in sizes:
            continue
        if isinstance(size, int) and size > max_size:
            fetched.rejected.append(Rejected(uid, f"{size} bytes, over the {max_size} limit"))
        else:
            wanted.append(uid)
    if not wanted:
        return fetched
    try:
        response: dict[int, dict[bytes, object]] = client.fetch(wanted, ["BODY.PEEK[]"])
    except IMAPClientAbortError:
        raise
    except IMAPClientError:
        # One unreadable message fails the whole FETCH: ask one by one to find it.
        response = {}
        for uid in wanted:
            try:
                response.update(client.fetch([uid], ["BODY.PEEK[]"]))
            except IMAPClientAbortError:
                raise
            except IMAPClientError as exc:
                fetched.rejected.append(Rejected(uid, f"the server could not read it: {exc}"))
    for uid in wanted:
        if uid not in response:
            continue
        body = response[uid].get(BODY)
        if isinstance(body, bytes) and body:
            fetched.bodies[uid] = body
        elif not any(r.uid == uid for r in fetched.rejected):
            fetched.rejected.append(Rejected(uid, "the server returned no content for it"))
    return fetched


def move_messages(client: IMAPClient, uids: Sequence[int], folder: str) -> None:
    """Move `uids` of the selected folder to `folder`: MOVE, else COPY + \\Deleted + EXPUNGE."""
    if not uids:
        return
    if client.has_capability("MOVE"):
        client.move(uids, folder)
        return
    client.copy(uids, folder)
    client.add_flags(uids, [DELETED], silent=True)
    if client.has_capability("UIDPLUS"):
        client.uid_expunge(uids)
    else:
        # Without UIDPLUS, EXPUNGE also removes what other clients marked \Deleted;
        # in a mailbox dedicated to feedback reports that is what they wanted anyway.
        client.expunge()


def wait_for_new_mail(client: IMAPClient, seconds: float, halt: threading.Event) -> None:
    """Return when new mail may have arrived, `seconds` passed, or `halt` was set.

    With IDLE the server tells us at once; without it, this just waits.
    """
    if not client.has_capability("IDLE"):
        halt.wait(seconds)
        return
    client.idle()
    deadline = time.monotonic() + min(seconds, IDLE_RENEW_SECONDS)
    while not halt.is_set() and time.monotonic() < deadline:
        started = time.monotonic()
        responses: list[tuple[object, ...]] = client.idle_check(timeout=IDLE_CHECK_SECONDS)
        if any(response[:1] == (b"BYE",) for response in responses):
            raise ConnectionLost(f"the server ended the session: {responses}")
        if any(response[1:2] in ((b"EXISTS",), (b"RECENT",)) for response in responses):
            break
        if not responses and time.monotonic() - started < IDLE_CHECK_SECONDS / 2:
            # imapclient returns early and empty when the socket reached EOF: the
            # DONE below then fails and tells the caller the connection is gone.
            break
    client.idle_done()
