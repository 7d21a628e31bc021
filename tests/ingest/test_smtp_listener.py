"""The real SMTP listener on a loopback port, spoken to with smtplib."""

from __future__ import annotations

import smtplib

import pytest
from sqlalchemy import Engine, select, text
from sqlmodel import Session
from tests.conftest import CORPUS, RunningService, crlf

from abusedesk.config import Settings
from abusedesk.service import Roles
from abusedesk.store.tables import RawReport

REPORT = crlf((CORPUS / "01-rfc5965-b1-minimal-abuse.eml").read_bytes())


def stored_reports(engine: Engine) -> list[RawReport]:
    with Session(engine) as session:
        return list(session.execute(select(RawReport).order_by(RawReport.id)).scalars())


def test_report_is_stored_before_250(settings: Settings, engine: Engine) -> None:
    with RunningService(settings, engine, Roles(worker=False)) as service:
        with smtplib.SMTP(*service.smtp_address, timeout=10) as client:
            client.ehlo("mx.provider.example")
            client.mail("fbl@provider.example")
            code, _ = client.rcpt("FBL@abusedesk.example")
            assert code == 250
            code, message = client.data(REPORT)
    assert code == 250 and message.startswith(b"2.0.0 Stored as report")
    [stored] = stored_reports(engine)
    assert stored.raw.rstrip(b"\r\n") == REPORT.rstrip(b"\r\n")
    assert stored.source == "smtp" and stored.status == "pending"
    assert stored.peer == "127.0.0.1" and stored.trusted  # 127.0.0.0/8 is a provider in the demo
    assert stored.envelope == {
        "helo": "mx.provider.example",
        "mail_from": "fbl@provider.example",
        "rcpt_to": ["FBL@abusedesk.example"],
        "tls": False,
    }
    assert f"Stored as report {stored.id}".encode() in message


def test_other_recipients_are_refused(settings: Settings, engine: Engine) -> None:
    with RunningService(settings, engine, Roles(worker=False)) as service:
        with smtplib.SMTP(*service.smtp_address, timeout=10) as client:
            client.ehlo("x")
            client.mail("a@b.example")
            code, message = client.rcpt("postmaster@abusedesk.example")
            assert code == 550 and message.startswith(b"5.1.1")
            assert client.rcpt("anything@fbl.abusedesk.example")[0] == 250  # a whole domain


def test_size_limit_is_announced_and_enforced(settings: Settings, engine: Engine) -> None:
    small = settings.model_copy(
        update={"smtp": settings.smtp.model_copy(update={"max_message_size": 2000})}
    )
    with RunningService(small, engine, Roles(worker=False)) as service:
        with smtplib.SMTP(*service.smtp_address, timeout=10) as client:
            client.ehlo("x")
            assert client.esmtp_features["size"] == "2000"
            with pytest.raises(smtplib.SMTPSenderRefused) as refused:
                client.sendmail(
                    "a@b.example", ["fbl@abusedesk.example"], b"Subject: x\r\n\r\n" + b"y" * 5000
                )
    assert refused.value.smtp_code == 552
    assert stored_reports(engine) == []


def test_storage_failure_answers_451_and_stores_nothing(settings: Settings, engine: Engine) -> None:
    with RunningService(settings, engine, Roles(worker=False)) as service:
        with engine.begin() as connection:
            connection.execute(text("ALTER TABLE rawreport RENAME TO rawreport_away"))
        try:
            with smtplib.SMTP(*service.smtp_address, timeout=10) as client:
                client.ehlo("x")
                client.mail("a@b.example")
                client.rcpt("fbl@abusedesk.example")
                code, message = client.data(REPORT)
            assert code == 451 and message.startswith(b"4.3.0")
        finally:
            with engine.begin() as connection:
                connection.execute(text("ALTER TABLE rawreport_away RENAME TO rawreport"))
        assert stored_reports(engine) == []
        with smtplib.SMTP(*service.smtp_address, timeout=10) as client:  # recovers by itself
            client.sendmail("a@b.example", ["fbl@abusedesk.example"], REPORT)
    assert len(stored_reports(engine)) == 1


def test_lines_longer_than_rfc5321_are_accepted(settings: Settings, engine: Engine) -> None:
    long_line = b"Subject: x\r\n\r\n" + b'{"complaint": "' + b"y" * 5000 + b'"}\r\n'
    with RunningService(settings, engine, Roles(worker=False)) as service:
        with smtplib.SMTP(*service.smtp_address, timeout=10) as client:
            client.sendmail("a@b.example", ["fbl@abusedesk.example"], long_line)
    [stored] = stored_reports(engine)
    assert stored.raw.rstrip(b"\r\n") == long_line.rstrip(b"\r\n")
