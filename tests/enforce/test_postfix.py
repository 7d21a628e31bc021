"""A real Postfix asks the policy service: suspended senders are refused, lifted ones pass again,
and the queue id it reports joins a fully redacted complaint back to the sender."""

from __future__ import annotations

import smtplib
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlmodel import Session, col
from tests.conftest import DEFAULT_RULES, DEMO, RunningService, run_cli
from tests.dovecot import free_port, running_dovecot
from tests.enforce.conftest import REJECT
from tests.enforce.lifecycle import lift, suspend
from tests.postfix import Postfix, Sink, running_postfix

from abusedesk.attribute import AttributionMethod, attribute_report
from abusedesk.config import Settings
from abusedesk.parse import parse_report
from abusedesk.service import Roles
from abusedesk.store.directory import DatabaseDirectory
from abusedesk.store.tables import Complaint, Mailbox, SentVolume, SubmittedMessage

BOB, ALICE = "bob@shop.example", "alice@shop.example"
PASSWORDS = {BOB: "bob-secret", ALICE: "alice-secret"}
FRIEND = "friend@mail.yahoo.example"
REJECT_TEXT = REJECT.split(" ", 2)[2]  # the text after "REJECT 5.7.1"

pytestmark = pytest.mark.slow


@pytest.fixture
def relay(settings: Settings, directory_engine: Engine) -> Iterator[tuple[Postfix, Sink]]:
    roles = Roles(smtp=False, worker=False, imap=False, web=False)
    with (
        RunningService(settings, directory_engine, roles) as service,
        running_dovecot(sasl_users=PASSWORDS) as dovecot,
    ):
        assert service.listening is not None and service.listening.policy is not None
        with running_postfix(service.listening.policy, sasl_port=dovecot.auth_port) as running:
            yield running


def message(sender: str, subject: str) -> EmailMessage:
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = sender, FRIEND, subject
    mail["Message-ID"] = f"<{subject.replace(' ', '-')}@shop.example>"
    mail.set_content("Our weekly offer.\n")
    return mail


def send(relay: Postfix, sender: str, subject: str, *, login: str | None = None) -> str:
    """'accepted', or the relay's refusal of the recipient as text."""
    with smtplib.SMTP("127.0.0.1", relay.port, timeout=30) as client:
        client.ehlo("laptop.example")
        if login:
            client.login(login, PASSWORDS[login])
        try:
            client.send_message(message(sender, subject), from_addr=sender, to_addrs=[FRIEND])
        except smtplib.SMTPRecipientsRefused as refused:
            code, text = refused.recipients[FRIEND]
            return f"{code} {text.decode()}"
    return "accepted"


def eventually(attempt: Callable[[int], str], expected: Callable[[str], bool]) -> tuple[int, str]:
    """Retry `attempt(n)` until its result is `expected`: at most a second, as promised."""
    deadline = time.monotonic() + 1.0
    number = 0
    while not expected(result := attempt(number)):
        assert time.monotonic() < deadline, result
        number += 1
        time.sleep(0.05)
    return number, result


def test_a_suspended_sender_is_refused_and_accepted_again_after_the_lift(
    relay: tuple[Postfix, Sink], directory_engine: Engine
) -> None:
    postfix, sink = relay
    assert send(postfix, BOB, "before") == "accepted"
    suspend(directory_engine, BOB)
    # Sent until refused (the state follows the database within a second).
    number, refused = eventually(lambda n: send(postfix, BOB, f"during {n}"), "accepted".__ne__)
    assert refused.startswith("554 5.7.1") and REJECT_TEXT in refused, postfix.log()
    assert "spam" not in refused.lower()
    assert send(postfix, BOB, "refused again") != "accepted"
    assert send(postfix, ALICE, "others still send") == "accepted"
    lift(directory_engine, BOB)
    after, _ = eventually(lambda n: send(postfix, BOB, f"after {n}"), "accepted".__eq__)
    # Delivered: "before", the attempts accepted before the state caught up, Alice's, "after".
    delivered = sink.wait_for(3 + number)
    subjects = {subject_of(raw) for *_, raw in delivered}
    assert {"before", "others still send", f"after {after}"} <= subjects
    assert f"during {number}" not in subjects and "refused again" not in subjects


def subject_of(raw: bytes) -> str:
    return raw.split(b"Subject: ", 1)[1].split(b"\r\n", 1)[0].decode()


def test_the_sasl_user_is_what_counts(
    relay: tuple[Postfix, Sink], directory_engine: Engine
) -> None:
    postfix, _ = relay
    suspend(directory_engine, BOB)
    time.sleep(0.5)
    refused = send(postfix, BOB, "as himself", login=BOB)
    assert refused.startswith("554 5.7.1") and REJECT_TEXT in refused
    # Bob cannot escape by writing someone else's address as the envelope sender.
    assert send(postfix, ALICE, "disguised", login=BOB).startswith("554 5.7.1")
    # Alice is not Bob, whatever envelope sender she writes.
    assert send(postfix, BOB, "alice as bob", login=ALICE) == "accepted"


