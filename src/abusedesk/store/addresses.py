"""The one stored form of a mailbox address and of a domain name.

On the ground floor (`store/`) because every room compares addresses: the
directory's import and look-ups, the console's scopes, enforcement and the CLI.
"""

from __future__ import annotations

import unicodedata

import idna

__all__ = ["normalize_address", "normalize_domain"]


def normalize_address(address: str) -> str:
    """The stored form of a mailbox address: trimmed, lowercased, its domain `normalize_domain`'s.

    Never raises: a look-up with something that is no address simply finds nothing.
    """
    local, at, domain = address.strip().rpartition("@")
    if not at:
        return normalize_domain(domain) if "." in domain else domain.lower()
    return f"{unicodedata.normalize('NFC', local).lower()}@{normalize_domain(domain)}"


def normalize_domain(domain: str) -> str:
    """The one stored form of a domain name: lowercase ASCII, an IDN as its `xn--` A-label.

    So `Bücher.Example`, `bücher.example` and `xn--bcher-kva.example` are one
    domain (UTS 46 mapping, IDNA 2008). A name IDNA refuses is only lowercased;
    `accounts.signup` refuses it before anything is stored.
    """
    name = domain.strip().removesuffix(".")
    if name.isascii():
        return name.lower()
    try:
        return idna.encode(name, uts46=True).decode("ascii")
    except (idna.IDNAError, UnicodeError):
        return unicodedata.normalize("NFC", name).lower()
