"""Where a message left our relays, proven by what the provider wrote, in arrival order.

A `RelayPassage` is the trusted part of a chain: the contiguous hops our
relays wrote, and the provider's hop right above them that records taking the
message from one of our relay addresses — the *receipt*. Anyone can write any
Received header into a message before it reaches the provider, so the receipt
counts only when the provider provably wrote it (docs/attribution.md):

- the feedback report's own `Source-IP`, which the provider writes, is one of
  our relay addresses and is the address the receipt records (a `Source-IP`
  that is not ours means the provider did not get the message from us,
  whatever the hops say); or, without a `Source-IP,
- the receipt is reached from the topmost hop (the provider's last) through
  hops the provider itself wrote: each records receiving the message from the
  host below it at an address no outsider connects from (an internal address,
  or a configured provider network), and names that host. A host name alone is
  never enough: a HELO name is the client's to type, and whoever holds an
  address can give it any reverse DNS name.

Everything below our hops was written by the client and is never read here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from abusedesk.attribute.attribution import Confidence
from abusedesk.attribute.hops import (
    dates_consistent,
    describe_hop,
    has_from_part,
    is_internal_address,
    same_host,
)
from abusedesk.attribute.relays import OurRelays, host_key
from abusedesk.parse.received import normalise_ip
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
    provider_hop: ReceivedHop | None
    """The provider's receipt from our relay (None when the order was lost)."""
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
    hops: Sequence[ReceivedHop], relays: OurRelays, source_ip: str | None
) -> RelayPassage | Rejection:
    """The passage through our relays in a chain whose order is as written."""
    if not any(relays.wrote(hop) for hop in hops):
        return Rejection(f"no Received hop from our relays ({relays.describe()})")
    if source_ip is not None and (refused := source_ip_refusal(source_ip, relays, hops)):
        return refused
    top = _topmost_of_ours(hops, relays, source_ip)
    if isinstance(top, Rejection):
        return top
    if top == 0:
        return Rejection(
            f"{NOT_CONFIRMED}: our relay's hop ({describe_hop(hops[0])}) is the topmost "
            "Received header, so no hop shows a provider receiving the message from us"
        )
    ours = _walk_down(hops, top, relays)
    receipt = hops[top - 1]
    if source_ip is not None:
        proven = confirm_by_source_ip(receipt, relays, source_ip, hops[: top - 1])
    else:
        proven = confirm_by_provider_chain(hops, top - 1, relays)
    if isinstance(proven, Rejection):
        return proven
    confidence, note = proven
    for hop in ours:
        if not dates_consistent(hop, receipt):
            return Rejection(
                f"{NOT_CONFIRMED}: {receipt.by_host or 'the receiving host'} dates its receipt "
                f"{_when(receipt)}, which does not follow our relay's {_when(hop)}"
            )
    return RelayPassage(ours[0].by_host or "?", tuple(ours), receipt, confidence, (note,))


def _topmost_of_ours(
    hops: Sequence[ReceivedHop], relays: OurRelays, source_ip: str | None
) -> int | Rejection:
    """Where our relays' own hops begin: right below the provider's receipt.

    With a Source-IP, the receipt is the topmost hop recording that address (the
    provider wrote it; any copy below is the sender's), and the hop right below
    it must be a readable hop of ours. Otherwise it is the topmost hop naming
    our relays, and the hop above it is checked as the receipt.
    """
    wanted = normalise_ip(source_ip) if source_ip else None
    if wanted is not None:
        for position, hop in enumerate(hops):
            if hop.from_ip == wanted and not relays.wrote(hop):
                below = position + 1
                if below < len(hops) and relays.wrote(hops[below]):
                    return below
                return Rejection(
                    f"{NOT_CONFIRMED}: the provider's receipt from our relay address "
                    f"{source_ip} ({describe_hop(hop)}) is not followed by a readable hop of "
                    f"our relays, so which hop below is ours cannot be told"
                )
    top = next((position for position, hop in enumerate(hops) if relays.wrote(hop)), None)
    if top is None:
        return Rejection(f"no Received hop from our relays ({relays.describe()})")
    return top


def source_ip_refusal(
    source_ip: str, relays: OurRelays, hops: Sequence[ReceivedHop]
) -> Rejection | None:
    """The refusal when the provider's `Source-IP` is not one of our relays, else None."""
    if relays.is_relay_address(source_ip):
        return None
    wanted = normalise_ip(source_ip)
    hop = next((hop for hop in hops if hop.from_ip and hop.from_ip == wanted), None)
    forwarder = (hop.from_rdns or hop.from_helo) if hop is not None else None
    by = f"forwarded by {forwarder}: " if forwarder else ""
    return Rejection(
        f"{by}the provider received it from {source_ip} (the report's Source-IP), not from "
        f"our relays, so no hop below its receipt can be proven, whatever it says"
    )


