"""How far the IMAP poller got in each folder: UIDVALIDITY and the last stored UID.

IMAP promises that a UID names one message for as long as the folder's
UIDVALIDITY stays the same, and that new messages get higher UIDs. So one
number per folder says which messages were stored already, even when moving
them out of the folder failed afterwards.
"""

from __future__ import annotations

import logging

from sqlalchemy import Engine, insert, update
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session, col

from abusedesk.errors import StorageError
from abusedesk.store.tables import ImapCursor
from abusedesk.store.types import utcnow

log = logging.getLogger(__name__)


def last_stored_uid(engine: Engine, account: str, folder: str, uidvalidity: int) -> int:
    """The highest UID already stored from `folder`, or 0 when starting over.

    A folder seen for the first time, or whose UIDVALIDITY changed, starts at 0:
    its old UIDs mean nothing now. Reports stored twice that way are
    deduplicated downstream.
    """
    try:
        with Session(engine) as session:
            cursor = session.get(ImapCursor, (account, folder))
    except DBAPIError as exc:
        raise StorageError(
            f"cannot read the IMAP cursor of {account} {folder}: {exc.orig}"
        ) from exc
    if cursor is not None and cursor.uidvalidity == uidvalidity:
        return cursor.last_uid
    if cursor is not None:
        log.warning(
            "imap %s %s: UIDVALIDITY changed from %s to %s; reading the folder from the start",
            account,
            folder,
            cursor.uidvalidity,
            uidvalidity,
        )
    save_cursor(engine, account, folder, uidvalidity, 0)
    return 0


def save_cursor(engine: Engine, account: str, folder: str, uidvalidity: int, last_uid: int) -> None:
    """Record that every message of `folder` up to `last_uid` is stored."""
    try:
        with engine.begin() as connection:
            updated = connection.execute(
                update(ImapCursor)
                .where(col(ImapCursor.account) == account, col(ImapCursor.folder) == folder)
                .values(uidvalidity=uidvalidity, last_uid=last_uid, updated_at=utcnow())
            )
            if updated.rowcount == 0:
                connection.execute(
                    insert(ImapCursor).values(
                        account=account,
                        folder=folder,
                        uidvalidity=uidvalidity,
                        last_uid=last_uid,
                        updated_at=utcnow(),
                    )
                )
    except DBAPIError as exc:
        raise StorageError(
            f"cannot save the IMAP cursor of {account} {folder}: {exc.orig}"
        ) from exc
