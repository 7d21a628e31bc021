"""The deduplication key of a report: one report has one key, however often it arrives and
however its own header is edited on the way.

A provider's report Message-ID (when it looks like one) identifies the report
itself; otherwise the report's content below its outer header block does, since
that is what stays the same when one report reaches us twice, by SMTP and by
IMAP, with different transport headers on top.

Anyone who holds a copy of a report can add fields above its header, and a
provider's DKIM signature stays valid: a verifier picks the instances a
signature covers from the bottom up (RFC 6376 §5.4.2), while every reader of
the report takes the first. So a report whose own header repeats a field that
RFC 5322 §3.6 allows once (a second Message-ID, Date, From, Subject, …) was
edited after it was written: its Message-ID is not believed, and it is counted
by its content, which the provider's signature covers. `ReportIdentity` says
which header fields the key rests on, so that a signature gives trust only when
it covers them (`ingest/dkim_trust.py`).
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from dataclasses import dataclass, replace
from enum import StrEnum

from abusedesk.parse.flattened import FLATTENED_NOTE
from abusedesk.parse.normalize import (
    MAX_REPORT_BYTES,
    normalise_line_endings,
    strip_mbox_separator,
)
from abusedesk.parse.report import Report

_BLANK_LINE = re.compile(rb"\n[ \t]*\n")
"""Where the outer header block ends, as the parser sees it: a line of only spaces or
tabs ends it as an empty line does (parse/normalize.py)."""
_FIELD_NAME = re.compile(rb"([\x21-\x39\x3b-\x7e]+):")
"""A header field's name, as the stdlib parser recognises one."""

SINGLETON_FIELDS: dict[str, str] = {
    name.lower(): name
    for name in (
        "Message-ID",
        "Date",
        "From",
        "Sender",
        "Reply-To",
        "To",
        "Cc",
        "Bcc",
        "Subject",
        "In-Reply-To",
        "References",
    )
}
"""The fields RFC 5322 §3.6 allows at most once in a message's header, by lowercased name."""


class KeyKind(StrEnum):
    MESSAGE_ID = "message-id"
    """The reporter and the report's Message-ID."""
    CONTENT = "content"
    """A hash of everything below the report's own header."""


@dataclass(frozen=True, slots=True)
class ReportIdentity:
    """How one report is told apart from every other: its key and what the key rests on."""

    key: str
    kind: KeyKind
    outer_fields: tuple[str, ...]
    """The names of the report's own header fields, lowercased, in order, as the
    parser reads them."""
    repeated: tuple[str, ...] = ()
    """The singleton fields that header holds more than once, as RFC 5322 spells them."""

    @property
    def counted_by(self) -> tuple[str, ...]:
        """The outer header fields the key is read from (lowercased); none for a content
        key, which rests on the body alone."""
        # The reporter is the From's domain, so From is part of a Message-ID key.
        return ("message-id", "from") if self.kind is KeyKind.MESSAGE_ID else ()

    @property
    def problem(self) -> str | None:
        """Why the report is counted by its content although it has a Message-ID."""
        if not self.repeated:
            return None
        counts = Counter(self.outer_fields)
        fields = ", ".join(f"{counts[name.lower()]} {name}" for name in self.repeated)
        return (
            f"the report's own header has {fields} fields, which RFC 5322 allows once: "
            "it was edited after it was written, so it is counted by its content, "
            "not by its Message-ID"
        )

    def noted(self, report: Report) -> Report:
        """`report` with `problem`, if any, among its problems (for reviewers)."""
        if self.problem is None:
            return report
        return replace(report, problems=(*report.problems, self.problem))


def report_identity(report: Report, raw: bytes) -> ReportIdentity:
    fields = outer_fields(raw)
    if FLATTENED_NOTE in report.problems:
        # A JMRP report whose MIME structure a forwarder flattened: its own fields and
        # the original's ran together, so "below the header" is the original's body
        # alone, the same for every complaint about one message. The whole report is
        # what tells two such complaints apart.
        whole = normalise_line_endings(raw[:MAX_REPORT_BYTES])
        key = "body:" + hashlib.sha256(whole.strip()).hexdigest()[:59]
        return ReportIdentity(key, KeyKind.CONTENT, fields)
    counts = Counter(fields)
    repeated = tuple(name for key, name in SINGLETON_FIELDS.items() if counts[key] > 1)
    message_id = report.outer_message_id
    if not repeated and message_id and "@" in message_id:
        identity = f"{report.reporter or ''}\n{message_id.lower()}"
        key = "mid:" + hashlib.sha256(identity.encode("utf-8", "replace")).hexdigest()[:60]
        return ReportIdentity(key, KeyKind.MESSAGE_ID, fields)
    key = "body:" + hashlib.sha256(report_content(raw)).hexdigest()[:59]
    return ReportIdentity(key, KeyKind.CONTENT, fields, repeated)


def dedupe_key(report: Report, raw: bytes) -> str:
    """The key alone, for callers that need nothing else of the identity."""
    return report_identity(report, raw).key


def outer_fields(raw: bytes) -> tuple[str, ...]:
    """The lowercased names of the report's own header fields, in order, as the parser reads
    them: below an mbox separator, up to the first blank line or line that is no field."""
    # A leading newline lets a blank (or spaces-only) first line end the header too.
    text = b"\n" + strip_mbox_separator(normalise_line_endings(raw[:MAX_REPORT_BYTES]))
    end = _BLANK_LINE.search(text)
    names: list[str] = []
    for line in (text[1 : end.start()] if end else text[1:]).split(b"\n"):
        if line[:1] in (b" ", b"\t"):
            continue
        if line.startswith((b"From ", b":")):
            continue  # a stray mbox separator or a nameless field: the parser skips both
        field = _FIELD_NAME.match(line)
        if field is None:
            break  # the stdlib parser takes the rest for the body
        names.append(field.group(1).decode("ascii").lower())
    return tuple(names)


def report_content(raw: bytes) -> bytes:
    """The bytes below the outer header block, with line endings and trailing space normalised."""
    text = raw.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    match = _BLANK_LINE.search(text)
    body = text[match.end() :] if match else text
    return b"\n".join(line.rstrip() for line in body.strip().split(b"\n"))
