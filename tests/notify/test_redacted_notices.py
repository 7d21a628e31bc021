"""Notices never show the complainant: reports full of her address, notices without it.

Six reports whose originals name Jane Doe in every spelling we know
(`complainant_reports`) reach the real SMTP listener; the AUP notice that
arrives at the smarthost sink, and an escalation notice listing the six
complaints, are judged on what the reseller receives: every MIME part
decoded, the headers, and the raw bytes, by `traces.spellings_found`.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine, select
from sqlmodel import Session, col

from abusedesk.config import Settings
from abusedesk.notify.compose import NoticeComposer, NoticeRequest
from abusedesk.notify.deliver import deliver_due
from abusedesk.notify.redaction import MARKER
from abusedesk.store.tables import Complaint, Domain, Mailbox
from abusedesk.store.types import utcnow
from tests.conftest import RunningService
from tests.notify.complainant_reports import COMPLAINANT, SENDER, WORDS, complainant_reports
from tests.notify.conftest import notice_settings, wait_for, with_notices
from tests.notify.test_acceptance import SERVICE, parts, send_reports
from tests.notify.traces import spellings_found
from tests.support.smtp_sink import Received, SmtpSink


def what_the_reseller_reads(received: Received) -> dict[str, str]:
    """Each part of a delivered notice as its reader sees it, and the bytes on the wire."""
    message = received.message
    text, html = parts(message)
    headers = "\n".join(f"{name}: {value}" for name, value in message.items())
    return {
        "text": text,
        "html": html,
        "headers": headers,
        "bytes": received.raw.decode("latin-1"),
    }


def assert_no_trace_of_the_complainant(received: Received) -> None:
    for part, content in what_the_reseller_reads(received).items():
        assert spellings_found(content, COMPLAINANT, words=WORDS) == [], part


def test_the_aup_notice_shows_the_samples_without_the_complainant(
    settings: Settings, directory_engine: Engine, sink: SmtpSink
) -> None:
    configured = with_notices(settings, notice_settings(sink.port))
    with RunningService(configured, directory_engine, SERVICE) as service:
        send_reports(service, complainant_reports())
        wait_for(lambda: len(sink.received) == 1)
    [received] = sink.received
    assert received.rcpt_tos == ("abuse@acme-resellers.example",)
    assert_no_trace_of_the_complainant(received)
    text, html = parts(received.message)
    # The samples are there, the complainant's place in them marked, the sender named.
    assert "Sample messages (3 of 6 complained about)" in text
    for number in (1, 2, 3):
        assert f"Message-ID: <offer-{number}@shop.example>" in text
    assert f"Subject: Offer 1 for {MARKER}" in text
    assert f"Subject: Deal 2 for {MARKER}" in text
    assert f'From: "{MARKER}" <{MARKER}>' in text  # the third spoofs her as its sender
    assert "From: Shop <alice@shop.example>" in text
    assert f"Hi {MARKER}," in text  # the plain body, the quoted-printable one
    assert f"Dear {MARKER}, your {MARKER} profile" in text  # and the base64 one
    assert "https://t.shop.example/c?e=" + MARKER in html
    assert SENDER in received.message["Subject"]


def test_an_escalation_notice_lists_the_complaints_without_the_complainant(
    settings: Settings, directory_engine: Engine, sink: SmtpSink
) -> None:
    configured = with_notices(settings, notice_settings(sink.port))
    with RunningService(configured, directory_engine, SERVICE) as service:
        send_reports(service, complainant_reports())
        wait_for(lambda: len(sink.received) == 1)
    with Session(directory_engine) as session:
        mailbox = session.execute(
            select(Mailbox).where(col(Mailbox.address) == SENDER)
        ).scalar_one()
        domain = session.get(Domain, mailbox.domain_id)
        assert mailbox.id is not None and domain is not None and domain.id is not None
        ids = tuple(
            session.execute(
                select(col(Complaint.id)).where(col(Complaint.mailbox_id) == mailbox.id)
            ).scalars()
        )
        assert len(ids) == 6
        composer = NoticeComposer.from_settings(configured.notices)
        composer.queue(
            session,
            NoticeRequest(
                template="escalation-notice",
                to="abuse-contact",
                samples=0,
                decision_id=1,
                event_at=datetime(2026, 11, 20, 9, 0, tzinfo=UTC),
                rule="complaint-storm",
                rule_description="Complaints kept coming.",
                mailbox=SENDER,
                domain=domain.name,
                company="Acme Hosting Resellers",
                domain_id=domain.id,
                company_id=domain.company_id,
                pattern="complaint-storm",
                scope="mailbox",
                scope_key=SENDER,
                evidence_kind="complaint",
                evidence_ids=ids,
            ),
        )
        session.commit()
    deliver_due(directory_engine, configured.notices, now=utcnow())
    [escalation] = [r for r in sink.received if "Escalation" in r.message["Subject"]]
    assert_no_trace_of_the_complainant(escalation)
    text, _ = parts(escalation.message)
    evidence = [line for line in text.splitlines() if line.startswith("- ")]
    assert len(evidence) == 6
    assert all(f"complaint about {SENDER} from arf.mail.yahoo.example" in line for line in evidence)
    assert sum(f"for {MARKER}" in line for line in evidence) == 6
