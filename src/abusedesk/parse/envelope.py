"""Read the report's own (outer) header: who sent it, when, about what.

The outer message is the report as the provider mailed it, not the reported
message. Some arrive without From, To or Message-ID (a 2023 Yahoo report),
with two Message-IDs (a gateway added one), or forwarded by a person.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from email.message import Message

from abusedesk.parse.addresses import domain_of, extract_address, extract_addresses
from abusedesk.parse.text import decode_header_text, raw_header_value


@dataclass(slots=True)
class OuterFacts:
    message_id: str | None = None
    subject: str | None = None
    from_address: str | None = None
    to: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def from_domain(self) -> str | None:
        return domain_of(self.from_address)


def header(message: Message, name: str) -> str | None:
    """The first value of `name`, raw but unfolded and printable, or None."""
    value = message.get(name)
    return None if value is None else raw_header_value(value)


def headers(message: Message, name: str) -> list[str]:
    return [raw_header_value(value) for value in message.get_all(name, [])]


def read_outer(message: Message) -> OuterFacts:
    facts = OuterFacts()
    ids = [value.strip().strip("<>").strip() for value in headers(message, "Message-ID")]
    ids = [value for value in ids if value]
    facts.message_id = ids[0] if ids else None
    if len(ids) > 1:
        facts.problems.append(f"the report has {len(ids)} Message-ID headers; using the first")
    facts.subject = decode_header_text(header(message, "Subject"))
    from_value = header(message, "From")
    facts.from_address = extract_address(from_value)
    if from_value is None:
        facts.problems.append("the report has no From")
    for value in headers(message, "To"):
        facts.to.extend(a for a in extract_addresses(value) if a not in facts.to)
    return facts


def reporter_of(outer: OuterFacts, *fallbacks: str | None) -> str | None:
    """The outer From's domain, else the first of `fallbacks` that is set."""
    if outer.from_domain:
        return outer.from_domain
    for fallback in fallbacks:
        if fallback and fallback.strip():
            return fallback.strip()
    return None
