"""Trust a report by its DKIM signature: a valid signature of a configured provider domain
that covers everything the report is read and counted by.

A peer address proves who delivered a report only when the provider delivers
it to us directly; reports that reach us through a forwarder or a mailbox we
poll keep their provider's DKIM signature instead. Verification needs the
signer's public key from DNS; the lookup function is a parameter so that
tests can answer it without a network.

A signature that verifies proves less than it seems: whoever holds a copy of
the report may add header fields above it (a verifier takes the instances a
signature covers from the bottom, RFC 6376 §5.4.2; readers take the first),
change the fields its `h=` does not list, and, under an `l=` tag, append to
the body. So a valid provider signature is refused, with the reason, when

- the report is counted by its Message-ID (`record/identity.py`) and the
  signature does not cover that Message-ID and its From, or the report holds
  other than exactly one Message-ID: anyone could give each copy a new key;
- a field RFC 5322 allows once appears more often than `h=` lists it: the
  extra ones, above the signed one, are what every reader reads;
- the body goes on past the length `l=` signs. The key is not taken from the
  signed length instead: the parser reads the whole body, and bytes after it
  (another part, an epilogue) could change what the report says, not only how
  it is counted;
- dkimpy and the parser do not read the same header block (a line of only
  spaces or tabs continues a field for dkimpy and ends the header for the
  parser): what was verified is not what is read.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from typing import Any

from abusedesk.config import ProviderSettings
from abusedesk.record.identity import SINGLETON_FIELDS, KeyKind, ReportIdentity

log = logging.getLogger(__name__)

DnsTxtLookup = Callable[..., bytes | None]


def dkim_trust(
    raw: bytes,
    providers: ProviderSettings,
    dnsfunc: DnsTxtLookup | None = None,
    *,
    identity: ReportIdentity,
) -> tuple[bool, str] | None:
    """(True, why) when a provider domain's signature verifies and covers what `identity`
    rests on; (False, why) when one verifies but does not cover it; None when none verifies."""
    wanted = {domain.lower().rstrip(".") for domain in providers.dkim_domains}
    if not wanted or b"dkim-signature" not in raw[:65536].lower():
        return None
    # dkimpy (and the DNS resolver it brings) is imported only for a report that has a
    # signature to verify: most processes never see one (`abusedesk ingest -` of a file).
    import dkim

    message = raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    try:
        verifier = dkim.DKIM(message)
    except (dkim.DKIMException, IndexError) as exc:
        # A header block dkimpy cannot read (a line that is no field; a first line
        # that continues nothing) carries no signature it could verify.
        log.debug("dkim: header not readable: %s", exc)
        return None
    signatures = len([1 for name, _ in verifier.headers if name.lower() == b"dkim-signature"])
    refused: str | None = None
    for index in range(signatures):
        try:
            valid = verifier.verify(idx=index, dnsfunc=dnsfunc or dkim.dnsplug.get_txt)
        except dkim.DKIMException as exc:
            log.debug("dkim: signature %d does not verify: %s", index, exc)
            continue
        domain = (verifier.domain or b"").decode("ascii", "replace").lower()
        if not (valid and _within(domain, wanted)):
            continue
        uncovered = _uncovered(verifier, identity)
        if uncovered is None:
            return True, f"valid DKIM signature of provider domain {domain}"
        refused = refused or (
            f"DKIM signature of provider domain {domain} verifies but is not trusted: {uncovered}"
        )
    return None if refused is None else (False, refused)


def _uncovered(verifier: Any, identity: ReportIdentity) -> str | None:
    """What the verified signature leaves open that the report is read or counted by."""
    import dkim

    present = tuple(name.decode("ascii", "replace").lower() for name, _ in verifier.headers)
    if present != identity.outer_fields:
        return (
            "the signature was checked against another header block than abusedesk reads "
            "(a line of only spaces or tabs, or a line that is no field, inside the header)"
        )
    signed = Counter(name.decode("ascii", "replace") for name in verifier.include_headers)
    counts = Counter(present)
    fields = verifier.signature_fields
    if b"l" in fields:
        canonical = dkim.CanonicalizationPolicy.from_c_value(fields.get(b"c", b"simple/simple"))
        length, signed_length = len(canonical.canonicalize_body(verifier.body)), int(fields[b"l"])
        if length > signed_length:
            return (
                f"it signs only the first {signed_length} bytes of the body (l=), and "
                f"{length - signed_length} more follow that anyone could have added"
            )
    if identity.kind is KeyKind.MESSAGE_ID and counts["message-id"] != 1:
        return f"the report is counted by its Message-ID and has {counts['message-id']} of them"
    for field in identity.counted_by:
        if counts[field] > signed[field]:
            return (
                f"the report is counted by its {SINGLETON_FIELDS[field]}, which the signature "
                f"does not cover (h= lists it {signed[field]} times, the header has "
                f"{counts[field]}): anyone could change it and have one report counted many times"
            )
    for field, name in SINGLETON_FIELDS.items():
        if counts[field] > 1 and counts[field] > signed[field]:
            return (
                f"the header has {counts[field]} {name} fields and the signature covers "
                f"{signed[field]}: the others, read first, were added after signing"
            )
    return None


def _within(domain: str, wanted: set[str]) -> bool:
    return any(domain == w or domain.endswith("." + w) for w in wanted)
