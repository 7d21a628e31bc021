"""Trust a report by its DKIM signature: a valid signature of a configured provider domain.

A peer address proves who delivered a report only when the provider delivers
it to us directly; reports that reach us through a forwarder or a mailbox we
poll keep their provider's DKIM signature instead. Verification needs the
signer's public key from DNS; the lookup function is a parameter so that
tests can answer it without a network.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import dkim

from abusedesk.config import ProviderSettings

log = logging.getLogger(__name__)

DnsTxtLookup = Callable[..., bytes | None]


def dkim_trust(
    raw: bytes, providers: ProviderSettings, dnsfunc: DnsTxtLookup | None = None
) -> tuple[bool, str] | None:
    """(True, why) when a signature by a provider domain verifies; None when none does."""
    wanted = {domain.lower().rstrip(".") for domain in providers.dkim_domains}
    if not wanted or b"dkim-signature" not in raw[:65536].lower():
        return None
    message = raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    verifier = dkim.DKIM(message)
    signatures = len([1 for name, _ in verifier.headers if name.lower() == b"dkim-signature"])
    for index in range(signatures):
        try:
            valid = verifier.verify(idx=index, dnsfunc=dnsfunc or dkim.dnsplug.get_txt)
        except dkim.DKIMException as exc:
            log.debug("dkim: signature %d does not verify: %s", index, exc)
            continue
        domain = (verifier.domain or b"").decode("ascii", "replace").lower()
        if valid and _within(domain, wanted):
            return True, f"valid DKIM signature of provider domain {domain}"
    return None


def _within(domain: str, wanted: set[str]) -> bool:
    return any(domain == w or domain.endswith("." + w) for w in wanted)
