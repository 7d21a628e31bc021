"""`SendState`: the mailboxes that may not send right now, held in memory.

A mailbox may not send while a send suspension is active (`can_send` is off)
or once it is deleted. Only those are held — some thousands out of millions —
so a lookup is one set membership test. `tracking` loads the set at start and
applies each change the database reports; everything runs on the event loop's
thread, so no lock is needed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Integer, type_coerce
from sqlmodel import col

from abusedesk.store.addresses import normalize_address
from abusedesk.store.tables import Mailbox

MAILBOX_ID = type_coerce(col(Mailbox.id), Integer)
"""`mailbox.id` typed as never NULL (it is the primary key) for the queries of enforce/."""


def normalize(address: str) -> str:
    """The stored form of a sender's name as Postfix sent it, so that no spelling of a
    mailbox's address passes for another: `<…>` and space trimmed, a quoted local part
    that needs no quotes unquoted (`"alice"@…`, `"al\\ice"@…`), the local part lowercased,
    the domain without its root dot and in its one stored form (`store.addresses`:
    an IDN as its `xn--` A-label, so both spellings of `bücher.example` are one)."""
    text = address.strip().strip("<>").strip()
    local, at, domain = text.rpartition("@")
    if at and len(local) >= 2 and local[0] == local[-1] == '"':
        local = _unquoted(local)
    return normalize_address(f"{local}{at}{domain}" if at else text)


TAG_DELIMITER = "+"
"""Postfix's default `recipient_delimiter`: `alice+news@` is a spelling of `alice@`."""
_DOT_ATOM = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")


def untagged(key: str) -> str | None:
    """`alice@shop.example` for the stored form `alice+news@shop.example`; None without a tag."""
    local, at, domain = key.rpartition("@")
    base, delimiter, _ = local.partition(TAG_DELIMITER)
    if not at or not delimiter or not base:
        return None
    return f"{base}@{domain}"


def _unquoted(local: str) -> str:
    """The local part without its quotes when they quote nothing (RFC 5321 4.1.2: the same
    mailbox); as written otherwise."""
    inner = re.sub(r"\\(.)", r"\1", local[1:-1])
    return inner if _DOT_ATOM.fullmatch(inner) else local


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
        self._tagged: dict[int, str] = {}
        """Hosted mailboxes whose own name holds the tag delimiter (`a+b@…`, rare): such a
        name is that mailbox, not a spelling of `a@…`."""
        self._tagged_names: set[str] = set()
        self.version = 0
        """The database's send-state version this state reflects."""
        self.loaded = False

    def may_send(self, address: str) -> bool:
        """False for a hosted mailbox that is suspended or deleted, in any spelling of its
        name (`normalize`, and `alice+tag@` for `alice@`); True for anyone else."""
        key = normalize(address)
        if key in self._blocked:
            return False
        base = untagged(key)
        return base is None or base not in self._blocked or key in self._tagged_names

    def is_blocked_exact(self, address: str) -> bool:
        """The lookup without normalising, for callers that already hold the stored form."""
        return address in self._blocked

    @property
    def blocked_count(self) -> int:
        return len(self._blocked)

    def replace(
        self,
        blocked: Iterable[tuple[int, str]],
        version: int,
        tagged: Iterable[tuple[int, str]] = (),
    ) -> None:
        """Start over from a full load: (mailbox id, address) of every blocked mailbox, and
        of every hosted one whose name holds the tag delimiter."""
        # Stored names are put in the same form as asked ones (a directory imported
        # before domains had one stored form may hold `bücher.example`).
        self._address_of = {mailbox_id: normalize(address) for mailbox_id, address in blocked}
        self._blocked = set(self._address_of.values())
        self._tagged = {mailbox_id: normalize(address) for mailbox_id, address in tagged}
        self._tagged_names = set(self._tagged.values())
        self.version = version
        self.loaded = True

    def apply(self, changes: Iterable[MailboxSendState], version: int) -> None:
        """Apply the current state of the mailboxes changed up to `version`."""
        for change in changes:
            old = self._address_of.pop(change.mailbox_id, None)
            if old is not None:
                self._blocked.discard(old)
            key = normalize(change.address) if change.address is not None else None
            if key is not None and not change.may_send:
                self._address_of[change.mailbox_id] = key
                self._blocked.add(key)
            old_tagged = self._tagged.pop(change.mailbox_id, None)
            if old_tagged is not None:
                self._tagged_names.discard(old_tagged)
            if key is not None and untagged(key) is not None:
                self._tagged[change.mailbox_id] = key
                self._tagged_names.add(key)
        self.version = max(self.version, version)
