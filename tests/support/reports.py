"""Generate many distinct, realistic ARF reports for load and crash tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

BASE_TIME = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


def numbered_report(
    number: int, sender: str = "alice@shop.example", at: datetime | None = None
) -> bytes:
    """A Yahoo-style abuse report about message `number`, sent by `sender` through relay1
    (at `at`, else `number` seconds after `BASE_TIME`)."""
    when = at or BASE_TIME + timedelta(seconds=number)
    date = format_datetime(when)
    return f"""\
From: feedback@arf.mail.yahoo.example
To: fbl@abusedesk.example
Subject: FW: Weekly offer {number}
Message-ID: <report-{number}@arf.mail.yahoo.example>
Date: {date}
MIME-Version: 1.0
Content-Type: multipart/report; report-type=feedback-report; boundary="b{number}"

--b{number}
Content-Type: text/plain

This is an email abuse report for an email message received from IP 198.51.100.5.

--b{number}
Content-Type: message/feedback-report

Feedback-Type: abuse
User-Agent: Yahoo!-Mail-Feedback/2.0
Version: 1
Original-Mail-From: <{sender}>
Original-Rcpt-To: <user{number}@yahoo.example>
Arrival-Date: {date}
Source-IP: 198.51.100.5

--b{number}
Content-Type: message/rfc822

Received: from relay1.out.hostingplatform.example
	(relay1.out.hostingplatform.example [198.51.100.5])
\tby mta7.mail.yahoo.example with ESMTPS id y{number}; {date}
Received: from [192.168.1.20] (dsl-203-0-113-7.example.net [203.0.113.7])
\t(Authenticated sender: {sender})
\tby relay1.out.hostingplatform.example (Postfix) with ESMTPSA id Q{number:08X}
\tfor <user{number}@yahoo.example>; {date}
From: Shop <{sender}>
To: user{number}@yahoo.example
Subject: Weekly offer {number}
Message-ID: <offer-{number}@shop.example>
Date: {date}

Buy now!

--b{number}--
""".encode()


ATTACKER_IP = "203.0.113.66"


def outsider_forgery(
    number: int, victim: str = "alice@shop.example", at: datetime | None = None
) -> bytes:
    """The outsider's attack: a genuine provider report about a message he sent himself.

    His server at `ATTACKER_IP` handed the message to the provider (the report's
    Source-IP and the provider's own topmost hop say so); below that receipt he
    pre-wrote a hop in which his server "received" it from our relay1, and below
    that a relay1 hop naming `victim` as the authenticated sender. Nothing here
    proves that our relay ever saw the message: `victim` is a candidate at most.
    """
    when = at or BASE_TIME + timedelta(seconds=number)
    date = format_datetime(when)
    return f"""\
From: feedback@arf.mail.yahoo.example
To: fbl@abusedesk.example
Subject: FW: Prize draw {number}
Message-ID: <forged-report-{number}@arf.mail.yahoo.example>
Date: {date}
MIME-Version: 1.0
Content-Type: multipart/report; report-type=feedback-report; boundary="f{number}"

--f{number}
Content-Type: text/plain

This is an email abuse report for an email message received from IP {ATTACKER_IP}.

--f{number}
Content-Type: message/feedback-report

Feedback-Type: abuse
User-Agent: Yahoo!-Mail-Feedback/2.0
Version: 1
Original-Mail-From: <{victim}>
Original-Rcpt-To: <mark{number}@yahoo.example>
Arrival-Date: {date}
Source-IP: {ATTACKER_IP}

--f{number}
Content-Type: message/rfc822

Received: from attacker.example (attacker.example [{ATTACKER_IP}])
\tby mta1.mail.yahoo.example with ESMTPS id z{number}; {date}
Received: from relay1.out.hostingplatform.example
\t(relay1.out.hostingplatform.example [198.51.100.5])
\tby attacker.example with ESMTP id a{number}; {date}
Received: from [192.168.1.20] (x [203.0.113.7])
\t(Authenticated sender: {victim})
\tby relay1.out.hostingplatform.example (Postfix) with ESMTPSA id F{number:08X}
\tfor <mark{number}@yahoo.example>; {date}
From: Prize desk <{victim}>
To: mark{number}@yahoo.example
Subject: You have won {number}
Message-ID: <prize-{number}@shop.example>
Date: {date}

Claim your prize!

--f{number}--
""".encode()
