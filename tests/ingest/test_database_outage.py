"""PostgreSQL goes away under the listener: 451 while it is gone, nothing lost, recovery by itself.

The outage is real at the network level: the listener reaches PostgreSQL through a
loopback proxy that the test cuts (every connection dropped, new ones refused).
"""

from __future__ import annotations

import smtplib
import time

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.engine import make_url
from sqlmodel import Session
from tests.conftest import CORPUS, RunningService, crlf
from tests.support.tcp_proxy import CuttableProxy

from abusedesk.config import Settings
from abusedesk.service import Roles
from abusedesk.store.engine import create_database_engine
from abusedesk.store.tables import RawReport

REPORT = crlf((CORPUS / "02-rfc5965-b2-extended-abuse.eml").read_bytes())


def send(address: tuple[str, int]) -> tuple[int, bytes]:
    with smtplib.SMTP(*address, timeout=30) as client:
        client.ehlo("mx.provider.example")
        client.mail("fbl@provider.example")
        client.rcpt("fbl@abusedesk.example")
        return client.data(REPORT)


def test_listener_answers_451_while_postgresql_is_away(
    settings: Settings, engine: Engine, database_url: str
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("a network outage needs a database behind the network")
    url = make_url(database_url)
    proxy = CuttableProxy(url.host or "127.0.0.1", url.port or 5432)
    proxied_url = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    proxied = create_database_engine(proxied_url + "&connect_timeout=3")
    try:
        with RunningService(settings, proxied, Roles(worker=False, web=False)) as service:
            assert send(service.smtp_address)[0] == 250
            proxy.cut()
            code, message = send(service.smtp_address)
            assert code == 451 and message.startswith(b"4.3.0")
            proxy.restore()
            deadline = time.monotonic() + 30
            while (result := send(service.smtp_address))[0] != 250:
                assert time.monotonic() < deadline, result
                time.sleep(0.5)
    finally:
        proxied.dispose()
        proxy.close()
    with Session(engine) as session:
        stored = session.execute(select(func.count()).select_from(RawReport)).scalar_one()
    assert stored == 2  # the 250s; the 451 stored nothing
