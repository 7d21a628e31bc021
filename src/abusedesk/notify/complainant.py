"""Who complained, as far as a report says: their addresses and names, and the sender's
addresses that must stay.

A report reveals the complainant in many places: the recipients it names
(Original-Rcpt-To, JMRP's X-HmXmrOriginalRecipient), the original's recipient
headers (To, Cc, X-Original-To, Delivered-To, X-Apparently-To, Envelope-To, …),
the `for <…>` of every Received hop, and the report's Removal-Recipient.
Besides the addresses, `Complainant` holds what points at the person without
one (`redaction` takes each out of a text):

- the local part alone (`Hi jane.doe,`) where that is distinctive: five
  characters or more with a digit or separator (`jane.doe`, `jdoe77`), six
  letters or more without (`kijitora`), never a role or common word such as
  `sales`, `dmarc` or `complaint`, never a run of one letter such as `xxxxxx`
  (a provider's own redaction). Shorter ones (`Hi jane,`) stay, as any
  common word would: redacting them would blank ordinary words of the spam;
- names: the display name of a recipient header (`"Jane Doe" <…>`), unless it
  only repeats a label of a domain (`LinkedIn <…@linkedin.com>` names a
  service), and a local part such as `jane.doe` written as one (`Jane Doe`).

What must stay (`kept`): the mailbox the complaint is charged to (the caller
names it) and the original's sender addresses (From, Sender, Return-Path,
Reply-To, the authenticated senders of its hops) — unless the report also
names one as a recipient, as spam that claims to come from its own recipient
does (then that From shows the complainant), or it is a bounce address that
encodes hers (VERP's `…+jane=yahoo.example@esp`). The local parts and names
of kept addresses are never taken for the complainant's.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from email.utils import getaddresses
from typing import Final

from abusedesk.parse.addresses import extract_addresses
from abusedesk.parse.report import Report
from abusedesk.parse.text import MAX_HEADER_CHARS, decode_header_text

RECIPIENT_HEADERS: Final = (
    "To",
    "Cc",
    "Bcc",
    "X-Original-To",
    "Delivered-To",
    "X-Delivered-To",
    "X-Apparently-To",
    "Envelope-To",
    "X-Envelope-To",
    "X-HmXmrOriginalRecipient",
    "X-Original-Recipient",
    "Original-Recipient",
    "X-Rcpt-To",
    "X-Forwarded-To",
)
SENDER_HEADERS: Final = ("From", "Sender", "Return-Path", "Reply-To")
MIN_DISTINCTIVE: Final = 5
_COMMON = (
    "abuse account accounts admin administrator alerts all anonymous billing bounce "
    "bounces careers complaint complaints contact customer customers daemon email "
    "feedback friend friends hello help hidden hostmaster inbox info jobs list lists "
    "mail mailer-daemon marketing member members news newsletter no-reply noreply "
    "notification notifications office orders postmaster privacy recipient recipients "
    "redacted removed reply root sales security service services shop spam staff store "
    "subscriber subscribers support team test undisclosed undisclosed-recipients unknown "
    "unsubscribe user users webmaster welcome"
)
COMMON_WORDS: Final = frozenset(_COMMON.split())
"""Local parts and names too common to redact on their own: they name no person."""

_FOR_CLAUSE = re.compile(r"\bfor\s+([^;]*)", re.IGNORECASE)
_WORD = re.compile(r"[^\W\d_]+")


@dataclass(frozen=True, slots=True)
class Complainant:
    """Everything of one report that points at the person who complained."""

    addresses: tuple[str, ...] = ()
    """Lowercased, in the order the report reveals them."""
    local_parts: tuple[str, ...] = ()
    """The distinctive local parts, safe to redact on their own."""
    names: tuple[tuple[str, ...], ...] = ()
    """The words of each name, casefolded."""
    kept: tuple[str, ...] = ()
    """Sender-side addresses, never redacted."""


def complainant_addresses(report: Report, keep: Iterable[str | None] = ()) -> tuple[str, ...]:
    """Every address of the complainant the report reveals, lowercased, in order found.

    `keep` (the mailbox the complaint is charged to) is never among them.
    """
    kept = lowered(keep)
    found: dict[str, None] = {}
    for candidate in _recipient_candidates(report):
        address = candidate.strip().strip("<>").strip().lower()
        local, at, domain = address.rpartition("@")
        if not (local and at and domain) or address in kept:
            continue
        found[address] = None
        if "+" in local:  # the same mailbox without its subaddress
            found.setdefault(f"{local.split('+', 1)[0]}@{domain}", None)
    return tuple(a for a in found if a not in kept)


def complainant_of(report: Report, keep: Iterable[str | None] = ()) -> Complainant:
    """The complainant of one parsed report; `keep` names the mailbox it is charged to."""
    kept = lowered(keep)
    addresses = complainant_addresses(report, kept)
    if not addresses:
        return Complainant()
    complainant = set(addresses)
    # A bounce address that encodes the recipient (VERP, `b+jane=yahoo.example@esp`)
    # is hers as much as the sender's, and not kept.
    verp = [a.replace("@", "=") for a in addresses]
    protected = {
        a
        for a in kept | _sender_addresses(report)
        if a not in complainant and not any(v in a for v in verp)
    }
    kept_locals = {a.rpartition("@")[0] for a in protected}
    kept_names = {w for w, a in _names_in(report, SENDER_HEADERS) if a not in complainant}
    labels = {label for a in complainant | protected for label in a.rpartition("@")[2].split(".")}
    local_parts: dict[str, None] = {}
    names: dict[tuple[str, ...], None] = {}
    for address in addresses:
        local = address.rpartition("@")[0]
        if local in kept_locals:
            continue
        if _distinctive(local):
            local_parts[local] = None
        pieces = tuple(re.split(r"[._-]+", local))
        if len(pieces) >= 2 and all(p.isalpha() and len(p) >= 2 for p in pieces):
            names[pieces] = None
    for words, address in _names_in(report, ("To", "Cc", "Bcc", *SENDER_HEADERS)):
        if address in complainant:
            names[words] = None
    return Complainant(
        addresses=addresses,
        local_parts=tuple(local_parts),
        names=tuple(
            words
            for words in names
            if _distinctive_name(words) and not set(words) <= labels and words not in kept_names
        ),
        kept=tuple(sorted(protected, key=len, reverse=True)),
    )


def lowered(values: Iterable[str | None]) -> set[str]:
    return {v.strip().lower() for v in values if v and v.strip()}


def _recipient_candidates(report: Report) -> Iterable[str]:
    yield from report.removal_recipients
    original = report.original
    if original is None:
        return
    yield from original.recipients
    for name in RECIPIENT_HEADERS:
        for value in original.header_values(name):
            yield from _addresses_in(value)
    for hop in original.received:
        if hop.for_address:
            yield hop.for_address
        # A hop may name several recipients; the parser keeps the first.
        for clause in _FOR_CLAUSE.finditer(hop.raw[:MAX_HEADER_CHARS]):
            yield from extract_addresses(clause.group(1).replace("<", " ").replace(">", " "))


def _addresses_in(value: str) -> list[str]:
    """Every address in a field, display names that are addresses included."""
    decoded = decode_header_text(value) or ""
    bare = decoded.replace("<", " ").replace(">", " ")
    return extract_addresses(value) + extract_addresses(decoded) + extract_addresses(bare)


def _sender_addresses(report: Report) -> set[str]:
    original = report.original
    if original is None:
        return set()
    found = {original.from_address, original.mail_from}
    found |= {hop.authenticated_sender for hop in original.received}
    for name in SENDER_HEADERS:
        for value in original.header_values(name):
            found.update(_addresses_in(value))
    return lowered(found)


def _names_in(report: Report, headers: Iterable[str]) -> list[tuple[tuple[str, ...], str]]:
    """(the words of each display name, its address) in these headers of the original."""
    found: list[tuple[tuple[str, ...], str]] = []
    if report.original is None:
        return found
    for header in headers:
        for value in report.original.header_values(header):
            for name, address in getaddresses([decode_header_text(value) or ""]):
                words = tuple(w.casefold() for w in _WORD.findall(name))
                if words and "@" not in name:
                    found.append((words, address.strip().lower()))
    return found


def _distinctive(local: str) -> bool:
    structured = any(not c.isalpha() for c in local)
    return (
        len(local) >= (MIN_DISTINCTIVE if structured else MIN_DISTINCTIVE + 1)
        and local not in COMMON_WORDS
        and len(set(local)) >= 3
        and any(c.isalpha() for c in local)
    )


def _distinctive_name(words: tuple[str, ...]) -> bool:
    return sum(len(w) for w in words) >= MIN_DISTINCTIVE and not all(
        w in COMMON_WORDS for w in words
    )
