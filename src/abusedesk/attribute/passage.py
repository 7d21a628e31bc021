"""Where a message left our relays, proven by the Received chain in arrival order.

A `RelayPassage` is the trusted part of a chain: the contiguous hops our
relays wrote, and the receiving provider's hop right above them that records
taking the message from one of our relay addresses. Everything below our
hops was written by the client (and may be forged); everything above the
provider's hop must continue from it host by host, or the provider's hop
itself may be one of the forgeries.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from abusedesk.attribute.attribution import Confidence
from abusedesk.attribute.hops import (
    Link,
    continues_from,
    dates_consistent,
    describe_hop,
    has_from_part,
    is_internal_address,
)
from abusedesk.attribute.relays import OurRelays, host_key
from abusedesk.parse.report import ReceivedHop

_RANK = {Confidence.LOW: 0, Confidence.MEDIUM: 1, Confidence.HIGH: 2}
NOT_CONFIRMED = "relay hop not confirmed by the provider's hop above it"


def weakest(first: Confidence, second: Confidence) -> Confidence:
    return first if _RANK[first] <= _RANK[second] else second


@dataclass(frozen=True, slots=True)
class RelayPassage:
    """Our trusted hops and the provider's hop confirming them."""

    relay: str
    """The relay that handed the message to the provider."""
    our_hops: tuple[ReceivedHop, ...]
    """The hops our relays wrote that may be read for the sender, newest first;
    the last is the submission hop, where the client authenticated."""
    provider_hop: ReceivedHop
    confidence: Confidence
    notes: tuple[str, ...]
    """Sentences for the evidence: what confirmed the passage, and any weakness."""

    @property
    def submission_hop(self) -> ReceivedHop:
        return self.our_hops[-1]


@dataclass(frozen=True, slots=True)
class Rejection:
    """Why the chain does not prove the message passed our relays."""

    reason: str


def find_passage_in_order(
    hops: Sequence[ReceivedHop], relays: OurRelays
) -> RelayPassage | Rejection:
    """The passage through our relays in a chain whose order is as written."""
    top = next((position for position, hop in enumerate(hops) if relays.wrote(hop)), None)
    if top is None:
        return Rejection(f"no Received hop from our relays ({relays.describe()})")
    if top == 0:
        return Rejection(
            f"{NOT_CONFIRMED}: our relay's hop ({describe_hop(hops[0])}) is the topmost "
            "Received header, so no hop shows a provider receiving the message from us"
        )
    ours = _walk_down(hops, top, relays)
    provider = hops[top - 1]
    confirmed = confirm_receipt(provider, ours, relays)
    if isinstance(confirmed, Rejection):
        return confirmed
    confidence, note = confirmed
    notes = [note]

    lower = provider
    for position in range(top - 2, -1, -1):
        upper = hops[position]
        if not has_from_part(upper) and upper.by_host is None:
            # qmail's `(qmail 123 invoked by uid 45)` names no host at all; it
            # neither breaks nor proves anything, so it is stepped over.
            continue
        link = continues_from(upper, lower)
        if link is Link.BROKEN:
            return Rejection(
                f"{NOT_CONFIRMED}: {describe_hop(upper)} shows the message arriving from "
                f"somewhere other than {lower.by_host or 'the host below it'}, so the hops "
                f"below it, ours included, may have been in the message before the provider "
                f"received it"
            )
        if link is Link.WEAK:
            confidence = weakest(confidence, Confidence.MEDIUM)
            notes.append(
                f"{describe_hop(upper)} continues from {lower.by_host} only by a name the "
                f"sending host chose"
            )
        lower = upper
    return RelayPassage(ours[0].by_host or "?", tuple(ours), provider, confidence, tuple(notes))


def confirm_receipt(
    provider: ReceivedHop, ours: Sequence[ReceivedHop], relays: OurRelays
) -> tuple[Confidence, str] | Rejection:
    """Whether the provider's hop shows it took the message from one of our relays.

    The provider writes the connecting address itself, so an address inside
    our relay networks is the proof (HIGH). A readable address outside them
    contradicts our hop outright. When the address is missing or redacted,
    reverse DNS naming one of our relays is accepted at LOW: it is the
    provider's lookup, not the client's claim, but whoever controls an
    address's reverse zone can name it anything. A HELO naming our relay is
    never enough; the connecting client types it.
    """
    receiving_host = provider.by_host or "the receiving host"
    if relays.is_relay_address(provider.from_ip):
        confidence = Confidence.HIGH
        note = (
            f"{receiving_host} received it from our relay address {provider.from_ip} "
            f"({describe_hop(provider)})"
        )
    elif provider.from_ip is not None:
        return Rejection(
            f"{NOT_CONFIRMED}: {receiving_host} received the message from {provider.from_ip}, "
            f"which is not one of our relay addresses"
        )
    elif (named := relays.named_relay(provider)) is not None:
        confidence = Confidence.LOW
        note = (
            f"{receiving_host} received it from a host whose reverse DNS is our relay {named}, "
            f"but its address is missing or unreadable ({describe_hop(provider)})"
        )
    else:
        return Rejection(
            f"{NOT_CONFIRMED}: {describe_hop(provider)} shows no relay address or relay name"
        )
    for hop in ours:
        if not dates_consistent(hop, provider):
            return Rejection(
                f"{NOT_CONFIRMED}: {receiving_host} dates its receipt {_when(provider)}, "
                f"which does not follow our relay's {_when(hop)}"
            )
    return confidence, note


def hands_over(upper: ReceivedHop, lower: ReceivedHop, relays: OurRelays) -> bool:
    """True when our hop `upper` shows receiving the message from our hop `lower`.

    `upper` is already trusted, so what it says about its client is true: the
    client was another relay address, or this same relay re-injecting the
    message from a local content filter.
    """
    if relays.is_relay_address(upper.from_ip):
        return True
    same_host = host_key(upper.by_host) == host_key(lower.by_host)
    return same_host and is_internal_address(upper.from_ip)


def _walk_down(hops: Sequence[ReceivedHop], top: int, relays: OurRelays) -> list[ReceivedHop]:
    ours = [hops[top]]
    position = top
    while (
        position + 1 < len(hops)
        and relays.wrote(hops[position + 1])
        and hands_over(hops[position], hops[position + 1], relays)
    ):
        position += 1
        ours.append(hops[position])
    return ours


def _when(hop: ReceivedHop) -> str:
    return f"{hop.date:%Y-%m-%d %H:%M:%S} UTC" if hop.date else "(no date)"
