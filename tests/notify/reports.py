"""ARF reports about one of our mailboxes with a chosen original subject and body, as bytes."""

from __future__ import annotations

from datetime import timedelta
from email.utils import format_datetime

from tests.notify.conftest import BASE_TIME


def report(
    number: int,
    sender: str,
    subject: bytes,
    body: bytes = b"Buy now!\n",
    body_headers: bytes = b"Content-Type: text/plain; charset=utf-8\n",
    *,
    recipient: str | None = None,
    to_header: bytes | None = None,
    from_header: bytes | None = None,
    original_headers: bytes = b"",
    feedback_fields: bytes = b"",
) -> bytes:
    """A Yahoo-style report of message `number` from `sender`, relayed by our relay1.

    `subject` and `body` are put in as raw bytes, so a test can send encoded-words,
    8-bit junk and anything else a hostile original may carry. The complainant is
    `recipient` (default `userN@yahoo.example`); `to_header`, `from_header` and
    `original_headers` (whole lines) change or add headers of the original, and
    `feedback_fields` (whole lines) fields of the feedback report.
    """
    date = format_datetime(BASE_TIME + timedelta(minutes=number)).encode()
    n = str(number).encode()
    rcpt = (recipient or f"user{number}@yahoo.example").encode()
    parts = [
        b"From: feedback@arf.mail.yahoo.example\n",
        b"To: fbl@abusedesk.example\n",
        b"Subject: FW: complaint " + n + b"\n",
        b"Message-ID: <report-" + n + b"@arf.mail.yahoo.example>\n",
        b"Date: " + date + b"\n",
        b"MIME-Version: 1.0\n",
        b'Content-Type: multipart/report; report-type=feedback-report; boundary="b' + n + b'"\n',
        b"\n--b" + n + b"\nContent-Type: text/plain\n\nThis is an abuse report.\n",
        b"\n--b" + n + b"\nContent-Type: message/feedback-report\n\n",
        b"Feedback-Type: abuse\nUser-Agent: Yahoo!-Mail-Feedback/2.0\nVersion: 1\n",
        b"Original-Mail-From: <" + sender.encode() + b">\n",
        b"Original-Rcpt-To: <" + rcpt + b">\n",
        b"Arrival-Date: " + date + b"\nSource-IP: 198.51.100.5\n",
        feedback_fields,
        b"\n--b" + n + b"\nContent-Type: message/rfc822\n\n",
        b"Received: from relay1.out.hostingplatform.example\n",
        b"\t(relay1.out.hostingplatform.example [198.51.100.5])\n",
        b"\tby mta7.mail.yahoo.example with ESMTPS id y" + n + b"; " + date + b"\n",
        b"Received: from [192.168.1.20] (dsl-203-0-113-7.example.net [203.0.113.7])\n",
        b"\t(Authenticated sender: " + sender.encode() + b")\n",
        b"\tby relay1.out.hostingplatform.example (Postfix) with ESMTPSA id Q" + n.zfill(8) + b"\n",
        b"\tfor <" + rcpt + b">; " + date + b"\n",
        b"From: " + (from_header or b"Shop <" + sender.encode() + b">") + b"\n",
        b"To: " + (to_header or rcpt) + b"\n",
        original_headers,
        b"Subject: " + subject + b"\n",
        b"Message-ID: <offer-" + n + b"@shop.example>\n",
        b"Date: " + date + b"\n",
        b"MIME-Version: 1.0\n",
        body_headers,
        b"\n",
        body,
        b"\n--b" + n + b"--\n",
    ]
    return b"".join(parts)
