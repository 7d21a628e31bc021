"""Read a person's forwarded spam: "Fwd: …" with the spam attached as message/rfc822.

The forwarder is both the complainant and the reporter. Only an attached
message counts: a spam quoted inline has lost the headers that attribution
needs, and is left to a human.
"""

from __future__ import annotations

from abusedesk.parse.envelope import OuterFacts, reporter_of
from abusedesk.parse.mime import FULL_ORIGINAL_TYPES, ReportParts
from abusedesk.parse.original import OriginalContext, build_original, load_original
from abusedesk.parse.report import Report, ReportFormat, ReportKind

_FORWARD_PREFIXES = ("fwd:", "fw:", "wg:", "tr:", "enc:", "rv:", "doorst:", "vs:")


def read_forwarded_spam(tree: ReportParts, outer: OuterFacts) -> Report | None:
    message = tree.message
    subject = (outer.subject or "").strip().lower()
    automatic = str(message.get("Auto-Submitted", "no")).strip().lower() != "no"
    if not subject.startswith(_FORWARD_PREFIXES) or automatic:
        return None
    part = tree.find(FULL_ORIGINAL_TYPES)
    if part is None:
        return None
    complainant = [outer.from_address] if outer.from_address else []
    original, problems = build_original(
        load_original(part), OriginalContext(recipients=complainant)
    )
    return Report(
        kind=ReportKind.COMPLAINT,
        format=ReportFormat.FORWARDED,
        feedback_type="abuse",
        reporter=reporter_of(outer),
        original=original,
        problems=("spam forwarded by a person, not a feedback loop", *problems),
    )
