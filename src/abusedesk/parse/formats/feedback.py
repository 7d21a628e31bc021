"""Read an RFC 5965 feedback report (ARF, and RFC 6591 auth-failure reports).

Three parts by the RFC: human-readable text, the `message/feedback-report`
fields, the original. In practice the top level may be multipart/mixed
(report-type lost in re-wrapping), the fields base64-encoded and the original
missing, headers-only, or misspelt.
"""

from __future__ import annotations

from abusedesk.parse.addresses import domain_of
from abusedesk.parse.arf import read_arf_facts, read_feedback_fields
from abusedesk.parse.body import part_text
from abusedesk.parse.classify import kind_for_feedback_type, mentions_spam
from abusedesk.parse.envelope import OuterFacts, reporter_of
from abusedesk.parse.mime import (
    FEEDBACK_REPORT,
    FULL_ORIGINAL_TYPES,
    HEADERS_ORIGINAL_TYPES,
    ReportParts,
)
from abusedesk.parse.original import OriginalContext, build_original, load_original
from abusedesk.parse.report import Report, ReportFormat, ReportKind

ORIGINAL_TYPES = FULL_ORIGINAL_TYPES | HEADERS_ORIGINAL_TYPES


def read_feedback_report(tree: ReportParts, outer: OuterFacts) -> Report | None:
    """The report, when it has a feedback-report part; else None."""
    part = tree.find(FEEDBACK_REPORT)
    if part is None:
        return None
    facts = read_arf_facts(read_feedback_fields(part))
    problems = list(facts.problems)
    original_part = tree.find(ORIGINAL_TYPES)
    loaded = load_original(original_part) if original_part is not None else None
    if loaded is None:
        problems.append("the report carries no copy of the original message")
    recipients = facts.original_rcpt_to or facts.removal_recipients
    receiving = {d for d in (outer.from_domain, facts.reporting_mta) if d}
    receiving.update(d for d in map(domain_of, recipients) if d)
    context = OriginalContext(
        mail_from_field=facts.original_mail_from,
        recipients=list(recipients),
        message_ids=facts.message_ids,
        receiving_domains=receiving,
    )
    original, original_problems = build_original(loaded, context)
    problems.extend(original_problems)
    spam_evidence = facts.feedback_type == "other" and (
        (facts.fields.first("Abuse-Type") or "").lower().startswith("complaint")
        or mentions_spam(outer.subject, _human_readable_text(tree))
    )
    kind = kind_for_feedback_type(facts.feedback_type, spam_evidence=spam_evidence)
    if facts.feedback_type == "other":
        problems.append(
            "Feedback-Type 'other' "
            + ("with spam evidence: a complaint" if spam_evidence else "without spam evidence")
        )
    elif kind is ReportKind.OTHER_REPORT and facts.feedback_type:
        problems.append(f"unknown Feedback-Type {facts.feedback_type!r}")
    return Report(
        kind=kind,
        format=ReportFormat.ARF,
        feedback_type=facts.feedback_type,
        reporter=reporter_of(outer, facts.reporting_mta, facts.user_agent),
        user_agent=facts.user_agent,
        version=facts.version,
        source_ip=facts.source_ip,
        arrival_date=facts.arrival_date,
        reporting_mta=facts.reporting_mta,
        incidents=facts.incidents,
        reported_domains=tuple(facts.reported_domains),
        reported_uris=tuple(facts.reported_uris),
        authentication_results=tuple(facts.authentication_results),
        removal_recipients=tuple(facts.removal_recipients),
        auth_failure=facts.auth_failure,
        original=original,
        problems=tuple(problems),
    )


def _human_readable_text(tree: ReportParts) -> str:
    for content_type, part in tree.parts:
        if part is not tree.message and content_type == "text/plain":
            return part_text(part)
    return ""
