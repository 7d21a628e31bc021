"""The typed result of attribution: which of our mailboxes sent a reported message.

An `Attribution` names a mailbox only when evidence written by our own relays
says so; otherwise the report stays unattributed, with the reason why.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol


class AttributionMethod(StrEnum):
    """Which piece of our own evidence named the sender, strongest first."""

    QUEUE_ID = "queue-id"
    """Our relay's queue id, joined to the SASL user our policy service recorded."""
    RELAY_RECEIVED = "relay-received"
    """Our relay's Received hop with `(Authenticated sender: …)`, confirmed by the
    provider's hop above it showing receipt from a relay address."""
    AUTHENTICATED_HEADER = "authenticated-header"
    """A configured header our relay adds (e.g. X-Authenticated-Sender)."""
    AUTH_RESULTS = "auth-results"
    """`smtp.auth=` in an Authentication-Results written by our own authserv-id."""
    STAFF = "staff"
    """A staff member reviewed an unproven complaint's candidate and charged it by hand
    (audited); nothing in the report alone proved it."""


class Confidence(StrEnum):
    """How strong the proof of a charge is; docs/attribution.md has the full table."""

    HIGH = "high"
    """The provider's receipt from our relay address is proven by address (its
    Source-IP agrees with the hop, or its own hops lead down to it), and our
    relay's hop in Postfix's own position, or our queue-id record, names the sender."""
    MEDIUM = "medium"
    """Proven, but by less: the receipt's address is redacted (the Source-IP alone
    says it), the order of the headers was lost, or only a header our relay adds
    (which the client may have pre-written) names the sender."""
    LOW = "low"
    """No longer given: an unproven path is never charged. Kept for complaints
    recorded before (reverse DNS alone once gave it)."""


@dataclass(frozen=True, slots=True)
class Attribution:
    """A complaint charged to one of our mailboxes, with the evidence for it."""

    mailbox: str
    """The hosted mailbox, lowercased."""
    method: AttributionMethod
    evidence: str
    """What was seen, in words a reviewer can check against the raw report."""
    confidence: Confidence
    queue_id: str | None = None
    relay: str | None = None


@dataclass(frozen=True, slots=True)
class Candidate:
    """The mailbox an unproven complaint points at, for a person to review.

    The chain names this sender, but nothing proves the provider received the
    message from our relays (a forward, an unconfirmed hop, a forgery), so it
    is never counted by itself; staff may charge it by hand.
    """

    mailbox: str
    """The address the unproven evidence names, lowercased (hosted or not)."""
    evidence: str
    """What named it, in words a reviewer can check against the raw report."""


@dataclass(frozen=True, slots=True)
class AttributionOutcome:
    """The result of trying to attribute one report: an attribution, or why not."""

    attribution: Attribution | None
    reason: str | None = None
    """When unattributed: why, in words (no relay hop, unknown mailbox, …)."""
    candidate: Candidate | None = None
    """When unattributed: the mailbox the unproven evidence names, if any."""


class MailboxDirectory(Protocol):
    """What attribution needs to know of the account directory."""

    def is_hosted(self, address: str) -> bool:
        """True when `address` (any case) is a mailbox on our platform."""
        ...

    def sender_for_queue_id(self, queue_id: str) -> str | None:
        """The SASL user our policy service saw submit `queue_id`, if recorded."""
        ...

    def queue_record_span(self) -> tuple[datetime | None, datetime | None]:
        """When the first and the last submission our policy service recorded happened
        (None, None without records): between them, every authenticated submission's
        queue id is on record, so a hop naming one that is not was forged."""
        ...
