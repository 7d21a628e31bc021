"""End to end: reports over SMTP -> suspension -> an AUP notice at the smarthost sink.

The real SMTP listener, worker and delivery loop run in `abusedesk serve`; the
sink is an aiosmtpd server playing the smarthost. Then the lifecycle through
the real CLI: deletion is refused while suspended, lifting restores sending,
and after the lift deletion succeeds.
"""

from __future__ import annotations

import json
import smtplib
import time
from email.message import EmailMessage

import httpx
from sqlalchemy import Engine, select
from sqlmodel import Session, col

from abusedesk.config import Settings
from abusedesk.service import Roles
from abusedesk.store.tables import Mailbox, Notice, RawReport
from tests.conftest import RunningService, crlf, run_cli
from tests.notify.conftest import FROM, notice_settings, wait_for, with_notices
from tests.notify.reports import report
from tests.support.smtp_sink import SmtpSink

SUBJECTS = [
    b"Spring sale",
    b"Spring sale",
    b"Spring sale",
    b"Newsletter",
    b"spring  SALE",
    b"Your invoice",
]
SERVICE = Roles(web=False, imap=False)


def send_reports(service: RunningService, reports: list[bytes]) -> None:
    with smtplib.SMTP(*service.smtp_address, timeout=10) as client:
        for raw in reports:
            client.sendmail("fbl@arf.mail.yahoo.example", ["fbl@abusedesk.example"], crlf(raw))


def parts(message: EmailMessage) -> tuple[str, str]:
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert text is not None and html is not None
    return _lf(text.get_content()), _lf(html.get_content())


def _lf(content: object) -> str:
    return str(content).replace("\r\n", "\n")


def cli(database_url: str, *args: str) -> tuple[int, str, str]:
    done = run_cli(*args, database_url=database_url)
    return done.returncode, done.stdout, done.stderr


def test_reports_suspend_and_the_aup_notice_arrives_with_the_right_samples(
    settings: Settings, directory_engine: Engine, database_url: str, sink: SmtpSink
) -> None:
    configured = with_notices(settings, notice_settings(sink.port))
    reports = [report(i + 1, "alice@shop.example", s) for i, s in enumerate(SUBJECTS)]
    with RunningService(configured, directory_engine, SERVICE) as service:
        send_reports(service, reports)
        wait_for(lambda: len(sink.received) == 1)
    [received] = sink.received
    assert received.mail_from == FROM
    assert received.rcpt_tos == ("abuse@acme-resellers.example",)
    message = received.message
    assert message["To"] == "abuse@acme-resellers.example"
    assert message["From"] == f"Abuse desk <{FROM}>"
    assert message["Subject"] == "Sending suspended for alice@shop.example (AUP notice)"
    assert message["Auto-Submitted"] == "auto-generated"
    with Session(directory_engine) as session:
        [notice] = session.execute(select(Notice)).scalars().all()
    assert notice.status == "sent" and notice.sent_at is not None and notice.attempts == 1
    assert message["Message-ID"] == notice.message_id  # the Message-ID is recorded
    text, html = parts(message)
    # Six complaints in three subject groups ("spring  SALE" is the same campaign): one
    # sample per group, the biggest group's earliest first, shown in time order.
    shown = [line.strip() for line in text.splitlines() if line.strip().startswith("Message-ID:")]
    assert shown == [
        "Message-ID: <offer-1@shop.example>",
        "Message-ID: <offer-4@shop.example>",
        "Message-ID: <offer-6@shop.example>",
    ]
    assert "Sample messages (3 of 6 complained about)" in text
    assert "6 complaints about mail from\nthis mailbox within 24 hours" in text
    assert "abusedesk suspensions lift alice@shop.example" in text
    assert "user1@yahoo.example" not in text + html  # the complainant is never shown
    for needle in ("Spring sale", "Newsletter", "Your invoice", "&lt;offer-4@shop.example&gt;"):
        assert needle in html

    # The lifecycle, through the CLI as an operator runs it.
    assert cli(database_url, "users", "add", "sam", "--role", "staff")[0] == 0
    code, _, error = cli(database_url, "mailbox", "delete", "alice@shop.example", "--as", "sam")
    assert code == 1
    assert error == (
        "abusedesk: alice@shop.example is soft-suspended: lift the suspension first, "
        "then delete the account\n"
    )
    code, out, error = cli(
        database_url,
        "suspensions",
        "lift",
        "alice@shop.example",
        "--as",
        "sam",
        "--outcome",
        "educated",
        "--note",
        "Spoke to the owner; list cleaned.",
    )
    assert code == 0, error
    assert "lifted (educated) by sam; sending restored" in out
    code, out, _ = cli(database_url, "mailbox", "show", "alice@shop.example", "--json")
    assert json.loads(out)["services"] == {"send": True, "receive": True, "login": True}
    code, out, error = cli(
        database_url, "mailbox", "delete", "alice@shop.example", "--as", "sam", "--note", "closed"
    )
    assert code == 0, error
    with Session(directory_engine) as session:
        alice = session.execute(
            select(Mailbox).where(col(Mailbox.address) == "alice@shop.example")
        ).scalar_one()
    assert alice.deleted_at is not None and not (alice.can_send or alice.can_login)
    code, out, _ = cli(database_url, "audit", "list", "--target", "alice@shop.example", "--json")
    assert [(e["actor"], e["action"], e["note"]) for e in json.loads(out)] == [
        ("sam", "mailbox.delete", "closed"),
        ("sam", "suspension.lift", "Spoke to the owner; list cleaned."),
    ]
    code, out, _ = cli(database_url, "notices", "show", str(notice.id))
    assert code == 0 and "Message-ID: <offer-4@shop.example>" in out and "----- text/html" in out


