"""`parse_report`: raw report bytes in, a typed `Report` out, whatever the bytes.

A Microsoft JMRP report whose MIME structure a forwarder flattened is first
rebuilt (`flattened.py`). The formats are then tried from the most specific
evidence to the least: an RFC 5965 feedback-report part, an X-ARF header, an
SES notification, a SpamCop report, Microsoft JMRP, an Apple unsubscribe, a
bounce, a DMARC forensic report without ARF, a person forwarding spam. What
none of them claims is `not-a-report`. Nothing here raises: a failure inside
becomes a reviewable `other-report` with the reason in `problems`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from email.message import Message

from abusedesk.parse.envelope import OuterFacts, read_outer, reporter_of
from abusedesk.parse.flattened import restore_flattened_jmrp
from abusedesk.parse.formats.dmarc import read_dmarc_forensic
from abusedesk.parse.formats.dsn import read_dsn
from abusedesk.parse.formats.feedback import read_feedback_report
from abusedesk.parse.formats.forwarded import read_forwarded_spam
from abusedesk.parse.formats.jmrp import read_jmrp
from abusedesk.parse.formats.ses import read_ses_notification
from abusedesk.parse.formats.spamcop import read_spamcop
from abusedesk.parse.formats.unsubscribe import read_unsubscribe
from abusedesk.parse.formats.xarf import read_xarf
from abusedesk.parse.mime import ReportParts, defect_notes, parse_bytes
from abusedesk.parse.normalize import normalise
from abusedesk.parse.report import Report, ReportFormat, ReportKind

FormatReader = Callable[[ReportParts, OuterFacts], Report | None]

FORMAT_READERS: tuple[FormatReader, ...] = (
    read_feedback_report,
    read_xarf,
    read_ses_notification,
    read_spamcop,
    read_jmrp,
    read_unsubscribe,
    read_dsn,
    read_dmarc_forensic,
    read_forwarded_spam,
)


def parse_report(raw: bytes) -> Report:
    """Everything abusedesk can understand of one raw report. Never raises."""
    try:
        return _parse(raw)
    except Exception as error:
        # Hostile input must never take a worker down; the report is kept
        # for review with the reason, as the design's quarantine rule asks.
        return Report(
            kind=ReportKind.OTHER_REPORT,
            format=ReportFormat.UNKNOWN,
            problems=(f"the parser failed on this report: {type(error).__name__}: {error}"[:300],),
        )


def _parse(raw: bytes) -> Report:
    normalised = normalise(bytes(raw))
    # A JMRP report that a forwarder flattened is rebuilt first, so that its
    # outer facts are the report's alone and not mixed with the original's.
    message, restored = restore_flattened_jmrp(parse_bytes(normalised.data))
    outer = read_outer(message)
    report = None
    tree = ReportParts.of(message)
    for read in FORMAT_READERS:
        report = read(tree, outer)
        if report is not None:
            break
    if report is None:
        report = _unrecognised(message, outer)
    problems = [
        *normalised.problems,
        *([restored] if restored else []),
        *defect_notes(tree.messages(), "report"),
        *outer.problems,
        *report.problems,
    ]
    return dataclasses.replace(
        report,
        outer_message_id=outer.message_id,
        outer_subject=outer.subject,
        outer_from=outer.from_address,
        outer_to=tuple(outer.to),
        problems=tuple(dict.fromkeys(problems)),
    )


def _unrecognised(message: Message, outer: OuterFacts) -> Report:
    """No format claimed the message: a damaged ARF report, or ordinary mail."""
    if message.get_param("report-type", header="Content-Type") == "feedback-report":
        return Report(
            kind=ReportKind.OTHER_REPORT,
            format=ReportFormat.ARF,
            reporter=reporter_of(outer),
            problems=("declares a feedback report but has no message/feedback-report part",),
        )
    return Report(
        kind=ReportKind.NOT_A_REPORT,
        format=ReportFormat.UNKNOWN,
        reporter=reporter_of(outer),
        problems=("not a report in any known format",),
    )
