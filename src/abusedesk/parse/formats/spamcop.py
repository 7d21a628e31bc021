"""Read SpamCop reports.

SpamCop mails a report per spam to the network's abuse address: subject
`[SpamCop (http://…) id:NNNN]original subject`, a text body whose line
`Email from IP / date` names the source, and the spam either pasted after a
`[ Offending message ]` separator or attached as message/rfc822. SpamCop
munges the recipient's address, so there are no recipients.
"""

from __future__ import annotations

import re
from email.parser import Parser

from abusedesk.parse.body import first_text
from abusedesk.parse.dates import parse_date
from abusedesk.parse.envelope import OuterFacts, reporter_of
from abusedesk.parse.ips import read_ip
from abusedesk.parse.mime import FULL_ORIGINAL_TYPES, ReportParts
from abusedesk.parse.original import (
    LoadedOriginal,
    OriginalContext,
    build_original,
    load_original,
)
from abusedesk.parse.report import Report, ReportFormat, ReportKind

_SEPARATOR = "[ Offending message ]"
_EMAIL_FROM = re.compile(r"^Email from ([0-9A-Fa-f:.]{3,45}) / ([^\n]{1,80})$", re.MULTILINE)
_PARSER = Parser()


def read_spamcop(tree: ReportParts, outer: OuterFacts) -> Report | None:
    subject = (outer.subject or "").lstrip()
    from_spamcop = (outer.from_domain or "").endswith("spamcop.net")
    if not subject.startswith("[SpamCop") and not from_spamcop:
        return None
    text = first_text(tree)
    attached = tree.find(FULL_ORIGINAL_TYPES)
    if _SEPARATOR not in text and attached is None:
        return None
    problems: list[str] = []
    source_ip, arrival = None, None
    match = _EMAIL_FROM.search(text)
    if match:
        source_ip = read_ip(match.group(1))
        arrival, note = parse_date(match.group(2))
        if note:
            problems.append(f"SpamCop date: {note}")
    else:
        problems.append("SpamCop report without an 'Email from IP / date' line")
    if attached is not None:
        loaded = load_original(attached)
    else:
        pasted = text.partition(_SEPARATOR)[2].lstrip("\n")
        loaded = LoadedOriginal(_PARSER.parsestr(pasted), headers_only=False)
    original, original_problems = build_original(loaded, OriginalContext())
    return Report(
        kind=ReportKind.COMPLAINT,
        format=ReportFormat.SPAMCOP,
        feedback_type="abuse",
        reporter=reporter_of(outer),
        user_agent="SpamCop",
        source_ip=source_ip,
        arrival_date=arrival,
        original=original,
        problems=(*problems, *original_problems),
    )
