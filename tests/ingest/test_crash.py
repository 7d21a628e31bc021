"""Crash test: kill -9 the server mid-stream; every report that got 250 is processed exactly once.

2,000 distinct reports go over SMTP from several concurrent clients to a real
`abusedesk serve` process. It is killed with SIGKILL part way through and started
again. Clients resend every report that did not get its 250 (including the one in
flight when the server died); those that had in fact been stored are deduplicated.
"""

from __future__ import annotations

import smtplib
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlmodel import Session
from tests.conftest import crlf
from tests.support.reports import numbered_report
from tests.support.service_process import ServiceProcess

from abusedesk.pipeline.claims import pending_count
from abusedesk.store.engine import create_database_engine
from abusedesk.store.tables import Complaint, RawReport

REPORTS = 2000
CLIENTS = 8
KILL_AFTER = 600


@pytest.mark.slow
def test_kill_9_mid_stream_loses_nothing_and_counts_once(database_url: str, tmp_path: Path) -> None:
    server = ServiceProcess(database_url, tmp_path)
    server.start()
    acked: dict[int, int] = {}  # report number -> the report id from its 250
    unacked: list[int] = list(range(REPORTS))
    lock = threading.Lock()
    killed = threading.Event()

    def client(numbers: list[int]) -> None:
        pending = list(numbers)
        while pending:
            try:
                with smtplib.SMTP("127.0.0.1", server.port, timeout=20) as smtp:
                    smtp.ehlo("mx.provider.example")
                    while pending:
                        number = pending[0]
                        smtp.mail("fbl@provider.example")
                        smtp.rcpt("fbl@abusedesk.example")
                        code, message = smtp.data(crlf(numbered_report(number)))
                        if code == 250:
                            with lock:
                                acked[number] = int(message.split()[-1])
                            pending.pop(0)
            except (OSError, smtplib.SMTPException):
                time.sleep(0.2)  # the server is gone: try again when it is back

    def killer() -> None:
        while len(acked) < KILL_AFTER:
            time.sleep(0.01)
        server.kill()
        killed.set()
        time.sleep(0.5)
        server.start()

    threads = [threading.Thread(target=client, args=(unacked[i::CLIENTS],)) for i in range(CLIENTS)]
    kill_thread = threading.Thread(target=killer)
    for thread in [*threads, kill_thread]:
        thread.start()
    for thread in [*threads, kill_thread]:
        thread.join(240)
    try:
        assert killed.is_set(), "the server was never killed"
        assert len(acked) == REPORTS
        engine = create_database_engine(database_url)
        deadline = time.monotonic() + 120
        while pending_count(engine) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert pending_count(engine) == 0
        with Session(engine) as session:
            stored_ids = set(session.execute(select(RawReport.id)).scalars())
            complaints = session.execute(select(func.count()).select_from(Complaint)).scalar_one()
            distinct_keys = session.execute(
                select(func.count(func.distinct(Complaint.dedupe_key)))
            ).scalar_one()
            statuses = dict(
                session.execute(
                    select(RawReport.status, func.count()).group_by(RawReport.status)
                ).all()
            )
        engine.dispose()
    finally:
        server.stop()
    assert set(acked.values()) <= stored_ids, "a report that got 250 is missing"
    assert complaints == distinct_keys == REPORTS, "a report was lost or counted twice"
    assert statuses.get("pending", 0) == 0
    assert sum(statuses.values()) >= REPORTS