def confirm_by_source_ip(
    receipt: ReceivedHop, relays: OurRelays, source_ip: str, above: Sequence[ReceivedHop]
) -> tuple[Confidence, str] | Rejection:
    """The receipt is proven when the provider's `Source-IP` is ours and the hop records it.

    When the hop's address is redacted, it must at least be a whole receipt
    that names our relay by the provider's reverse DNS, under hops that all
    read one way (an unreadable hop above could hide the real receipt).
    """
    receiving_host = receipt.by_host or "the receiving host"
    if receipt.from_ip is not None:
        if receipt.from_ip != normalise_ip(source_ip):
            return Rejection(
                f"{NOT_CONFIRMED}: the report's Source-IP is our relay address {source_ip}, "
                f"but the hop above our relay's ({describe_hop(receipt)}) records "
                f"{receipt.from_ip}, so it is not the provider's receipt from us"
            )
        return Confidence.HIGH, (
            f"the provider's report (Source-IP {source_ip}) and {receiving_host}'s hop "
            f"({describe_hop(receipt)}) both record receipt from our relay address"
        )
    unreadable = next((hop for hop in (*above, receipt) if hop.doubts), None)
    if unreadable is not None:
        return Rejection(f"{NOT_CONFIRMED}: {describe_hop(unreadable)}: {unreadable.doubts[0]}")
    if not has_from_part(receipt) or receipt.by_host is None or not relays.named_relay(receipt):
        return Rejection(
            f"{NOT_CONFIRMED}: the report's Source-IP is our relay address {source_ip}, but "
            f"the hop above our relay's ({describe_hop(receipt)}) shows no receipt from our "
            f"relay: no readable address and no reverse DNS name of one"
        )
    return Confidence.MEDIUM, (
        f"the provider's report says it received the message from our relay address "
        f"{source_ip} (Source-IP); the hop above our relay's ({describe_hop(receipt)}) "
        f"names it by reverse DNS but shows no readable address to match"
    )


def confirm_by_provider_chain(
    hops: Sequence[ReceivedHop], receipt_at: int, relays: OurRelays
) -> tuple[Confidence, str] | Rejection:
    """The receipt is proven when the provider's own hops lead down to it, by address."""
    receipt = hops[receipt_at]
    if receipt.doubts:
        return Rejection(f"{NOT_CONFIRMED}: {describe_hop(receipt)}: {receipt.doubts[0]}")
    if not relays.is_relay_address(receipt.from_ip):
        if receipt.from_ip is not None:
            return Rejection(
                f"{NOT_CONFIRMED}: {receipt.by_host or 'the receiving host'} received the "
                f"message from {receipt.from_ip}, which is not one of our relay addresses"
            )
        named = relays.named_relay(receipt)
        what = (
            f"names our relay {named} only by reverse DNS, which whoever holds an address can set"
            if named
            else "shows no relay address"
        )
        return Rejection(
            f"{NOT_CONFIRMED}: {describe_hop(receipt)} {what}, and the report has no "
            f"Source-IP to say where the provider received it from"
        )
    lower = receipt
    for position in range(receipt_at - 1, -1, -1):
        upper = hops[position]
        if not has_from_part(upper) and upper.by_host is None:
            # qmail's `(qmail 123 invoked from network)` names no host at all; it
            # neither breaks nor proves anything, so it is stepped over.
            continue
        broken = provider_link_broken(upper, lower, relays)
        if broken is not None:
            return Rejection(f"{NOT_CONFIRMED}: {broken}")
        lower = upper
    return Confidence.HIGH, (
        f"{receipt.by_host or 'the receiving host'} received it from our relay address "
        f"{receipt.from_ip} ({describe_hop(receipt)}), and every hop above it is the "
        f"provider's own, chained by internal address"
    )


def provider_link_broken(upper: ReceivedHop, lower: ReceivedHop, relays: OurRelays) -> str | None:
    """Why `upper` (the provider's) does not prove that the provider also wrote `lower`.

    It proves it only by recording the message arriving from `lower`'s host at
    an address no outsider connects from, and naming that host.
    """
    if upper.doubts:
        return f"{describe_hop(upper)}: {upper.doubts[0]}"
    if not has_from_part(upper):
        return (
            f"{describe_hop(upper)} shows the message submitted on {upper.by_host} itself, "
            f"not received from the host below it, so the hops below it may have been "
            f"written by whoever submitted it"
        )
    if upper.from_ip is None:
        return (
            f"{describe_hop(upper)} records no readable address for the host it received "
            f"the message from, so the hops below it cannot be proven to be the provider's"
        )
    if not (is_internal_address(upper.from_ip) or relays.is_provider_address(upper.from_ip)):
        return (
            f"forwarded by {upper.from_rdns or upper.from_helo or upper.from_ip}: "
            f"{upper.by_host or 'the provider'} received it from {upper.from_ip}, not from "
            f"our relays, so the hops below it — ours included — may have been in the "
            f"message before the provider received it"
        )
    below = host_key(lower.by_host)
    if below is None or not (
        same_host(host_key(upper.from_rdns), below) or same_host(host_key(upper.from_helo), below)
    ):
        return (
            f"{describe_hop(upper)} shows the message arriving from somewhere other than "
            f"{lower.by_host or 'the host below it'}, so the hops below it may have been in "
            f"the message before the provider received it"
        )
    return None


def hands_over(upper: ReceivedHop, lower: ReceivedHop, relays: OurRelays) -> bool:
    """True when our hop `upper` shows receiving the message from our hop `lower`.

    `upper` is already trusted, so what it says about its client is true: the
    client was another relay address, or this same relay re-injecting the
    message from a local content filter.
    """
    if relays.is_relay_address(upper.from_ip):
        return True
    same = host_key(upper.by_host) == host_key(lower.by_host)
    return same and is_internal_address(upper.from_ip)


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
