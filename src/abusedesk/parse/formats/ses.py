"""Read Amazon SES notifications delivered by e-mail through SNS.

The body is JSON (`notificationType`: Complaint, Bounce or Delivery),
sometimes wrapped in an SNS envelope whose `Message` is the JSON as a string.
MTAs split its one very long line: sendmail-style splitting leaves `!`, a
newline and a space inside a string value (`complaint@sim!` / ` ulator…`),
which is undone before decoding.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from abusedesk.parse.addresses import extract_address, extract_addresses
from abusedesk.parse.body import first_text
from abusedesk.parse.envelope import OuterFacts, reporter_of
from abusedesk.parse.ips import read_ip
from abusedesk.parse.mime import ReportParts
from abusedesk.parse.received import parse_received_chain
from abusedesk.parse.report import OriginalMessage, Report, ReportFormat, ReportKind
from abusedesk.parse.text import decode_header_text, raw_header_value

_NOT_SPAM = "not-spam"


def read_ses_notification(tree: ReportParts, outer: OuterFacts) -> Report | None:
    text = first_text(tree)
    if '"notificationType"' not in text and '\\"notificationType\\"' not in text:
        return None
    notification = _decode(text)
    if notification is None:
        return Report(
            kind=ReportKind.OTHER_REPORT,
            format=ReportFormat.SES,
            reporter=reporter_of(outer),
            problems=("SES notification whose JSON cannot be decoded",),
        )
    kind_name = str(notification.get("notificationType", ""))
    complaint = _mapping(notification.get("complaint"))
    mail = _mapping(notification.get("mail"))
    feedback_type = str(complaint.get("complaintFeedbackType") or "").lower() or None
    problems: list[str] = []
    if kind_name != "Complaint":
        kind = ReportKind.NOT_A_REPORT
        problems.append(f"SES {kind_name or 'unknown'} notification, not a complaint")
    elif feedback_type == _NOT_SPAM:
        kind = ReportKind.NOT_SPAM
    else:
        kind = ReportKind.COMPLAINT
        if feedback_type is None:
            problems.append("SES complaint without complaintFeedbackType")
    recipients = [
        address
        for entry in complaint.get("complainedRecipients") or []
        for address in extract_addresses(str(_mapping(entry).get("emailAddress", "")))
    ]
    return Report(
        kind=kind,
        format=ReportFormat.SES,
        feedback_type=feedback_type,
        reporter=reporter_of(outer),
        user_agent=_string(complaint.get("userAgent")),
        source_ip=read_ip(_string(mail.get("sourceIp"))),
        arrival_date=_timestamp(complaint.get("timestamp") or complaint.get("arrivalDate")),
        original=_original(mail, recipients),
        problems=tuple(problems),
    )


def _decode(text: str) -> dict[str, Any] | None:
    joined = text.replace("!\n ", "")
    start = joined.find("{")
    if start < 0:
        return None
    try:
        value, _ = json.JSONDecoder().raw_decode(joined, start)
        if isinstance(value, dict) and isinstance(value.get("Message"), str):
            value = json.loads(value["Message"])  # the SNS envelope
    except (ValueError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


def _original(mail: dict[str, Any], recipients: list[str]) -> OriginalMessage:
    listed = mail.get("headers")
    entries = [_mapping(entry) for entry in listed[:1000]] if isinstance(listed, list) else []
    headers = tuple(
        (raw_header_value(entry.get("name", "")), raw_header_value(entry.get("value", "")))
        for entry in entries
    )
    common = _mapping(mail.get("commonHeaders"))
    senders = common.get("from") if isinstance(common.get("from"), list) else []
    message_id = _string(common.get("messageId")) or _string(mail.get("messageId"))
    draft = OriginalMessage(headers=headers)
    return OriginalMessage(
        headers=headers,
        message_id=message_id.strip().strip("<>") if message_id else None,
        from_address=extract_address(str(senders[0])) if senders else None,
        mail_from=extract_address(_string(mail.get("source"))),
        subject=decode_header_text(_string(common.get("subject"))),
        recipients=tuple(dict.fromkeys(recipients)),
        received=parse_received_chain(draft.header_values("Received")),
        headers_only=True,
    )


def _mapping(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _string(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _timestamp(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)
