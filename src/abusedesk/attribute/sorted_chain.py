"""Headers that arrive sorted: spotting them, and the little that can still be proven.

Some providers (Return Path's and some webmail feedback loops) sort the
original's header fields alphabetically before putting them in the report.
The Received headers then no longer say which hop sits above which, and the
ordered check (`passage.find_passage_in_order`) would be reading positions
the sorting made up — an attacker can even choose HELO names so that their
forged hops sort into a convincing order.

Without order, no hop can be shown to be the provider's, so the proof must
come from the report itself: its `Source-IP`, which the provider writes, is
one of our relay addresses. Then the message really left through our relays,
and our relay always writes its own hop naming the authenticated sender. A
hop forged below it by the client would be a second one naming a sender, so
the passage is accepted only when **exactly one** hop by our relays names an
authenticated sender; that hop is ours. Every other sorted case is refused,
and even an accepted one is MEDIUM, because the layout was inferred rather
than seen.
"""

from __future__ import annotations

from collections.abc import Sequence

from abusedesk.attribute.attribution import Confidence
from abusedesk.attribute.hops import describe_hop
from abusedesk.attribute.passage import (
    NOT_CONFIRMED,
    Rejection,
    RelayPassage,
    source_ip_refusal,
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
    hops: Sequence[ReceivedHop], relays: OurRelays, source_ip: str | None, why: str
) -> RelayPassage | Rejection:
    """The passage through our relays when the order of `hops` means nothing."""
    ours = [hop for hop in hops if relays.wrote(hop)]
    if not ours:
        return Rejection(f"no Received hop from our relays ({relays.describe()})")
    if source_ip is None:
        return Rejection(
            f"{NOT_CONFIRMED}: {why}, so hop order is lost, and the report has no Source-IP "
            f"to say the provider received the message from our relays"
        )
    refused = source_ip_refusal(source_ip, relays, hops)
    if refused is not None:
        return refused
    naming = [hop for hop in ours if hop.authenticated_sender]
    if len(naming) != 1:
        return Rejection(
            f"{NOT_CONFIRMED}: {why}, so hop order is lost, and {len(naming)} hops naming our "
            f"relays name an authenticated sender where exactly one (our relay's own) is "
            f"needed to tell it from a forgery"
        )
    [submission] = naming
    return RelayPassage(
        relay=submission.by_host or "?",
        our_hops=(submission,),
        provider_hop=None,
        confidence=Confidence.MEDIUM,
        notes=(
            f"the provider's report says it received the message from our relay address "
            f"{source_ip} (Source-IP)",
            f"{why}; accepted because exactly one hop naming our relays "
            f"({describe_hop(submission)}) names an authenticated sender",
        ),
    )
