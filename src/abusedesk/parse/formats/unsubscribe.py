"""Read one-click unsubscribe requests (Apple Mail / iCloud, mailto: unsubscribes).

They are opt-outs, not complaints. There is no copy of the original: the
person opting out is the From, and the campaign is named by the To, often a
VERP address, kept in `Report.outer_to`.
"""

from __future__ import annotations

from abusedesk.parse.envelope import OuterFacts, header, reporter_of
from abusedesk.parse.mime import ReportParts
from abusedesk.parse.report import OriginalMessage, Report, ReportFormat, ReportKind


def read_unsubscribe(tree: ReportParts, outer: OuterFacts) -> Report | None:
    message = tree.message
    apple = (header(message, "X-Apple-Unsubscribe") or "").strip().lower() == "true"
    plain = (outer.subject or "").strip().lower() == "unsubscribe"
    if not (apple or plain) or message.get_content_type() == "multipart/report":
        return None
    opted_out = (outer.from_address,) if outer.from_address else ()
    problems = ["an unsubscribe request carries no copy of the original message"]
    if outer.to:
        problems.append(f"the campaign is named by the To address <{outer.to[0]}>")
    return Report(
        kind=ReportKind.OPT_OUT,
        format=ReportFormat.UNSUBSCRIBE,
        feedback_type="opt-out",
        reporter=reporter_of(outer),
        user_agent="Apple Mail" if apple else None,
        removal_recipients=opted_out,
        original=OriginalMessage(recipients=opted_out),
        problems=tuple(problems),
    )
