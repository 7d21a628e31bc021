"""Dovecot drops the connection in the middle of a FETCH: the poller reconnects by itself,
and every report is stored exactly once and moved out of the inbox — none lost, none twice,
none half-stored.

A real Dovecot serves the mailbox; between it and the poller sits a proxy that
cuts the connection while message bodies are being sent.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, select
from sqlmodel import Session, col

from abusedesk.config import ImapSettings, Settings
from abusedesk.service import Roles
from abusedesk.store.tables import RawReport
from tests.conftest import CORPUS, RunningService
from tests.dovecot import Dovecot, running_dovecot
from tests.faults.conftest import wait_for
from tests.faults.fetch_cutter import FetchCutter

REPORTS = [
    (CORPUS / name).read_bytes()
    for name in (
        "01-rfc5965-b1-minimal-abuse.eml",
        "02-rfc5965-b2-extended-abuse.eml",
        "07-aol-scomp-2007-redacted-sender.eml",
    )
]
CUTS = 2


@pytest.fixture(scope="module")
def dovecot_server() -> Iterator[Dovecot]:
    with running_dovecot() as server:
        yield server


def imap_crlf(raw: bytes) -> bytes:
    return re.sub(rb"\r?\n", b"\r\n", raw)


def stored(engine: Engine) -> list[bytes]:
    with Session(engine) as session:
        return list(session.execute(select(RawReport.raw).order_by(col(RawReport.id))).scalars())


@pytest.mark.slow
def test_a_connection_dropped_mid_fetch_loses_nothing_and_stores_nothing_twice(
    settings: Settings, engine: Engine, dovecot_server: Dovecot
) -> None:
    mailbox = dovecot_server.add_user()
    for raw in REPORTS:
        mailbox.append(raw)
    cutter = FetchCutter(dovecot_server.port, cuts=CUTS)
    account = mailbox.account(port=cutter.port)
    configured = settings.model_copy(update={"imap": ImapSettings(accounts=[account])})
    try:
        with RunningService(configured, engine, Roles(smtp=False, worker=False, web=False)):
            wait_for(lambda: len(stored(engine)) == len(REPORTS), 30, "every report stored")
            wait_for(lambda: not mailbox.messages("INBOX"), 10, "the inbox to be emptied")
            # One more report after the cuts: the poller is still alive and polling.
            mailbox.append(REPORTS[0].replace(b"Subject:", b"Subject: again", 1))
            wait_for(lambda: len(stored(engine)) == len(REPORTS) + 1, 30, "a later report")
    finally:
        cutter.close()
    assert cutter.cut == CUTS, "the proxy did not cut the FETCH: the test proved nothing"
    bodies = stored(engine)
    assert sorted(bodies[: len(REPORTS)]) == sorted(imap_crlf(raw) for raw in REPORTS)
    assert len(set(bodies)) == len(bodies)
    assert mailbox.messages("INBOX") == []
    assert len(mailbox.messages("Processed")) == len(REPORTS) + 1
