"""The deduplication key of a report: the same report, however often it arrives, has one key.

A provider's report Message-ID (when it looks like one) identifies the report
itself; otherwise the report's content below its outer header block does, since
that is what stays the same when one report reaches us twice, by SMTP and by
IMAP, with different transport headers on top.
"""

from __future__ import annotations

import hashlib
import re

from abusedesk.parse.report import Report

_BLANK_LINE = re.compile(rb"\n[ \t]*\n")


def dedupe_key(report: Report, raw: bytes) -> str:
    if report.outer_message_id and "@" in report.outer_message_id:
        identity = f"{report.reporter or ''}\n{report.outer_message_id.lower()}"
        return "mid:" + hashlib.sha256(identity.encode("utf-8", "replace")).hexdigest()[:60]
    return "body:" + hashlib.sha256(report_content(raw)).hexdigest()[:59]


def report_content(raw: bytes) -> bytes:
    """The bytes below the outer header block, with line endings and trailing space normalised."""
    text = raw.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    match = _BLANK_LINE.search(text)
    body = text[match.end() :] if match else text
    return b"\n".join(line.rstrip() for line in body.strip().split(b"\n"))
