"""Read Microsoft's JMRP (Junk Mail Reporting Program) complaints.

JMRP is not RFC 5965: a multipart/mixed whose only part is the reported
message, from staff@hotmail.com, subject `complaint about message from IP`.
The complainant is in the original's X-HmXmrOriginalRecipient, which can
differ from its To; it is preferred. A JMRP report that a forwarder flattened
into one header block is rebuilt before it gets here (`parse/flattened.py`).
"""

from __future__ import annotations

from abusedesk.parse.envelope import OuterFacts, reporter_of
from abusedesk.parse.ips import read_ip
from abusedesk.parse.mime import FULL_ORIGINAL_TYPES, ReportParts
from abusedesk.parse.original import (
    OriginalContext,
    addresses_of,
    build_original,
    load_original,
)
from abusedesk.parse.report import Report, ReportFormat, ReportKind

_SUBJECT_PREFIX = "complaint about message from"
RECIPIENT_HEADER = "X-HmXmrOriginalRecipient"


def read_jmrp(tree: ReportParts, outer: OuterFacts) -> Report | None:
    part = tree.find(FULL_ORIGINAL_TYPES)
    if part is None:
        return None
    subject = (outer.subject or "").strip().lower()
    loaded = load_original(part)
    marked = loaded.message.get(RECIPIENT_HEADER) is not None
    if not marked and not subject.startswith(_SUBJECT_PREFIX):
        return None
    problems: list[str] = []
    recipients = addresses_of(str(v) for v in loaded.message.get_all(RECIPIENT_HEADER, []))
    if not recipients:
        problems.append(f"JMRP complaint without {RECIPIENT_HEADER}")
    source_ip = None
    if subject.startswith(_SUBJECT_PREFIX):
        source_ip = read_ip(subject[len(_SUBJECT_PREFIX) :])
    original, original_problems = build_original(
        loaded, OriginalContext(recipients=recipients, receiving_domains={"hotmail.com"})
    )
    return Report(
        kind=ReportKind.COMPLAINT,
        format=ReportFormat.JMRP,
        feedback_type="abuse",
        reporter=reporter_of(outer),
        source_ip=source_ip,
        original=original,
        problems=(*problems, *original_problems),
    )
