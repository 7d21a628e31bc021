"""Per-peer limits: unit behaviour with a controlled clock, and 421/451 from the real listener."""

from __future__ import annotations

import smtplib
import socket

from sqlalchemy import Engine
from tests.conftest import CORPUS, RunningService, crlf

from abusedesk.config import Settings
from abusedesk.ingest.peer_limits import PeerLimits
from abusedesk.service import Roles

REPORT = crlf((CORPUS / "01-rfc5965-b1-minimal-abuse.eml").read_bytes())


def test_message_rate_window_slides() -> None:
    now = [0.0]
    limits = PeerLimits(max_connections=2, max_messages_per_minute=3, clock=lambda: now[0])
    assert [limits.allow_message("a") for _ in range(4)] == [True, True, True, False]
    assert limits.allow_message("b")  # other peers are not affected
    now[0] = 61.0
    assert limits.allow_message("a")


def test_connection_limit_counts_open_connections() -> None:
    limits = PeerLimits(max_connections=2, max_messages_per_minute=10)
    assert limits.open_connection("a") and limits.open_connection("a")
    assert not limits.open_connection("a")
    limits.close_connection("a")
    assert limits.open_connection("a")


def limited(settings: Settings, **smtp: int) -> Settings:
    return settings.model_copy(update={"smtp": settings.smtp.model_copy(update=smtp)})


def test_too_many_connections_get_421(settings: Settings, engine: Engine) -> None:
    with RunningService(
        limited(settings, max_connections_per_peer=2), engine, Roles(worker=False, web=False)
    ) as service:
        first = smtplib.SMTP(*service.smtp_address, timeout=10)
        second = smtplib.SMTP(*service.smtp_address, timeout=10)
        with socket.create_connection(service.smtp_address, timeout=10) as third:
            assert third.recv(1024).startswith(b"421 4.7.0")
        first.quit()
        with smtplib.SMTP(*service.smtp_address, timeout=10) as again:  # a slot is free again
            assert again.noop()[0] == 250
        second.quit()


def test_too_many_messages_get_451(settings: Settings, engine: Engine) -> None:
    with (
        RunningService(
            limited(settings, max_messages_per_peer_per_minute=3),
            engine,
            Roles(worker=False, web=False),
        ) as service,
        smtplib.SMTP(*service.smtp_address, timeout=10) as client,
    ):
        client.ehlo("mx.provider.example")
        codes = []
        for _ in range(4):
            client.mail("fbl@provider.example")
            client.rcpt("fbl@abusedesk.example")
            codes.append(client.data(REPORT)[0])
    assert codes == [250, 250, 250, 451]
