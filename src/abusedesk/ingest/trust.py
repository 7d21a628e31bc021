"""Decide whether a report's sender is a configured feedback-loop provider."""

from __future__ import annotations

import ipaddress

from abusedesk.config import ProviderSettings


class ProviderPeers:
    """The configured provider networks, parsed once (this runs for every SMTP report)."""

    def __init__(self, providers: ProviderSettings) -> None:
        self._networks = [
            (text, ipaddress.ip_network(text, strict=False)) for text in providers.peers
        ]

    def trust(self, peer_ip: str | None) -> tuple[bool, str]:
        """Whether a report delivered from `peer_ip` is trusted, and why (in words)."""
        if not peer_ip:
            return False, "no peer address"
        try:
            address = ipaddress.ip_address(peer_ip)
        except ValueError:
            return False, f"peer {peer_ip!r} is not an IP address"
        for text, network in self._networks:
            if address in network:
                return True, f"peer {peer_ip} is in configured provider network {text}"
        return False, f"peer {peer_ip} is not a configured feedback-loop provider"


def trust_for_operator(untrusted: bool) -> tuple[bool, str]:
    """Reports an operator ingests from files or stdin are trusted unless they say otherwise."""
    if untrusted:
        return False, "ingested by an operator with --untrusted"
    return True, "ingested by an operator"
