"""Our relay's hop as a real Postfix writes it, with a client that writes into it.

A customer chooses its HELO name and its recipients. Postfix 3.7 replaces
every character of a HELO name that a host name cannot hold (spaces,
parentheses, `@`) with `?`, but quotes any recipient into `for <…>` as it
came, parentheses and all. Whatever the client writes there, the hop reads
back with the sender Postfix authenticated, or none — never the name the
client typed.
"""

from __future__ import annotations

import smtplib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime

import pytest
from tests.attribute.conftest import HostedDirectory
from tests.dovecot import running_dovecot
from tests.enforce.conftest import BackgroundPolicyServer
from tests.postfix import RELAY_HOSTNAME, Postfix, Sink, postfix_installed, running_postfix

from abusedesk.attribute import attribute_report
from abusedesk.config import AttributionSettings
from abusedesk.parse import parse_report
from abusedesk.parse.received import parse_received

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not postfix_installed(), reason="postfix is not installed"),
]

ALICE, VICTIM = "alice@shop.example", "victim@shop.example"
PASSWORDS = {ALICE: "alice-secret"}
INJECTED_HELO = (
    f"laptop (relay2.out.hostingplatform.example [198.51.100.6]) (Authenticated sender: {VICTIM})"
)
QUOTED_RECIPIENT = f'"(Authenticated sender: {VICTIM})"@mail.yahoo.example'
# The relay hands to a loopback sink, so the test's relay addresses include loopback.
SETTINGS = AttributionSettings(
    relays=[RELAY_HOSTNAME, "198.51.100.0/28", "127.0.0.0/8"],
)
DIRECTORY = HostedDirectory({ALICE, VICTIM})


@pytest.fixture(scope="module", params=["yes", "no"], ids=["auth-header", "no-auth-header"])
def relay(request: pytest.FixtureRequest) -> Iterator[tuple[Postfix, Sink, bool]]:
    writes_sender = request.param == "yes"
    with (
        BackgroundPolicyServer() as policy,
        running_dovecot(sasl_users=PASSWORDS) as dovecot,
        running_postfix(
            policy.address,
            sasl_port=dovecot.auth_port,
            extra_main_cf=f"smtpd_sasl_authenticated_header = {request.param}\n",
        ) as (postfix, sink),
    ):
        yield postfix, sink, writes_sender


def relayed(relay: tuple[Postfix, Sink, bool], helo: str, recipient: str) -> bytes:
    postfix, sink, _ = relay
    before = len(sink.messages)
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = ALICE, "friend@mail.yahoo.example", "offer"
    mail.set_content("Our weekly offer.\n")
    with smtplib.SMTP("127.0.0.1", postfix.port, timeout=30) as client:
        client.ehlo(helo)
        client.login(ALICE, PASSWORDS[ALICE])
        client.send_message(mail, from_addr=ALICE, to_addrs=[recipient])
    return sink.wait_for(before + 1)[-1][2]


def our_hop(raw: bytes) -> str:
    message = raw.decode().replace("\r\n", "\n")
    headers = message.split("\n\n", 1)[0]
    unfolded = headers.replace("\n\t", "\t").replace("\n ", " ")
    line = next(line for line in unfolded.split("\n") if line.startswith("Received:"))
    return line.removeprefix("Received:").strip()


def provider_report(raw: bytes) -> bytes:
    """The provider's report on what our relay delivered, Source-IP one of our relays."""
    received = format_datetime(datetime.now(UTC) + timedelta(seconds=5))
    text = raw.decode().replace("\r\n", "\n")
    return f"""\
From: feedback@arf.mail.yahoo.example
To: fbl@abusedesk.example
Subject: complaint
Message-ID: <c-{abs(hash(text))}@arf.mail.yahoo.example>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=feedback-report; boundary="b"

--b
Content-Type: text/plain

Abuse report.

--b
Content-Type: message/feedback-report

Feedback-Type: abuse
User-Agent: Yahoo!-Mail-Feedback/2.0
Version: 1
Arrival-Date: {received}
Source-IP: 198.51.100.5

--b
Content-Type: message/rfc822

Received: from {RELAY_HOSTNAME} ({RELAY_HOSTNAME} [198.51.100.5])
\tby mta7.mail.yahoo.example with ESMTPS id y42; {received}
{text}
--b--
""".encode()


def test_what_postfix_keeps_of_what_the_client_typed(relay: tuple[Postfix, Sink, bool]) -> None:
    hop = our_hop(relayed(relay, INJECTED_HELO, QUOTED_RECIPIENT))

    # The HELO name is one word: its spaces, parentheses and `@` became `?`.
    assert "from laptop??relay2.out.hostingplatform.example?[198.51.100.6]???Authenticated?" in hop
    # The recipient is quoted into the hop as it came.
    assert f"for <{QUOTED_RECIPIENT}>" in hop
    assert (f"(Authenticated sender: {ALICE})" in hop) is relay[2]


def test_injected_sender_text_is_inert(relay: tuple[Postfix, Sink, bool]) -> None:
    raw = relayed(relay, INJECTED_HELO, QUOTED_RECIPIENT)
    hop = parse_received(0, our_hop(raw))

    assert hop.by_host == RELAY_HOSTNAME and hop.from_ip == "127.0.0.1"
    assert hop.authenticated_sender == (ALICE if relay[2] else None)

    outcome = attribute_report(parse_report(provider_report(raw)), SETTINGS, DIRECTORY)
    charged = outcome.attribution.mailbox if outcome.attribution else None
    assert charged == (ALICE if relay[2] else None), outcome.reason
    assert outcome.candidate is None or outcome.candidate.mailbox != VICTIM


def test_a_helo_with_a_by_clause_stays_one_word(relay: tuple[Postfix, Sink, bool]) -> None:
    helo = f"x by {RELAY_HOSTNAME} (Postfix) with ESMTPSA id 4XVICTIMQID"
    raw = relayed(relay, helo, "friend@mail.yahoo.example")
    hop = parse_received(0, our_hop(raw))

    assert hop.doubts == ()
    assert hop.by_host == RELAY_HOSTNAME and hop.queue_id and "VICTIM" not in hop.queue_id


def test_a_plain_submission_is_read_as_postfix_wrote_it(relay: tuple[Postfix, Sink, bool]) -> None:
    raw = relayed(relay, "laptop.example", "friend@mail.yahoo.example")
    hop = parse_received(0, our_hop(raw))

    assert hop.doubts == ()
    assert hop.from_helo == "laptop.example" and hop.from_ip == "127.0.0.1"
    assert hop.with_protocol == "ESMTPA" and hop.queue_id  # no TLS on the test port
    assert hop.authenticated_sender == (ALICE if relay[2] else None)
    outcome = attribute_report(parse_report(provider_report(raw)), SETTINGS, DIRECTORY)
    assert (outcome.attribution.mailbox if outcome.attribution else None) == (
        ALICE if relay[2] else None
    )
