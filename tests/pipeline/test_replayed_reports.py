"""One provider report counts once, however whoever holds a copy edits its header.

End to end on both databases: signed reports arrive through the real SMTP
listener (from a peer that is no provider, so only the DKIM signature can make
them trusted) and through a real Dovecot mailbox; the worker parses,
attributes, records and decides them under the shipped policy. DNS is outside
the machine: the provider's key is served by a lookup function.
"""

from __future__ import annotations

import smtplib
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, select
from sqlmodel import Session, col
from tests.conftest import DEFAULT_RULES, RunningService, crlf
from tests.dovecot import Dovecot, MailUser, running_dovecot
from tests.support.reports import numbered_report
from tests.support.signing import SigningKey, make_signing_key

from abusedesk.config import ProviderSettings, Settings
from abusedesk.decide.engine import PolicyEngine
from abusedesk.decide.loader import load_rules
from abusedesk.ingest.imap import poll_once
from abusedesk.pipeline.worker import ReportWorker
from abusedesk.service import Roles
from abusedesk.store.tables import Complaint, Mailbox, RawReport, Suspension

PROVIDER = b"yahoo.example"
SENDER = "alice@shop.example"
SMTP_ONLY = Roles(worker=False, web=False, imap=False, policy=False)


@pytest.fixture(scope="module")
def key(tmp_path_factory: pytest.TempPathFactory) -> SigningKey:
    return make_signing_key(tmp_path_factory.mktemp("dkim"))


@pytest.fixture(scope="module")
def dovecot_server() -> Iterator[Dovecot]:
    with running_dovecot() as server:
        yield server


@pytest.fixture
def dkim_settings(settings: Settings) -> Settings:
    """The demo settings, but no peer is a provider: trust comes from the signature alone."""
    providers = ProviderSettings(peers=[], dkim_domains=[PROVIDER.decode()])
    return settings.model_copy(update={"providers": providers})


def send(service: RunningService, *reports: bytes) -> list[int]:
    ids = []
    with smtplib.SMTP(*service.smtp_address, timeout=30) as client:
        client.ehlo("mx.attacker.example")
        for raw in reports:
            client.mail("fbl@arf.mail.yahoo.example")
            client.rcpt("fbl@abusedesk.example")
            code, message = client.data(crlf(raw))
            assert code == 250, message
            ids.append(int(message.split()[-1]))
    return ids


def process(engine: Engine, settings: Settings, key: SigningKey) -> None:
    policy = PolicyEngine(load_rules(DEFAULT_RULES))
    worker = ReportWorker(engine, settings, dns_lookup=key.dns(PROVIDER), policy=policy)
    worker.run_until_idle()


def trusted_complaints(engine: Engine) -> list[int]:
    """The raw report ids of the trusted complaints charged to `SENDER`."""
    with Session(engine) as session:
        return list(
            session.execute(
                select(col(Complaint.raw_report_id))
                .join(Mailbox, col(Mailbox.id) == col(Complaint.mailbox_id))
                .where(col(Mailbox.address) == SENDER, col(Complaint.trusted))
                .order_by(col(Complaint.raw_report_id))
            ).scalars()
        )


def raw_reports(engine: Engine, ids: list[int]) -> list[RawReport]:
    with Session(engine) as session:
        found = {r.id: r for r in session.execute(select(RawReport)).scalars()}
    return [found[i] for i in ids]


def sender_state(engine: Engine) -> tuple[bool, int]:
    """Whether `SENDER` may send, and how many suspensions it has had."""
    with Session(engine) as session:
        mailbox = session.execute(
            select(Mailbox).where(col(Mailbox.address) == SENDER)
        ).scalar_one()
        suspensions = session.execute(
            select(Suspension).where(col(Suspension.mailbox_id) == mailbox.id)
        ).all()
        return mailbox.can_send, len(suspensions)


def replays(signed: bytes) -> list[bytes]:
    """Copies of `signed` with new outer headers, each of which still verifies but for the
    first (its Message-ID replaced, which the signature covers)."""
    on_top = [
        b"Message-ID: <replay-1@attacker.example>\n",
        b"Message-ID: <replay-2@attacker.example>\nDate: Sat, 5 Dec 2026 09:00:00 +0000\n",
        b"Subject: Re: again\nMessage-ID: <replay-3@attacker.example>\n",
        b"Received: from a.example by b.example; Sat, 5 Dec 2026 09:00:00 +0000\n"
        b"Message-ID: <replay-4@attacker.example>\n",
        b"Date: Sat, 5 Dec 2026 10:00:00 +0000\n",
        b"Subject: FW: prepended\n",
        b"Message-ID: <replay-5@attacker.example>\nTo: someone@else.example\n",
        b"Message-ID: <replay-6@attacker.example>\n",
        b"Received: from c.example by d.example; Sat, 5 Dec 2026 11:00:00 +0000\n",
        b"X-Junk: a\n \nX-Copy: 1\n",  # the parser's header ends at the line of spaces
    ]
    replaced = signed.replace(b"<report-1@arf.mail.yahoo.example>", b"<replay-0@x.example>", 1)
    return [replaced, *(crlf(edit) + signed for edit in on_top)]


