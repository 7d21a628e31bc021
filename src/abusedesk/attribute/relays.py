"""Our own outbound relays, as configured: the only writers of hops we trust."""

from __future__ import annotations

import functools
import ipaddress
from dataclasses import dataclass
from typing import TypeAlias

from abusedesk.config import AttributionSettings
from abusedesk.parse.received import normalise_ip
from abusedesk.parse.report import ReceivedHop

Network: TypeAlias = ipaddress.IPv4Network | ipaddress.IPv6Network


def host_key(name: str | None) -> str | None:
    """A host name in the form we compare: case-folded, without the root dot."""
    if not name:
        return None
    key = name.strip().rstrip(".").casefold()
    return key or None


@dataclass(frozen=True, slots=True)
class OurRelays:
    """The hostnames our relays write in `by`, and the networks they send from.

    Built once from `AttributionSettings.relays`, where each entry is either a
    hostname or an IP address / CIDR.
    """

    hostnames: frozenset[str]
    networks: tuple[Network, ...]
    provider_networks: tuple[Network, ...] = ()
    """Public networks the providers use only between their own hosts
    (`attribution.provider_networks`): a hop from one of them continues the
    provider's chain as an internal address does."""

    @classmethod
    def from_settings(cls, settings: AttributionSettings) -> OurRelays:
        return _relays_from_entries(tuple(settings.relays), tuple(settings.provider_networks))

    @property
    def configured(self) -> bool:
        """Both halves are needed: names to find our hops, addresses to confirm them."""
        return bool(self.hostnames) and bool(self.networks)

    def wrote(self, hop: ReceivedHop) -> bool:
        """True when the hop claims to be written by one of our relays (`by` is ours).

        A claim only: anyone can write such a header before submitting.
        """
        return host_key(hop.by_host) in self.hostnames

    def is_relay_address(self, ip: str | None) -> bool:
        return _within(ip, self.networks)

    def is_provider_address(self, ip: str | None) -> bool:
        return _within(ip, self.provider_networks)

    def named_relay(self, hop: ReceivedHop) -> str | None:
        """The relay hostname the hop's verified reverse DNS names, if any."""
        key = host_key(hop.from_rdns)
        return key if key in self.hostnames else None

    def describe(self) -> str:
        return ", ".join(sorted(self.hostnames)) or "(no relay hostnames configured)"


def _within(ip: str | None, networks: tuple[Network, ...]) -> bool:
    canonical = normalise_ip(ip) if ip else None
    if canonical is None:
        return False
    address = ipaddress.ip_address(canonical)
    return any(address in network for network in networks)


@functools.lru_cache(maxsize=16)
def _relays_from_entries(entries: tuple[str, ...], providers: tuple[str, ...]) -> OurRelays:
    """Built once per configuration, not once per report (a reload brings new entries)."""
    hostnames: set[str] = set()
    networks: list[Network] = []
    for entry in entries:
        try:
            networks.append(ipaddress.ip_network(entry.strip(), strict=False))
        except ValueError:
            key = host_key(entry)
            if key:
                hostnames.add(key)
    provider_networks = tuple(ipaddress.ip_network(entry, strict=False) for entry in providers)
    return OurRelays(frozenset(hostnames), tuple(networks), provider_networks)
