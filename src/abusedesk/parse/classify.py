"""Decide what a feedback type means for the abuse policy: a `ReportKind`.

Only complaints count toward suspensions, so an unknown or unreadable type is
never a complaint: it is recorded as another report for a human to look at.
"""

from __future__ import annotations

from abusedesk.parse.report import ReportKind

COMPLAINT_TYPES = frozenset({"abuse", "fraud", "virus"})
OPT_OUT_TYPES = frozenset({"opt-out", "opt-out-list", "unsubscribe"})
AUTH_FAILURE_TYPES = frozenset({"auth-failure"})

_SPAM_WORDS = ("spam", "unsolicited", "junk", "complaint")


def kind_for_feedback_type(feedback_type: str | None, *, spam_evidence: bool) -> ReportKind:
    """The kind of an ARF report (or the equivalent) with this feedback type.

    `other` is a complaint only with evidence that the user complained about
    spam; without it the report is kept for review.
    """
    if feedback_type in COMPLAINT_TYPES:
        return ReportKind.COMPLAINT
    if feedback_type == "not-spam":
        return ReportKind.NOT_SPAM
    if feedback_type in OPT_OUT_TYPES:
        return ReportKind.OPT_OUT
    if feedback_type in AUTH_FAILURE_TYPES:
        return ReportKind.AUTH_FAILURE
    if feedback_type == "other" and spam_evidence:
        return ReportKind.COMPLAINT
    return ReportKind.OTHER_REPORT


def mentions_spam(*texts: str | None) -> bool:
    """True when any text speaks of spam or a complaint (case-insensitive)."""
    for text in texts:
        if text:
            lowered = text[:8192].lower()
            if any(word in lowered for word in _SPAM_WORDS):
                return True
    return False
