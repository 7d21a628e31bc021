"""The intake benchmark's workload: reports abusedesk trusts, attributes and decides.

Copies of one platform's reports, as a provider's feedback loop sends them: ARF from a
trusted peer (the demo config trusts 127.0.0.0/8), each about a message one of *our*
mailboxes submitted through our relay (`relay1.out.hostingplatform.example`, SASL sender
named in its hop, the provider's hop and `Source-IP` showing our relay's address), so each
is attributed with `high` confidence, recorded as a complaint and decided by the default
policy. Every report is distinct (its own Message-ID, queue id and original Message-ID),
dated within the last minutes.

The directory is imported from a generated CSV: mailboxes in companies of 10 domains,
accounts two years old (no fraud rules). A sixth of the mailboxes draw 8 complaints
(suspended at the 6th, an AUP notice queued, a follow-up decision on the suspension, two
more complaints while suspended); the rest draw 2 (decided, nothing fired). Complaints are
interleaved over mailboxes, as arrival order is.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

HEAVY_COMPLAINTS, LIGHT_COMPLAINTS = 8, 2
"""Per mailbox: over the shipped limit (5 tolerated, the 6th suspends), and well under it."""
HEAVY_SHARE = 6
"""One mailbox in HEAVY_SHARE is a heavy one."""
RELAY_IP = "198.51.100.5"


@dataclass(frozen=True, slots=True)
class Workload:
    accounts_csv: Path
    reports: list[bytes]
    mailboxes: int
    heavy: int

    def describe(self) -> str:
        return (
            f"{len(self.reports)} ARF reports from a trusted peer, each attributed (high) to one "
            f"of "
            f"{self.mailboxes} imported mailboxes and decided by the default policy; "
            f"{self.heavy} mailboxes ({HEAVY_COMPLAINTS} complaints each) cross the limit "
            f"(suspension, AUP notice queued, follow-up decision), the others get "
            f"{LIGHT_COMPLAINTS}; interleaved, every report distinct"
        )


def mailbox_count(reports: int) -> int:
    """Mailboxes that `reports` complaints spread over as the module says (at least one)."""
    per_mailbox = (HEAVY_COMPLAINTS + (HEAVY_SHARE - 1) * LIGHT_COMPLAINTS) / HEAVY_SHARE
    return max(int(reports / per_mailbox), 1)


def address(number: int) -> str:
    return f"user{number}@d{number // 20}.bench.example"


def write_accounts(path: Path, mailboxes: int) -> None:
    rows = ["company,company_abuse_contact,domain,address,created_at"]
    for number in range(mailboxes):
        domain = number // 20
        company = domain // 10
        rows.append(
            f"Reseller {company},abuse@reseller{company}.example,d{domain}.bench.example,"
            f"{address(number)},2024-06-01T09:00:00Z"
        )
    path.write_text("\n".join(rows) + "\n")


def report(number: int, sender: str, now: datetime) -> bytes:
    """One report about the `number`-th message, sent by `sender` a few minutes ago."""
    sent = now - timedelta(minutes=30) + timedelta(milliseconds=number)
    received, reported = sent + timedelta(seconds=2), sent + timedelta(minutes=20)
    queue = f"4Xb{number:09X}"
    text = f"""\
Return-Path: <feedback@arf.mail.yahoo.example>
Received: from mrout1.arf.yahoo.example (mrout1.arf.yahoo.example [192.0.2.25])
\tby fbl.abusedesk.example (Postfix) with ESMTPS id 4Xm{number:08X}
\tfor <fbl@abusedesk.example>; {format_datetime(reported)}
From: Yahoo! Mail <feedback@arf.mail.yahoo.example>
To: fbl@abusedesk.example
Subject: FW: Big savings this week
Date: {format_datetime(reported)}
Message-ID: <arf.bench.{number}@arf.mail.yahoo.example>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=feedback-report;
\tboundary="----=_Part_{number}"

This is a multi-part message in MIME format.

------=_Part_{number}
Content-Type: text/plain; charset=us-ascii
Content-Transfer-Encoding: 7bit

This is an email abuse report for an email message received from IP
{RELAY_IP} on {format_datetime(received)}.

------=_Part_{number}
Content-Type: message/feedback-report

Feedback-Type: abuse
User-Agent: Yahoo!-Mail-Feedback/2.0
Version: 1
Original-Mail-From: <{sender}>
Original-Rcpt-To: <reader{number}@yahoo.example>
Arrival-Date: {format_datetime(received)}
Source-IP: {RELAY_IP}
Reported-Domain: {sender.split("@")[1]}

------=_Part_{number}
Content-Type: message/rfc822
Content-Disposition: inline

Return-Path: <{sender}>
Received: from relay1.out.hostingplatform.example (relay1.out.hostingplatform.example [{RELAY_IP}])
\tby mta1000.mail.yahoo.example with ESMTPS id 7f{number:08x}
\tfor <reader{number}@yahoo.example>; {format_datetime(received)}
Received: from [192.168.1.20] (dsl-203-0-113-7.example.net [203.0.113.7])
\t(Authenticated sender: {sender})
\tby relay1.out.hostingplatform.example (Postfix) with ESMTPSA id {queue}
\tfor <reader{number}@yahoo.example>; {format_datetime(sent)}
Date: {format_datetime(sent)}
From: <{sender}>
To: reader{number}@yahoo.example
Subject: Big savings this week
Message-ID: <bench.{number}@{sender.split("@")[1]}>
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 7bit

Hello,

our offers of the week are here.

------=_Part_{number}--
"""
    return text.replace("\n", "\r\n").encode()


def workload(folder: Path, reports: int, *, seed: int = 11, first: int = 0) -> Workload:
    """`reports` decided reports and the accounts CSV they charge, written into `folder`.

    `first` numbers the reports from there, so that several workloads (a warm-up, the
    measured run) never share a Message-ID.
    """
    mailboxes = mailbox_count(reports)
    senders: list[int] = []
    for number in range(mailboxes):
        heavy = number % HEAVY_SHARE == 0
        senders += [number] * (HEAVY_COMPLAINTS if heavy else LIGHT_COMPLAINTS)
    random.Random(seed).shuffle(senders)
    senders = (senders * (reports // max(len(senders), 1) + 1))[:reports]
    now = datetime.now(UTC)
    accounts = folder / "bench-accounts.csv"
    write_accounts(accounts, mailboxes)
    made = [report(first + i, address(s), now) for i, s in enumerate(senders)]
    heavy_count = len(range(0, mailboxes, HEAVY_SHARE))
    return Workload(accounts, made, mailboxes, heavy_count)
