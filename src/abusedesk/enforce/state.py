"""`SendState`: the mailboxes that may not send right now, held in memory.

A mailbox may not send while a send suspension is active (`can_send` is off)
or once it is deleted. Only those are held — some thousands out of millions —
so a lookup is one set membership test. `tracking` loads the set at start and
applies each change the database reports; everything runs on the event loop's
thread, so no lock is needed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Integer, type_coerce
from sqlmodel import col

from abusedesk.store.tables import Mailbox

MAILBOX_ID = type_coerce(col(Mailbox.id), Integer)
"""`mailbox.id` typed as never NULL (it is the primary key) for the queries of enforce/."""


def normalize(address: str) -> str:
    """The stored form of an address (lowercase), from what Postfix sent (maybe `<a@b>`)."""
    return address.strip().strip("<>").strip().lower()


@dataclass(frozen=True, slots=True)
class MailboxSendState:
    """One mailbox as the database has it now; `address=None` when the row is gone."""

    mailbox_id: int
    address: str | None
    may_send: bool


class SendState:
    def __init__(self) -> None:
        self._blocked: set[str] = set()
        self._address_of: dict[int, str] = {}
        self.version = 0
        """The database's send-state version this state reflects."""
        self.loaded = False

    def may_send(self, address: str) -> bool:
        """False for a hosted mailbox that is suspended or deleted; True for anyone else."""
        return normalize(address) not in self._blocked

    def is_blocked_exact(self, address: str) -> bool:
        """The lookup without normalising, for callers that already hold the stored form."""
        return address in self._blocked

    @property
    def blocked_count(self) -> int:
        return len(self._blocked)

    def replace(self, blocked: Iterable[tuple[int, str]], version: int) -> None:
        """Start over from a full load: (mailbox id, address) of every blocked mailbox."""
        self._address_of = dict(blocked)
        self._blocked = set(self._address_of.values())
        self.version = version
        self.loaded = True

    def apply(self, changes: Iterable[MailboxSendState], version: int) -> None:
        """Apply the current state of the mailboxes changed up to `version`."""
        for change in changes:
            old = self._address_of.pop(change.mailbox_id, None)
            if old is not None:
                self._blocked.discard(old)
            if change.address is not None and not change.may_send:
                self._address_of[change.mailbox_id] = change.address
                self._blocked.add(change.address)
        self.version = max(self.version, version)
