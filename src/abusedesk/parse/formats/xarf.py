"""Read X-ARF reports (`X-ARF: yes`, X-ARF 0.2's `X-XARF: PLAIN`).

The machine-readable part is a flat YAML document (usually `report.txt`,
sometimes base64, sometimes only inline in the text when a person forwarded
the report). Its Report-Type becomes the feedback type; only spam report
types are complaints about mail, the rest (login attacks, malware, scams)
are other reports.
"""

from __future__ import annotations

from abusedesk.parse.body import part_text
from abusedesk.parse.dates import parse_date
from abusedesk.parse.envelope import OuterFacts, header, reporter_of
from abusedesk.parse.formats.feedback import ORIGINAL_TYPES
from abusedesk.parse.ips import read_ip
from abusedesk.parse.mime import ReportParts
from abusedesk.parse.original import OriginalContext, build_original, load_original
from abusedesk.parse.report import Report, ReportFormat, ReportKind

_MAX_LINES = 200
_IP_SOURCE_TYPES = frozenset({"ip-address", "ipv4", "ipv6", "ip"})


def read_xarf(tree: ReportParts, outer: OuterFacts) -> Report | None:
    message = tree.message
    marker = header(message, "X-ARF") or header(message, "X-XARF")
    if marker is None:
        return None
    fields = _find_yaml(tree)
    problems: list[str] = []
    if not fields:
        problems.append("X-ARF report without a readable report.txt")
    report_type = (fields.get("report-type") or "").strip().lower() or None
    source, source_type = fields.get("source"), (fields.get("source-type") or "").lower()
    source_ip = None
    uris = []
    if source and source_type in _IP_SOURCE_TYPES:
        source_ip = read_ip(source)
        if source_ip is None:
            problems.append(f"X-ARF Source {source[:80]!r} is not an IP address")
    elif source and source_type == "uri":
        uris.append(source)
    arrival, note = parse_date(fields.get("date"))
    if note:
        problems.append(f"X-ARF Date: {note}")
    original = None
    evidence = tree.find(ORIGINAL_TYPES)
    if evidence is not None:
        original, original_problems = build_original(load_original(evidence), OriginalContext())
        problems.extend(original_problems)
    is_spam = report_type is not None and "spam" in report_type
    return Report(
        kind=ReportKind.COMPLAINT if is_spam else ReportKind.OTHER_REPORT,
        format=ReportFormat.XARF,
        feedback_type=report_type,
        reporter=reporter_of(outer, fields.get("reported-from")),
        user_agent=fields.get("user-agent"),
        version=fields.get("version"),
        source_ip=source_ip,
        arrival_date=arrival,
        reported_domains=tuple(d.lower() for d in [fields.get("domain")] if d),
        reported_uris=tuple(uris),
        original=original,
        problems=tuple(problems),
    )


def _find_yaml(tree: ReportParts) -> dict[str, str]:
    """The report.txt fields; else the YAML block inline in a text part."""
    inline: dict[str, str] = {}
    for content_type, part in tree.parts:
        if content_type != "text/plain":
            continue
        text = part_text(part)
        name = str(part.get_param("name") or part.get_filename() or "").lower()
        if name == "report.txt" or text.lstrip().startswith("---\n"):
            fields = _read_flat_yaml(text.lstrip().removeprefix("---\n"))
            if "report-type" in fields:
                return fields
        if not inline and "\n---\n" in text:
            inline = _read_flat_yaml(text.rpartition("\n---\n")[2])
    return inline if "report-type" in inline else {}


def _read_flat_yaml(text: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    for line in text.split("\n")[:_MAX_LINES]:
        name, colon, value = line.partition(":")
        name = name.strip().lower()
        if colon and name and " " not in name:
            fields.setdefault(name, value.strip().strip("'\""))
    return fields
