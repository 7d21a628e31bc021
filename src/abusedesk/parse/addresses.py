"""Pull addr-specs out of address fields, however broken.

Real fields break every rule: display names with unbalanced quotes
(`Minna Abhil' <a@b>`), an encoded-word followed by a bare address with no
angle brackets, `undisclosed recipient <x@y>` in an ARF field, `<>` for the
null sender, hashed and redacted local parts. These helpers scan by splitting,
never by backtracking patterns, so their cost is linear in the input.
"""

from __future__ import annotations

import re

from abusedesk.parse.text import MAX_HEADER_CHARS, restore_8bit

_ANGLE = re.compile(r"<([^<>]*)>")
_TOKEN_SPLIT = re.compile(r"[\s,;<>()\"']+")
_DOMAIN = re.compile(r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*")
_LOCAL_FORBIDDEN = frozenset(' \t<>()[]\\,;:"')


def _as_addr_spec(candidate: str) -> str | None:
    candidate = candidate.strip().strip(".").lower()
    if candidate.startswith("mailto:"):
        candidate = candidate[7:]
    local, at, domain = candidate.rpartition("@")
    if not at or not local or not domain or len(candidate) > 320:
        return None
    if not _LOCAL_FORBIDDEN.isdisjoint(local):
        return None
    domain = domain.rstrip(".")
    if len(domain) > 253 or not _DOMAIN.fullmatch(domain):
        return None
    return f"{local}@{domain}"


def extract_addresses(value: str | None) -> list[str]:
    """Every addr-spec in an address field, lowercased, in order, deduplicated.

    Angle-bracketed addresses win over bare ones: `"a@b" <c@d>` names c@d.
    """
    if not value:
        return []
    text = restore_8bit(value[:MAX_HEADER_CHARS])
    found: list[str] = []
    bracketed = [match.group(1) for match in _ANGLE.finditer(text)]
    candidates = bracketed if any("@" in item for item in bracketed) else None
    if candidates is None:
        candidates = [token for token in _TOKEN_SPLIT.split(text) if "@" in token]
    for candidate in candidates:
        address = _as_addr_spec(candidate)
        if address and address not in found:
            found.append(address)
    return found


def extract_address(value: str | None) -> str | None:
    """The one addr-spec a single-address field (From, Return-Path) names.

    When a display name itself looks like an address, the bracketed address
    after it is the real one, so the last angle-bracketed address is taken.
    """
    addresses = extract_addresses(value)
    return addresses[-1] if addresses else None


def is_null_path(value: str | None) -> bool:
    """True for an empty reverse-path: `<>` or nothing at all."""
    return value is not None and value.strip() in ("", "<>")


def domain_of(address: str | None) -> str | None:
    """The lowercased domain of an addr-spec, or None."""
    if not address or "@" not in address:
        return None
    domain = address.rpartition("@")[2].strip().strip(".").lower()
    return domain or None
