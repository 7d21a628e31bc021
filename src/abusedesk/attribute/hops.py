"""Facts about single Received hops and pairs of them that the trust checks share."""

from __future__ import annotations

import ipaddress
from datetime import timedelta

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


def same_host(name: str | None, other: str) -> bool:
    """Whether two host keys name one host (one side may be the short name of the other)."""
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
