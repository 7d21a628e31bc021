"""Recognise bounces (delivery status notifications): they are not reports.

A DSN may talk of "user complaints" in its diagnostic; it still counts for
nothing. Its returned message is kept as the original, for reviewers.
"""

from __future__ import annotations

from abusedesk.parse.arf import read_feedback_fields
from abusedesk.parse.envelope import OuterFacts, reporter_of
from abusedesk.parse.formats.feedback import ORIGINAL_TYPES
from abusedesk.parse.mime import ReportParts
from abusedesk.parse.original import OriginalContext, build_original, load_original
from abusedesk.parse.report import Report, ReportFormat, ReportKind

_STATUS_TYPES = frozenset({"message/delivery-status", "message/global-delivery-status"})
_BOUNCE_SENDERS = ("mailer-daemon@", "postmaster@")
_BOUNCE_SUBJECTS = (
    "undelivered mail",
    "undeliverable",
    "delivery status notification",
    "mail delivery failed",
    "returned mail",
    "failure notice",
    "delivery failure",
)


def read_dsn(tree: ReportParts, outer: OuterFacts) -> Report | None:
    message = tree.message
    report_type = message.get_param("report-type", header="Content-Type")
    status_part = tree.find(_STATUS_TYPES)
    declared = isinstance(report_type, str) and report_type.lower() == "delivery-status"
    sender = outer.from_address or ""
    subject = (outer.subject or "").lower()
    looks_like = sender.startswith(_BOUNCE_SENDERS) and subject.startswith(_BOUNCE_SUBJECTS)
    if not (declared or status_part is not None or looks_like):
        return None
    reporting_mta = None
    if status_part is not None:
        mta = read_feedback_fields(status_part).first("Reporting-MTA")
        reporting_mta = (mta.partition(";")[2].strip() or mta.strip()) if mta else None
    returned = tree.find(ORIGINAL_TYPES)
    original = None
    problems = ["a delivery status notification (bounce), not a feedback report"]
    if returned is not None:
        original, original_problems = build_original(load_original(returned), OriginalContext())
        problems.extend(original_problems)
    return Report(
        kind=ReportKind.NOT_A_REPORT,
        format=ReportFormat.DSN,
        reporter=reporter_of(outer, reporting_mta),
        reporting_mta=reporting_mta,
        original=original,
        problems=tuple(problems),
    )
