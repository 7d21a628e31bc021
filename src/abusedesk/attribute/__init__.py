"""Attribute stage: which of our mailboxes really sent a reported message."""

from abusedesk.attribute.attribution import (
    Attribution,
    AttributionMethod,
    AttributionOutcome,
    Candidate,
    Confidence,
    MailboxDirectory,
)
from abusedesk.attribute.attributor import attribute_report

__all__ = [
    "Attribution",
    "AttributionMethod",
    "AttributionOutcome",
    "Candidate",
    "Confidence",
    "MailboxDirectory",
    "attribute_report",
]