def test_a_replayed_signed_report_counts_once_however_its_header_is_edited(
    dkim_settings: Settings,
    directory_engine: Engine,
    key: SigningKey,
    dovecot_server: Dovecot,
) -> None:
    engine = directory_engine
    signed = key.sign(numbered_report(1, SENDER), PROVIDER)
    mailbox: MailUser = dovecot_server.add_user()
    with RunningService(dkim_settings, engine, SMTP_ONLY) as service:
        [genuine] = send(service, signed)
        # The same report, also fetched from the provider feed mailbox we poll, with the
        # transport headers its delivery there added.
        mailbox.append(
            crlf(
                b"Return-Path: <fbl@arf.mail.yahoo.example>\n"
                b"Delivered-To: fbl@abusedesk.example\n"
                b"Received: from mx.yahoo.example by mx.abusedesk.example; "
                b"Fri, 20 Nov 2026 08:05:00 +0000\n"
            )
            + signed
        )
        assert poll_once(mailbox.account(), engine) == 1
        with Session(engine) as session:
            by_imap = session.execute(
                select(col(RawReport.id)).where(col(RawReport.source) == "imap")
            ).scalar_one()
        process(engine, dkim_settings, key)
        assert trusted_complaints(engine) == [genuine]

        edited = send(service, *replays(signed))
        process(engine, dkim_settings, key)

    assert trusted_complaints(engine) == [genuine]
    assert sender_state(engine) == (True, 0)  # ten more copies suspended nobody
    first, imap_copy = raw_reports(engine, [genuine, by_imap])
    assert first.trusted and first.trust_reason == (
        "valid DKIM signature of provider domain yahoo.example"
    )
    assert imap_copy.source == "imap" and imap_copy.reason == (
        f"duplicate of report {genuine}; counted once"
    )

    replaced, *prepended = raw_reports(engine, edited)
    # Its Message-ID replaced, the copy fails its signature: an untrusted complaint of its own.
    assert not replaced.trusted
    assert replaced.trust_reason == "peer 127.0.0.1 is not a configured feedback-loop provider"
    # A repeated singleton field: the signature still verifies, but gives no trust, and every
    # such copy has one key, its content's.
    repeated, only_received, spaces = prepended[:8], prepended[8], prepended[9]
    assert [r.trust_reason for r in repeated] == [
        "DKIM signature of provider domain yahoo.example verifies but is not trusted: "
        f"the header has 2 {name} fields and the signature covers 1: the others, read first, "
        "were added after signing"
        for name in ["Message-ID"] * 4 + ["Date", "Subject", "Message-ID", "Message-ID"]
    ]
    assert not any(r.trusted for r in repeated)
    assert [r.reason for r in repeated] == [None] + [
        f"duplicate of report {repeated[0].id}; counted once"
    ] * 7
    # A Received more is what any relay adds: still the provider's report, and a duplicate.
    assert only_received.trusted
    assert only_received.reason == f"duplicate of report {genuine}; counted once"
    assert not spaces.trusted and "another header block than abusedesk reads" in (
        spaces.trust_reason or ""
    )

    with Session(engine) as session:
        recorded = session.execute(select(Complaint).order_by(col(Complaint.id))).scalars().all()
    assert [(c.raw_report_id, c.trusted) for c in recorded] == [
        (genuine, True),
        (replaced.id, False),
        (repeated[0].id, False),
    ]
    assert recorded[2].problems[-1] == (
        "the report's own header has 2 Message-ID fields, which RFC 5322 allows once: it was "
        "edited after it was written, so it is counted by its content, not by its Message-ID"
    )


def test_different_signed_reports_each_count(
    dkim_settings: Settings, directory_engine: Engine, key: SigningKey
) -> None:
    reports = [key.sign(numbered_report(n, SENDER), PROVIDER) for n in range(1, 7)]
    with RunningService(dkim_settings, directory_engine, SMTP_ONLY) as service:
        ids = send(service, *reports)
        process(directory_engine, dkim_settings, key)
    assert trusted_complaints(directory_engine) == ids
    assert sender_state(directory_engine) == (False, 1)  # six trusted complaints in a day
