"""The typed result of parsing one raw feedback report: `Report` and its parts.

These types are the contract between the parse stage and everything after it
(attribute, record, decide, the CLI's JSON output). They are frozen: a parsed
report is a fact, and later stages add to it by building new values.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class ReportKind(StrEnum):
    """What a received message means for the abuse policy.

    Only `COMPLAINT` counts toward suspensions; the others are recorded.
    """

    COMPLAINT = "complaint"
    NOT_SPAM = "not-spam"
    OPT_OUT = "opt-out"
    AUTH_FAILURE = "auth-failure"
    OTHER_REPORT = "other-report"
    NOT_A_REPORT = "not-a-report"


class ReportFormat(StrEnum):
    """The wire format a report arrived in."""

    ARF = "arf"
    JMRP = "jmrp"
    SPAMCOP = "spamcop"
    XARF = "x-arf"
    SES = "ses"
    DMARC = "dmarc"
    UNSUBSCRIBE = "unsubscribe"
    FORWARDED = "forwarded"
    DSN = "dsn"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class ReceivedHop:
    """One `Received:` header of the original message, as far as it could be read.

    `index` counts from the top of the header block (0 is the newest hop, the
    one written last), in the order the headers arrived. Every field but `raw`
    may be missing: real hops are truncated, reordered and forged.
    """

    index: int
    raw: str
    from_helo: str | None = None
    from_rdns: str | None = None
    from_ip: str | None = None
    by_host: str | None = None
    with_protocol: str | None = None
    queue_id: str | None = None
    for_address: str | None = None
    authenticated_sender: str | None = None
    date: datetime | None = None
    doubts: tuple[str, ...] = ()
    """Why parts of the hop were left unread: text the connecting client chose (a HELO
    name, a certificate name, a recipient) could be read as more than one layout."""


@dataclass(frozen=True, slots=True)
class OriginalMessage:
    """The reported message (or what is left of it after redaction)."""

    headers: tuple[tuple[str, str], ...] = ()
    """All header fields in arrival order, names as written, values unfolded."""
    message_id: str | None = None
    """Without angle brackets."""
    from_address: str | None = None
    """The addr-spec of From:, lowercased."""
    mail_from: str | None = None
    """Original-Mail-From of the report, else the original's Return-Path; lowercased."""
    subject: str | None = None
    """Decoded."""
    recipients: tuple[str, ...] = ()
    """Lowercased addresses the report says received it (Original-Rcpt-To, JMRP's
    X-HmXmrOriginalRecipient, …), deduplicated, in order."""
    date: datetime | None = None
    received: tuple[ReceivedHop, ...] = ()
    body_excerpt: str | None = None
    """The first few KiB of the decoded text body, for samples in notices; never HTML."""
    headers_only: bool = False
    """True when the report carried only the headers (text/rfc822-headers or truncated)."""

    def header(self, name: str) -> str | None:
        """The first value of header `name` (case-insensitive), or None."""
        wanted = name.lower()
        for key, value in self.headers:
            if key.lower() == wanted:
                return value
        return None

    def header_values(self, name: str) -> tuple[str, ...]:
        """Every value of header `name` (case-insensitive), in order."""
        wanted = name.lower()
        return tuple(value for key, value in self.headers if key.lower() == wanted)


@dataclass(frozen=True, slots=True)
class Report:
    """Everything abusedesk understood of one raw report."""

    kind: ReportKind
    format: ReportFormat
    feedback_type: str | None = None
    """Lowercased ARF Feedback-Type (or the equivalent of the non-ARF formats)."""
    reporter: str | None = None
    """Who sent the report: the reporting provider's domain or address."""
    user_agent: str | None = None
    version: str | None = None
    source_ip: str | None = None
    """A syntactically valid IPv4/IPv6 address, or None (`x.x.x.x` is not an IP)."""
    arrival_date: datetime | None = None
    """Arrival-Date or legacy Received-Date, timezone-aware, when present and parseable."""
    reporting_mta: str | None = None
    incidents: int | None = None
    reported_domains: tuple[str, ...] = ()
    reported_uris: tuple[str, ...] = ()
    authentication_results: tuple[str, ...] = ()
    removal_recipients: tuple[str, ...] = ()
    auth_failure: str | None = None
    outer_message_id: str | None = None
    outer_subject: str | None = None
    outer_from: str | None = None
    outer_to: tuple[str, ...] = ()
    """The report's own To addresses, lowercased; for an unsubscribe request the
    list or VERP address that names the campaign."""
    original: OriginalMessage | None = None
    problems: tuple[str, ...] = field(default_factory=tuple)
    """Human-readable notes on anything odd or missing, for reviewers."""

    @property
    def counts_as_complaint(self) -> bool:
        """Only complaints count toward suspensions."""
        return self.kind is ReportKind.COMPLAINT
