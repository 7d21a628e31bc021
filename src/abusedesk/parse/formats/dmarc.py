"""Read DMARC failure ("forensic") reports that are not ARF.

Exim and others send a multipart/report without a feedback-report part: a
text part with `Sender IP Address:` and `Received date:` lines, then the
failing message's headers pasted after a line such as `------ This is a copy
of the headers…`. They are kept as other reports, never complaints.
"""

from __future__ import annotations

import re
from email.parser import HeaderParser

from abusedesk.parse.body import first_text
from abusedesk.parse.dates import parse_date
from abusedesk.parse.envelope import OuterFacts, reporter_of
from abusedesk.parse.formats.feedback import ORIGINAL_TYPES
from abusedesk.parse.ips import read_ip
from abusedesk.parse.mime import ReportParts
from abusedesk.parse.original import (
    LoadedOriginal,
    OriginalContext,
    build_original,
    load_original,
)
from abusedesk.parse.report import Report, ReportFormat, ReportKind

_SENDER_IP = re.compile(r"^\s*Sender IP Address:\s*(\S{1,60})", re.MULTILINE | re.IGNORECASE)
_RECEIVED_DATE = re.compile(r"^\s*Received date:\s*([^\n]{1,80})$", re.MULTILINE | re.IGNORECASE)
_HEADER_COPY = re.compile(r"^-{2,}[^\n]{0,40}cop(?:y|ies) of the headers[^\n]*$", re.MULTILINE)
_HEADER_PARSER = HeaderParser()


def read_dmarc_forensic(tree: ReportParts, outer: OuterFacts) -> Report | None:
    subject = (outer.subject or "").lower()
    text = first_text(tree)
    if "dmarc" not in subject and "DMARC policy" not in text:
        return None
    if "dmarc" in subject and not any(w in subject for w in ("forensic", "failure", "fail")):
        return None
    problems = ["DMARC failure report without a feedback-report part"]
    ip_match = _SENDER_IP.search(text)
    date_match = _RECEIVED_DATE.search(text)
    arrival, note = parse_date(date_match.group(1)) if date_match else (None, None)
    if note:
        problems.append(f"Received date: {note}")
    loaded = None
    part = tree.find(ORIGINAL_TYPES)
    copy = _HEADER_COPY.search(text)
    if part is not None:
        loaded = load_original(part)
    elif copy is not None:
        pasted = text[copy.end() :].lstrip("\n")
        loaded = LoadedOriginal(_HEADER_PARSER.parsestr(pasted, headersonly=True), True)
        problems.append("original headers pasted into the text part")
    original, original_problems = build_original(loaded, OriginalContext())
    return Report(
        kind=ReportKind.OTHER_REPORT,
        format=ReportFormat.DMARC,
        reporter=reporter_of(outer),
        source_ip=read_ip(ip_match.group(1)) if ip_match else None,
        arrival_date=arrival,
        original=original if loaded is not None else None,
        problems=(*problems, *original_problems),
    )