def test_notices_wait_while_the_smarthost_is_down_then_arrive_exactly_once(
    settings: Settings, directory_engine: Engine, sink: SmtpSink
) -> None:
    sink.stop()  # the smarthost is down; its port stays reserved for its return
    configured = with_notices(settings, notice_settings(sink.port))
    senders = ["alice@shop.example", "orders@bakery.example", "lonely@orphan.example"]
    reports = [
        report(10 * k + i, sender, b"Offer %d" % i)
        for k, sender in enumerate(senders)
        for i in range(1, 7)
    ]

    def notices() -> list[Notice]:
        with Session(directory_engine) as session:
            return list(session.execute(select(Notice).order_by(col(Notice.id))).scalars())

    with RunningService(configured, directory_engine, Roles(imap=False)) as service:
        send_reports(service, reports)
        # Every notice has been tried more than once and is still waiting.
        wait_for(lambda: len(notices()) == 3 and all(n.attempts >= 2 for n in notices()))
        queued = notices()
        assert {n.status for n in queued} <= {"queued", "sending"}
        assert all("smarthost unreachable" in (n.last_error or "") for n in queued)
        assert sink.received == []
        sink.start()
        wait_for(lambda: all(n.status == "sent" for n in notices()))
        time.sleep(0.6)  # a few more delivery rounds: nothing is sent a second time
        assert service.listening is not None and service.listening.web is not None
        host, port = service.listening.web
        metrics = httpx.get(f"http://{host}:{port}/metrics", timeout=10).text
    delivered = notices()
    assert len(sink.received) == 3
    assert 'abusedesk_notices_delivered_total{outcome="sent"} 3.0' in metrics
    assert 'abusedesk_notices_delivered_total{outcome="failed"} 0.0' in metrics
    assert sorted(r.message["Message-ID"] for r in sink.received) == sorted(
        n.message_id for n in delivered
    )
    assert sorted(r.rcpt_tos for r in sink.received) == sorted(
        [
            ("abuse@acme-resellers.example",),
            ("abuse@acme-resellers.example",),
            ("abuse@platform.example",),  # Nocontact Ltd has none: the platform's fallback
        ]
    )
    [fallback] = [r.message for r in sink.received if r.rcpt_tos == ("abuse@platform.example",)]
    assert fallback["Subject"].startswith("[No abuse contact on file for Nocontact Ltd]")
    assert fallback["X-Abusedesk-Fallback"] == "no valid abuse contact on file for this company"
    with Session(directory_engine) as session:
        stored = session.execute(select(RawReport)).scalars().all()
    assert len(stored) == 18


HOSTILE_SUBJECT = (
    b"=?utf-8?q?Hi=0D=0ABcc:_victim@evil.example?= <script>alert('s')</script> "
    b"\xff\xfe caf\xe9 =?x-unknown?q?broken=ZZ?="
)
HOSTILE_BODY = (
    b"<html><b>Bold</b> <script>alert('b')</script>\r\nBcc: victim@evil.example\r\n"
    b'\xff\xfe caf\xe9 &lt;already escaped&gt; <a href="javascript:alert(1)">x</a>\n'
)


def test_a_hostile_report_produces_a_notice_that_carries_it_as_inert_text(
    settings: Settings, directory_engine: Engine, sink: SmtpSink
) -> None:
    configured = with_notices(settings, notice_settings(sink.port))
    reports = [
        report(i, "bob@shop.example", HOSTILE_SUBJECT, HOSTILE_BODY, b"Content-Type: text/plain\n")
        for i in range(1, 7)
    ]
    with RunningService(configured, directory_engine, SERVICE) as service:
        send_reports(service, reports)
        wait_for(lambda: len(sink.received) == 1)
    [received] = sink.received
    assert received.rcpt_tos == ("abuse@acme-resellers.example",)  # no smuggled recipient
    message = received.message
    assert message["Bcc"] is None and message["Cc"] is None
    assert message["Subject"] == "Sending suspended for bob@shop.example (AUP notice)"
    assert not any("\r" in v or "\n" in v for v in message.values())
    assert [p.get_content_type() for p in message.iter_parts()] == ["text/plain", "text/html"]
    text, html = parts(message)
    # Text: the words are there, on the lines where the notice put them.
    assert "<script>alert('s')</script>" in text
    subject_line = next(line for line in text.splitlines() if "Subject: Hi" in line)
    assert "Bcc: victim@evil.example" in subject_line  # the injected break is a space
    assert "<script>alert('b')</script>" in text
    # HTML: nothing from the report is markup.
    assert "<script" not in html
    assert "&lt;script&gt;alert(&#39;s&#39;)&lt;/script&gt;" in html
    assert "&lt;script&gt;alert(&#39;b&#39;)&lt;/script&gt;" in html
    assert "<b>Bold</b>" not in html and "&lt;b&gt;Bold&lt;/b&gt;" in html
    assert "&amp;lt;already escaped&amp;gt;" in html
    assert "<a href" not in html
    # Broken encodings (8-bit bytes without a charset, an unknown charset) arrive as text.
    assert "caf" in subject_line and "broken=ZZ" in subject_line
    assert "&lt;already escaped&gt;" in text
