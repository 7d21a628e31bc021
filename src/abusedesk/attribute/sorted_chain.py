"""Headers that arrive sorted: spotting them, and the little that can still be proven.

Some providers sort the header block alphabetically before putting it in the
report. The Received headers then no longer say which hop sits above which,
and the ordered check (`passage.find_passage_in_order`) would be reading
positions the sorting made up — an attacker can even choose HELO names so
that their forged hops sort into a convincing order.

Without order, hops can only be linked by names, and names in hops below the
provider's receipt are the forger's to choose. So a sorted chain is accepted
only when nothing is left to link: every hop is either written by our relays
or is the one provider hop that took the message from a relay address. Any
other hop could be the provider's real receipt from an attacker, and then the
report is left for a reviewer. Even then the result is at most MEDIUM,
because the layout was inferred rather than seen.
"""

from __future__ import annotations

from collections.abc import Sequence

from abusedesk.attribute.attribution import Confidence
from abusedesk.attribute.hops import describe_hop, is_internal_address
from abusedesk.attribute.passage import (
    NOT_CONFIRMED,
    Rejection,
    RelayPassage,
    confirm_receipt,
    weakest,
)
from abusedesk.attribute.relays import OurRelays
from abusedesk.parse.report import ReceivedHop

_MIN_DISTINCT_NAMES = 3


def order_lost_because(header_names: Sequence[str], hops: Sequence[ReceivedHop]) -> str | None:
    """Why the Received order cannot be trusted, or None when it can.

    Either test can fire by chance on a genuine chain; that only sends it
    down the stricter unordered path, never the other way.
    """
    names = [name.casefold() for name in header_names]
    if len(set(names)) >= _MIN_DISTINCT_NAMES and names == sorted(names):
        return "the original's header fields arrived in alphabetical order"
    values = [" ".join(hop.raw.split()) for hop in hops]
    folded = [value.casefold() for value in values]
    if len(values) >= 2 and (values == sorted(values) or folded == sorted(folded)):
        return "the original's Received headers arrived in alphabetical order"
    return None


def find_passage_unordered(
    hops: Sequence[ReceivedHop], relays: OurRelays, why: str
) -> RelayPassage | Rejection:
    """The passage through our relays when the order of `hops` means nothing."""
    ours = [hop for hop in hops if relays.wrote(hop)]
    if not ours:
        return Rejection(f"no Received hop from our relays ({relays.describe()})")
    receipts = [
        hop for hop in hops if not relays.wrote(hop) and relays.is_relay_address(hop.from_ip)
    ]
    if len(receipts) != 1:
        return Rejection(
            f"{NOT_CONFIRMED}: {why}, so hop order is lost, and {len(receipts)} hops show "
            f"receipt from one of our relay addresses where exactly one is needed"
        )
    provider = receipts[0]
    others = [hop for hop in hops if hop is not provider and not relays.wrote(hop)]
    if others:
        return Rejection(
            f"{NOT_CONFIRMED}: {why}, so hop order is lost, and {describe_hop(others[0])} "
            f"cannot be placed; it could be the provider's real receipt with our hops "
            f"forged below it"
        )
    # Exactly one of our hops may have taken the message from outside our
    # relays: the submission. Two would mean one of them is not ours.
    outside = [
        hop
        for hop in ours
        if not relays.is_relay_address(hop.from_ip) and not is_internal_address(hop.from_ip)
    ]
    if len(outside) != 1:
        return Rejection(
            f"{NOT_CONFIRMED}: {why}, and {len(outside)} of the hops naming our relays show a "
            f"client outside our relays where exactly one (the submission) is expected"
        )
    submission = outside[0]
    if any(hop.authenticated_sender for hop in ours if hop is not submission):
        return Rejection(
            f"{NOT_CONFIRMED}: {why}, and an authenticated sender appears on a hop between "
            f"our relays, where only the submission hop writes one"
        )
    confirmed = confirm_receipt(provider, ours, relays)
    if isinstance(confirmed, Rejection):
        return confirmed
    confidence, note = confirmed
    # Without order, a hop between our relays cannot be told from one forged
    # below the submission, so only the submission hop is read for the sender.
    return RelayPassage(
        relay=relays.named_relay(provider) or submission.by_host or "?",
        our_hops=(submission,),
        provider_hop=provider,
        confidence=weakest(confidence, Confidence.MEDIUM),
        notes=(note, f"{why}; the chain was accepted only because it holds no other hops"),
    )
