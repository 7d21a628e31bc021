"""Keep a `SendState` current from the database, whoever changes it.

Triggers created by migration 0006 bump `sendstateversion` and log the changed
mailbox in `sendstatechange` on every change of a mailbox's right to send; the
versions are dense and commit in order. A node loads the blocked set once,
then catches up by reading the log past the version it has seen: on
PostgreSQL when `pg_notify` says something changed (and at least once a
second in case a notification was missed), on SQLite by polling the one
version row a few times a second. A gap in the log (pruned while a node was
away) means a full reload. While the database is unreachable the state keeps
answering from memory and catches up when it is back.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass

import psycopg
from sqlalchemy import Connection, Engine, delete, or_, select, text
from sqlmodel import col

from abusedesk.enforce.state import (
    MAILBOX_ID,
    TAG_DELIMITER,
    MailboxSendState,
    SendState,
    untagged,
)
from abusedesk.errors import StorageError
from abusedesk.store.tables import Mailbox, SendStateChange, SendStateVersion

log = logging.getLogger(__name__)

CHANNEL = "abusedesk_send_state"
TRIGGERS = frozenset({"send_state_on_update", "send_state_on_insert", "send_state_on_delete"})
SQLITE_POLL_SECONDS = 0.2
LISTEN_TIMEOUT_SECONDS = 1.0
RETRY_SECONDS = 2.0
CHANGES_PER_READ = 5000
KEEP_CHANGES = 100_000
PRUNE_EVERY_SECONDS = 600.0


@dataclass(frozen=True, slots=True)
class Changes:
    states: list[MailboxSendState]
    version: int


def check_triggers(engine: Engine) -> None:
    """`StorageError` unless the triggers that report changes exist (a schema built without
    migrations, or a later migration that rebuilt the mailbox table, would lose them)."""
    with engine.connect() as connection:
        if engine.dialect.name == "postgresql":
            query = "SELECT tgname FROM pg_trigger WHERE tgrelid = 'mailbox'::regclass"
        else:
            query = "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'mailbox'"
        found = {row[0] for row in connection.execute(text(query))}
    missing = TRIGGERS - found
    if missing:
        raise StorageError(
            f"the database lacks the send-state triggers ({', '.join(sorted(missing))}) that "
            "the policy service needs: run `abusedesk db upgrade`"
        )


def load_blocked(engine: Engine) -> tuple[list[tuple[int, str]], int, list[tuple[int, str]]]:
    """Every mailbox that may not send, the version they reflect at least, and every
    hosted mailbox whose own name holds the tag delimiter."""
    with engine.connect() as connection:
        # The version is read first: a change committed in between is then read
        # again by the next catch-up, and applying a change twice is harmless.
        version = current_version(connection)
        rows = connection.execute(
            select(MAILBOX_ID, col(Mailbox.address)).where(
                or_(col(Mailbox.can_send).is_(False), col(Mailbox.deleted_at).is_not(None))
            )
        ).all()
        tagged = connection.execute(
            select(MAILBOX_ID, col(Mailbox.address)).where(
                col(Mailbox.address).contains(TAG_DELIMITER), col(Mailbox.deleted_at).is_(None)
            )
        ).all()
    named = [(int(mailbox_id), address) for mailbox_id, address in tagged]
    own = [(mailbox_id, address) for mailbox_id, address in named if untagged(address)]
    return [(int(mailbox_id), address) for mailbox_id, address in rows], version, own


def current_version(connection: Connection) -> int:
    version = connection.execute(select(col(SendStateVersion.version))).scalar_one_or_none()
    return int(version or 0)


def changes_since(engine: Engine, seen: int) -> Changes | None:
    """The mailboxes changed after version `seen`, as they are now; None if the log has a gap."""
    with engine.connect() as connection:
        if current_version(connection) <= seen:
            return Changes([], seen)
        logged = connection.execute(
            select(col(SendStateChange.version), col(SendStateChange.mailbox_id))
            .where(col(SendStateChange.version) > seen)
            .order_by(col(SendStateChange.version))
            .limit(CHANGES_PER_READ)
        ).all()
        if not logged or logged[0][0] != seen + 1:
            return None
        ids = {int(mailbox_id) for _, mailbox_id in logged}
        rows = connection.execute(
            select(
                MAILBOX_ID, col(Mailbox.address), col(Mailbox.can_send), col(Mailbox.deleted_at)
            ).where(MAILBOX_ID.in_(ids))
        ).all()
    present = {
        int(mailbox_id): MailboxSendState(int(mailbox_id), address, bool(can) and deleted is None)
        for mailbox_id, address, can, deleted in rows
    }
    states = [present.get(i, MailboxSendState(i, None, True)) for i in sorted(ids)]
    return Changes(states, int(logged[-1][0]))


def prune_changes(engine: Engine, keep: int = KEEP_CHANGES) -> None:
    """Forget all but the last `keep` changes; a node further behind reloads in full."""
    with engine.begin() as connection:
        newest = current_version(connection)
        if newest > keep:
            connection.execute(
                delete(SendStateChange).where(col(SendStateChange.version) <= newest - keep)
            )


class SendStateTracker:
    """Loads a `SendState` and keeps it current until stopped."""

    def __init__(self, engine: Engine, state: SendState) -> None:
        self._engine = engine
        self.state = state
        self._last_prune = time.monotonic()

    async def load(self) -> None:
        await asyncio.to_thread(check_triggers, self._engine)
        blocked, version, tagged = await asyncio.to_thread(load_blocked, self._engine)
        self.state.replace(blocked, version, tagged)
        log.info(
            "enforce: %d mailboxes may not send (send-state version %d)", len(blocked), version
        )

    async def catch_up(self) -> None:
        """Apply every change the database has logged since the state's version."""
        while True:
            changes = await asyncio.to_thread(changes_since, self._engine, self.state.version)
            if changes is None:
                log.warning("enforce: the send-state log has a gap; reloading in full")
                await self.load()
                return
            if not changes.states:
                return
            self.state.apply(changes.states, changes.version)
            log.info(
                "enforce: send state now at version %d (%d mailboxes changed)",
                changes.version,
                len(changes.states),
            )

    async def run(self, stop: asyncio.Event) -> None:
        """Follow changes until `stop` is set; the state was loaded before (`load`)."""
        while not stop.is_set():
            try:
                if self._engine.dialect.name == "postgresql":
                    await self._listen(stop)
                else:
                    await self._poll(stop)
            except Exception as exc:  # the database may be away: keep answering from memory
                log.warning("enforce: cannot follow send-state changes (%s); retrying", exc)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), RETRY_SECONDS)

    async def _poll(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await self.catch_up()
            await self._maybe_prune()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), SQLITE_POLL_SECONDS)

    async def _listen(self, stop: asyncio.Event) -> None:
        url = self._engine.url.set(drivername="postgresql")
        conninfo = url.render_as_string(hide_password=False)
        async with await psycopg.AsyncConnection.connect(conninfo, autocommit=True) as listener:
            await listener.execute(f"LISTEN {CHANNEL}")
            stopping = asyncio.ensure_future(stop.wait())
            try:
                while not stop.is_set():
                    # Listening first, then catching up, so that no change falls in between.
                    await self.catch_up()
                    await self._maybe_prune()
                    notified = asyncio.ensure_future(_next_notification(listener))
                    await asyncio.wait({notified, stopping}, return_when=asyncio.FIRST_COMPLETED)
                    if not notified.done():  # stopping: the connection is closed right after
                        notified.cancel()
                        with contextlib.suppress(asyncio.CancelledError, psycopg.Error):
                            await notified
                    else:
                        notified.result()  # a lost connection surfaces here
            finally:
                stopping.cancel()

    async def _maybe_prune(self) -> None:
        if time.monotonic() - self._last_prune < PRUNE_EVERY_SECONDS:
            return
        self._last_prune = time.monotonic()
        await asyncio.to_thread(prune_changes, self._engine)


async def _next_notification(listener: psycopg.AsyncConnection[object]) -> None:
    """Return at the next notification, or after LISTEN_TIMEOUT_SECONDS in case one was missed."""
    async for _notification in listener.notifies(timeout=LISTEN_TIMEOUT_SECONDS, stop_after=1):
        pass
