"""Parse stage: raw report bytes in, a typed `Report` out.

`parse_report` never raises and always returns a `Report` whose `kind` says
what the message means for the abuse policy; everything odd about it is in
`Report.problems`.
"""

from abusedesk.parse.reader import parse_report
from abusedesk.parse.report import OriginalMessage, ReceivedHop, Report, ReportFormat, ReportKind

__all__ = [
    "OriginalMessage",
    "ReceivedHop",
    "Report",
    "ReportFormat",
    "ReportKind",
    "parse_report",
]
