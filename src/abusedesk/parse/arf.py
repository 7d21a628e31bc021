"""Read the fields of an RFC 5965 / RFC 6591 `message/feedback-report` part.

The part is a block of header-like fields. Generators spell the names in any
case (`Source-Ip`), use the legacy `Received-Date`, leave values empty
(`Authentication-Results:`), add non-standard fields (`Original-Message-ID`,
`Redacted-Address`), put placeholders where an IP should be, and at least
one (Exchange re-wrapping a NetEase report) sends the part base64-encoded as
an attachment, which the stdlib cannot read. Others send it quoted-printable,
which RFC 5965 does not allow, marked so or not: a soft line break in a long
field then hides every field after it, `Feedback-Type` included. Such a part
is decoded when it is marked quoted-printable and valid, or when it is clearly
quoted-printable though unmarked; a plain part reads exactly as it did.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from email.message import Message
from email.parser import HeaderParser

from abusedesk.parse.addresses import extract_addresses
from abusedesk.parse.dates import parse_date
from abusedesk.parse.ips import read_ip
from abusedesk.parse.mime import (
    decode_transfer,
    decoded_part_text,
    looks_quoted_printable,
    message_part_source,
    quoted_printable_damage,
    transfer_encoding,
)
from abusedesk.parse.normalize import normalise_line_endings
from abusedesk.parse.text import raw_header_value

_HEADER_PARSER = HeaderParser()


@dataclass(frozen=True, slots=True)
class FeedbackFields:
    """The fields of one feedback-report part: lowercased name → values in order."""

    values: dict[str, list[str]] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    """What had to be done to read the part (a transfer encoding undone or refused)."""

    def first(self, name: str) -> str | None:
        found = self.values.get(name.lower())
        return found[0] if found else None

    def all(self, name: str) -> list[str]:
        return self.values.get(name.lower(), [])

    def non_empty(self, name: str) -> list[str]:
        return [value for value in self.all(name) if value]


@dataclass(slots=True)
class ArfFacts:
    """What the feedback-report fields say, validated, with notes on what was wrong."""

    fields: FeedbackFields
    feedback_type: str | None = None
    user_agent: str | None = None
    version: str | None = None
    original_mail_from: str | None = None
    """The raw field; `""` for an explicit null sender."""
    original_rcpt_to: list[str] = field(default_factory=list)
    arrival_date: datetime | None = None
    reporting_mta: str | None = None
    source_ip: str | None = None
    incidents: int | None = None
    reported_domains: list[str] = field(default_factory=list)
    reported_uris: list[str] = field(default_factory=list)
    authentication_results: list[str] = field(default_factory=list)
    removal_recipients: list[str] = field(default_factory=list)
    auth_failure: str | None = None
    message_ids: list[str] = field(default_factory=list)
    """Message-ID / Original-Message-ID fields some generators add."""
    problems: list[str] = field(default_factory=list)


def read_feedback_fields(part: Message) -> FeedbackFields:
    """The fields of a feedback-report part, decoding a base64 or QP body first."""
    encoding = transfer_encoding(part)
    if encoding == "base64":
        return _fields_of(_HEADER_PARSER.parsestr(decoded_part_text(part).lstrip("\n")))
    notes: list[str] = []
    text = _source_text(part)
    if encoding == "quoted-printable":
        damage = quoted_printable_damage(text)
        if damage is None:
            return _decoded_fields_of(_HEADER_PARSER.parsestr(_decode_qp(text)))
        # Decoding damaged text would guess at what the provider meant; read
        # what is there and let a reviewer see why the fields may be missing.
        notes.append(
            f"feedback report is marked quoted-printable but is not ({damage}); read as written"
        )
    elif looks_quoted_printable(text):
        decoded = _decoded_fields_of(_HEADER_PARSER.parsestr(_decode_qp(text)))
        if decoded.first("Feedback-Type"):
            note = "feedback report is quoted-printable without saying so; decoded"
            return FeedbackFields(decoded.values, (note,))
    payload = part.get_payload()
    inner = payload[0] if isinstance(payload, list) and payload else None
    if isinstance(inner, Message) and inner.keys():
        plain = _fields_of(inner)
    else:
        plain = _fields_of(_HEADER_PARSER.parsestr(text.lstrip("\n")))
    return FeedbackFields(plain.values, tuple(notes))


def _source_text(part: Message) -> str:
    if part.get_content_maintype() == "message":
        return message_part_source(part)
    payload = part.get_payload()
    return payload if isinstance(payload, str) else ""


def _decode_qp(text: str) -> str:
    raw = normalise_line_endings(decode_transfer(text, "quoted-printable"))
    # Non-ASCII bytes become surrogate escapes, as the stdlib's bytes parser
    # leaves them, for `raw_header_value` to read.
    return raw.decode("ascii", "surrogateescape").lstrip("\n")


def _decoded_fields_of(source: Message) -> FeedbackFields:
    # Read raw: every 8-bit byte here came from an escape the provider wrote on
    # purpose, and `raw_header_value` reads it as UTF-8 (`items()` would first
    # turn it into a replacement character).
    return _fields_from(source.raw_items())


def _fields_of(source: Message) -> FeedbackFields:
    return _fields_from(source.items())


def _fields_from(items: Iterable[tuple[str, object]]) -> FeedbackFields:
    values: dict[str, list[str]] = {}
    for name, value in items:
        values.setdefault(name.strip().lower(), []).append(raw_header_value(value))
    return FeedbackFields(values)


def first_token(value: str | None) -> str | None:
    """`abuse` from `Abuse (user clicked spam)`: lowercased, comments dropped."""
    if not value:
        return None
    words = value.replace("(", " ").replace(";", " ").split()
    return words[0].lower() if words else None


def read_arf_facts(fields: FeedbackFields) -> ArfFacts:
    """Validate the fields of a feedback report into `ArfFacts`."""
    facts = ArfFacts(fields=fields, problems=list(fields.notes))
    facts.feedback_type = first_token(fields.first("Feedback-Type"))
    if facts.feedback_type is None:
        facts.problems.append("feedback report has no Feedback-Type")
    facts.user_agent = fields.first("User-Agent") or None
    facts.version = fields.first("Version") or None
    facts.original_mail_from = fields.first("Original-Mail-From")
    for value in fields.non_empty("Original-Rcpt-To"):
        found = extract_addresses(value)
        if not found:
            facts.problems.append(f"Original-Rcpt-To {value[:80]!r} is not an address")
        facts.original_rcpt_to.extend(a for a in found if a not in facts.original_rcpt_to)
    _read_arrival_date(fields, facts)
    mta = fields.first("Reporting-MTA")
    if mta:
        facts.reporting_mta = mta.partition(";")[2].strip() or mta.strip()
    _read_source_ip(fields, facts)
    incidents = fields.first("Incidents")
    if incidents:
        if incidents.strip().isdigit():
            facts.incidents = int(incidents.strip()[:9])
        else:
            facts.problems.append(f"Incidents {incidents[:40]!r} is not a number")
    facts.reported_domains = [v.lower().strip(".") for v in fields.non_empty("Reported-Domain")]
    facts.reported_uris = fields.non_empty("Reported-URI")
    facts.authentication_results = fields.non_empty("Authentication-Results")
    for value in fields.non_empty("Removal-Recipient"):
        facts.removal_recipients.extend(extract_addresses(value))
    facts.auth_failure = first_token(fields.first("Auth-Failure"))
    for name in ("Original-Message-ID", "Message-ID"):
        facts.message_ids.extend(v.strip().strip("<>") for v in fields.non_empty(name))
    return facts


def _read_arrival_date(fields: FeedbackFields, facts: ArfFacts) -> None:
    value = fields.first("Arrival-Date")
    name = "Arrival-Date"
    if not value:
        value, name = fields.first("Received-Date"), "Received-Date"
    if not value:
        return
    facts.arrival_date, note = parse_date(value)
    if note:
        facts.problems.append(f"{name}: {note}")


def _read_source_ip(fields: FeedbackFields, facts: ArfFacts) -> None:
    value = fields.first("Source-IP")
    if value is None:
        return
    facts.source_ip = read_ip(value)
    if facts.source_ip is None:
        facts.problems.append(f"Source-IP {value[:80]!r} is not an IP address")