def test_a_redacted_complaint_is_attributed_by_the_queue_id_the_relay_reported(
    relay: tuple[Postfix, Sink], directory_engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    postfix, sink = relay
    assert send(postfix, BOB, "offer 42", login=BOB) == "accepted"
    [(_, _, raw)] = sink.wait_for(1)
    ours = next(line for line in raw.decode().split("\r\n\r\n")[0].split("\r\n") if "by " in line)
    queue_id = raw.decode().split(" id ", 1)[1].split()[0].rstrip(";")
    assert queue_id and "Authenticated sender" not in raw.decode(), ours
    deadline = time.monotonic() + 15  # metering is flushed every few seconds
    directory = DatabaseDirectory(directory_engine)
    while directory.sender_for_queue_id(queue_id) != BOB:
        assert time.monotonic() < deadline, postfix.log()
        time.sleep(0.2)

    outcome = attribute_report(
        parse_report(redacted_complaint(raw)), settings.attribution, directory
    )
    assert outcome.attribution is not None, outcome.reason
    assert outcome.attribution.mailbox == BOB
    assert outcome.attribution.method is AttributionMethod.QUEUE_ID
    assert queue_id in outcome.attribution.evidence
    with Session(directory_engine) as session:
        sent = session.execute(select(func.sum(col(SentVolume.messages)))).scalar_one()
        recorded = session.execute(select(func.count()).select_from(SubmittedMessage)).scalar()
    assert (sent, recorded) == (1, 1)

    # And through the pipeline, as an operator would feed it in.
    report = tmp_path / "complaint.eml"
    report.write_bytes(redacted_complaint(raw))
    ingested = run_cli(
        "--config",
        str(DEMO / "abusedesk.toml"),
        "ingest",
        str(report),
        database_url=settings.database_url,
        env={"ABUSEDESK_RULES__PATH": str(DEFAULT_RULES)},
    )
    assert ingested.returncode == 0, ingested.stderr
    with Session(directory_engine) as session:
        complaint = session.execute(select(Complaint)).scalar_one()
        charged = session.get(Mailbox, complaint.mailbox_id)
    assert charged is not None and charged.address == BOB
    assert complaint.attribution_method == AttributionMethod.QUEUE_ID.value
    assert complaint.queue_id == queue_id


def redacted_complaint(relayed: bytes) -> bytes:
    """A provider's ARF report about `relayed`, every address in it redacted.

    The provider adds its own Received hop on top (from our relay's public
    address, as the demo configuration lists it); the rest is what our relay
    delivered, with every address replaced the way providers redact them.
    """
    text = relayed.decode().replace("\r\n", "\n")
    for address in (BOB, FRIEND):
        text = text.replace(address, "redacted@redacted.example")
    # The provider received it a moment after our relay did.
    received = format_datetime(datetime.now(UTC) + timedelta(seconds=5))
    provider_hop = (
        "Received: from relay1.out.hostingplatform.example "
        "(relay1.out.hostingplatform.example [198.51.100.5])\n"
        f"\tby mta7.mail.yahoo.example with ESMTPS id y42; {received}\n"
    )
    return f"""\
From: feedback@arf.mail.yahoo.example
To: fbl@abusedesk.example
Subject: FW: complaint
Message-ID: <complaint-42@arf.mail.yahoo.example>
Date: {received}
MIME-Version: 1.0
Content-Type: multipart/report; report-type=feedback-report; boundary="b42"

--b42
Content-Type: text/plain

This is an email abuse report for an email message received from IP 198.51.100.5.

--b42
Content-Type: message/feedback-report

Feedback-Type: abuse
User-Agent: Yahoo!-Mail-Feedback/2.0
Version: 1
Original-Mail-From: <redacted@redacted.example>
Original-Rcpt-To: <redacted@redacted.example>
Arrival-Date: {received}
Source-IP: 198.51.100.5

--b42
Content-Type: message/rfc822

{provider_hop}{text}
--b42--
""".encode()


def test_without_a_policy_service_postfix_fails_closed_by_default() -> None:
    # Nothing listens on this port: Postfix cannot ask, and applies its default action.
    with running_postfix(("127.0.0.1", free_port())) as (postfix, sink):
        refused = send(postfix, BOB, "while abusedesk is down")
        assert refused.startswith("451 4.3.5"), refused
        assert sink.messages == []


def test_with_default_action_dunno_postfix_fails_open() -> None:
    with running_postfix(("127.0.0.1", free_port()), fail_open=True) as (postfix, sink):
        assert send(postfix, BOB, "while abusedesk is down") == "accepted"
        [(sender, _, _)] = sink.wait_for(1)
        assert sender == BOB
