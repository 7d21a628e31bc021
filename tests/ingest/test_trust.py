"""Who is a trusted feedback-loop provider: peers in configured networks, operators by default."""

from __future__ import annotations

from abusedesk.config import ProviderSettings
from abusedesk.ingest.trust import ProviderPeers, trust_for_operator

PEERS = ProviderPeers(ProviderSettings(peers=["192.0.2.0/24", "2001:db8::1"]))


def test_peers_in_provider_networks_are_trusted() -> None:
    assert PEERS.trust("192.0.2.77") == (
        True,
        "peer 192.0.2.77 is in configured provider network 192.0.2.0/24",
    )
    assert PEERS.trust("2001:db8::1")[0]


def test_everyone_else_is_not() -> None:
    assert PEERS.trust("198.51.100.1") == (
        False,
        "peer 198.51.100.1 is not a configured feedback-loop provider",
    )
    assert PEERS.trust("x.x.x.x") == (False, "peer 'x.x.x.x' is not an IP address")
    assert PEERS.trust(None) == (False, "no peer address")


def test_operators_are_trusted_unless_they_say_otherwise() -> None:
    assert trust_for_operator(untrusted=False) == (True, "ingested by an operator")
    assert trust_for_operator(untrusted=True)[0] is False
