"""How a parsed and attributed report is shown: the `abusedesk parse --json` contract."""

from __future__ import annotations

from typing import Any

from abusedesk.attribute.attribution import AttributionOutcome
from abusedesk.parse.report import Report


def report_summary(origin: str, report: Report, outcome: AttributionOutcome) -> dict[str, Any]:
    """One JSON-ready object per report, with the keys other tools rely on."""
    original = report.original
    attribution = outcome.attribution
    candidate = outcome.candidate if attribution is None else None
    problems = list(report.problems)
    if attribution is None and outcome.reason:
        problems.append(f"not attributed: {outcome.reason}")
    return {
        "file": origin,
        "kind": report.kind.value,
        "format": report.format.value,
        "feedback_type": report.feedback_type,
        "reporter": report.reporter,
        "source_ip": report.source_ip,
        "arrival_date": report.arrival_date.isoformat() if report.arrival_date else None,
        "original": {
            "message_id": original.message_id if original else None,
            "from": original.from_address if original else None,
            "mail_from": original.mail_from if original else None,
            "subject": original.subject if original else None,
            "recipients": list(original.recipients) if original else [],
        },
        "mailbox": attribution.mailbox if attribution else None,
        "attribution": {
            "method": attribution.method.value,
            "evidence": attribution.evidence,
            "confidence": attribution.confidence.value,
        }
        if attribution
        else None,
        # Beside `mailbox: null`, never instead of it: a candidate is not a charge.
        "candidate": {"mailbox": candidate.mailbox, "evidence": candidate.evidence}
        if candidate
        else None,
        "problems": problems,
    }


def readable_summary(summary: dict[str, Any]) -> str:
    """The same facts for a person at a terminal."""
    original = summary["original"]
    lines = [
        f"{summary['file']}: {summary['kind']} ({summary['format']}"
        f"{', ' + summary['feedback_type'] if summary['feedback_type'] else ''})"
        f" from {summary['reporter'] or 'unknown reporter'}",
        f"  original: {original['message_id'] or '-'} from {original['from'] or '-'} "
        f"subject {original['subject']!r}",
    ]
    if summary["attribution"]:
        attribution = summary["attribution"]
        lines.append(
            f"  charged to {summary['mailbox']} by {attribution['method']} "
            f"({attribution['confidence']}): {attribution['evidence']}"
        )
    if summary["candidate"]:
        candidate = summary["candidate"]
        lines.append(
            f"  candidate for review (not charged): {candidate['mailbox']}: {candidate['evidence']}"
        )
    lines.extend(f"  ! {problem}" for problem in summary["problems"])
    return "\n".join(lines)
