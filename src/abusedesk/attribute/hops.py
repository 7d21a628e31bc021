"""Facts about single Received hops and pairs of them that the trust checks share."""

from __future__ import annotations

import ipaddress
from datetime import timedelta
from enum import Enum

from abusedesk.attribute.relays import host_key
from abusedesk.parse.received import normalise_ip
from abusedesk.parse.report import ReceivedHop

CLOCK_SKEW = timedelta(minutes=10)
"""How far a receiving host's clock may run behind the host that handed it the message."""

MAX_QUEUE_DELAY = timedelta(days=7)
"""Longer than any relay keeps a message queued (Postfix's default is 5 days)."""

# Addresses no outside sender can connect from: a hop from one of them is a
# handoff inside the receiving site (content filter, LMTP, mail store). This is
# an explicit list because `ipaddress.is_private` also covers the documentation
# ranges, which are real public addresses as far as this check is concerned.
_INTERNAL_NETWORKS = tuple(
    ipaddress.ip_network(network)
    for network in (
        "10.0.0.0/8",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "::1/128",
        "fc00::/7",
        "fe80::/10",
    )
)


class Link(Enum):
    """How well a hop is shown to continue from the hop below it."""

    STRONG = "strong"
    """Reverse DNS names the host below, or an internal host's HELO does."""
    WEAK = "weak"
    """Only a name the sender chose (a public client's HELO), or a local
    re-injection on the same host, which names nothing a forger could not."""
    BROKEN = "broken"


def is_internal_address(ip: str | None) -> bool:
    canonical = normalise_ip(ip) if ip else None
    if canonical is None:
        return False
    address = ipaddress.ip_address(canonical)
    return any(address in network for network in _INTERNAL_NETWORKS)


def has_from_part(hop: ReceivedHop) -> bool:
    """False for local injections (`by host id X`, qmail's `invoked by uid`)."""
    if hop.from_helo or hop.from_rdns or hop.from_ip:
        return True
    return hop.raw.lstrip()[:5].casefold() == "from "


def continues_from(upper: ReceivedHop, lower: ReceivedHop) -> Link:
    """Whether `upper` records receiving the message from the host that wrote `lower`.

    Above the provider's receipt there may be its own internal hops and, when
    a copy was forwarded after delivery, the forwarder's hops. Each must name
    the host below it. A hop showing the message coming from anywhere else
    means the hops below it were already in the message when it arrived — and
    may be forged. An internal address alone is not enough: a message the
    attacker injected through the provider's own webmail has only internal
    hops above whatever they forged.
    """
    below = host_key(lower.by_host)
    if below is None:
        return Link.BROKEN
    if not has_from_part(upper):
        return Link.WEAK if _same_host(host_key(upper.by_host), below) else Link.BROKEN
    rdns = host_key(upper.from_rdns)
    if _same_host(rdns, below):
        return Link.STRONG
    if not _same_host(host_key(upper.from_helo), below):
        return Link.BROKEN
    if is_internal_address(upper.from_ip):
        return Link.STRONG
    # A public client whose HELO names the host below while its looked-up
    # name is something else is the textbook forger; without any looked-up
    # name (Exchange never writes one) the HELO is all there is.
    return Link.WEAK if rdns is None else Link.BROKEN


def dates_consistent(earlier: ReceivedHop, later: ReceivedHop) -> bool:
    """False when `later` claims to have received the message before `earlier` sent
    it, or implausibly long after. Missing dates are not evidence either way."""
    if earlier.date is None or later.date is None:
        return True
    return earlier.date - CLOCK_SKEW <= later.date <= earlier.date + MAX_QUEUE_DELAY


def describe_hop(hop: ReceivedHop) -> str:
    """A short description a reviewer can find in the raw headers."""
    parts = [f"Received header #{hop.index + 1}"]
    if hop.by_host:
        parts.append(f"by {hop.by_host}")
    if hop.from_ip or hop.from_rdns or hop.from_helo:
        parts.append(f"from {hop.from_rdns or hop.from_helo or '?'} [{hop.from_ip or '?'}]")
    return " ".join(parts)


def _same_host(name: str | None, other: str) -> bool:
    if name is None:
        return False
    if name == other:
        return True
    # Some MTAs write the short name on one side and the FQDN on the other.
    if "." not in name:
        return other.split(".", 1)[0] == name
    if "." not in other:
        return name.split(".", 1)[0] == other
    return False
