"""PostgreSQL restarts while reports stream in over SMTP and are processed.

The real server is restarted (`pg_ctlcluster … restart`), once, while a sender
keeps delivering: what the listener answered 250 for is never lost, every
report is charged exactly once (however often its sender had to retry), and
the service recovers by itself. The restart is brief but shared with every other
test run on this machine, so there is one, and the server is up again at the end
whatever happened.
"""

from __future__ import annotations

import smtplib
import subprocess
import threading
import time
from hashlib import sha256
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlmodel import Session, col

from abusedesk.config import Settings
from abusedesk.pipeline.claims import pending_count
from abusedesk.service import Roles
from abusedesk.store.tables import Complaint, Decision, RawReport
from tests.conftest import REPO, RunningService, crlf
from tests.faults.conftest import Address, on_postgresql, wait_for
from tests.support.reports import numbered_report

REPORTS = 240
RESTART_AFTER = 60
SENDERS = ("alice@shop.example", "bob@shop.example", "orders@bakery.example")


def report(number: int) -> bytes:
    return crlf(numbered_report(number, SENDERS[number % len(SENDERS)]))


def restart_postgresql() -> None:
    [version] = sorted(p.name for p in Path("/etc/postgresql").iterdir())[-1:]
    subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "restart"],
        check=True,
        capture_output=True,
        timeout=60,
    )


def ensure_postgresql_is_up() -> None:
    for _ in range(60):
        if subprocess.run(["pg_isready", "-q", "-h", "127.0.0.1", "-p", "5432"]).returncode == 0:
            return
        time.sleep(0.5)
    subprocess.run([str(REPO / "scripts" / "start-services")], check=True, timeout=120)


class Sender(threading.Thread):
    """Delivers reports 1..REPORTS in order, each until it is answered 250, like an MTA."""

    def __init__(self, address: Address) -> None:
        super().__init__(daemon=True)
        self.address = address
        self.accepted = 0
        self.refusals: list[str] = []

    def run(self) -> None:
        for number in range(1, REPORTS + 1):
            raw = report(number)
            while not self._deliver(raw):
                time.sleep(0.2)
            self.accepted += 1

    def _deliver(self, raw: bytes) -> bool:
        try:
            with smtplib.SMTP(*self.address, timeout=30) as client:
                client.sendmail("fbl@provider.example", ["fbl@abusedesk.example"], raw)
            return True
        except (OSError, smtplib.SMTPException) as exc:
            self.refusals.append(f"{type(exc).__name__}: {exc}")
            return False


@pytest.mark.slow
@on_postgresql
def test_reports_survive_a_postgresql_restart_and_are_processed_exactly_once(
    settings: Settings, directory_engine: Engine
) -> None:
    try:
        with RunningService(settings, directory_engine, Roles(web=False, imap=False)) as service:
            sender = Sender(service.smtp_address)
            sender.start()
            wait_for(lambda: sender.accepted >= RESTART_AFTER, 60, "reports before the restart")
            restart_postgresql()
            sender.join(120)
            assert not sender.is_alive(), f"the sender is stuck at {sender.accepted}"
            # Reports claimed by a batch that the restart broke wait for their lease (30 s).
            took = wait_for(lambda: pending_count(directory_engine) == 0, 90, "processing")
            print(f"processing caught up {took:.1f}s after the last 250")
    finally:
        ensure_postgresql_is_up()
    assert sender.refusals, "the restart was never felt by the sender: the test proved nothing"
    with Session(directory_engine) as session:
        raws = list(session.execute(select(RawReport)).scalars())
        complaints = list(session.execute(select(Complaint)).scalars())
        decided = session.execute(
            select(Decision.complaint_id, func.count())
            .where(col(Decision.event) == "complaint")
            .group_by(col(Decision.complaint_id))
        ).all()
    # Nothing accepted was lost: every report is there (a retried one may be there twice,
    # when its commit landed but the 250 did not), and none is left unprocessed.
    assert {r.sha256 for r in raws} == {
        sha256(report(n)).hexdigest() for n in range(1, REPORTS + 1)
    }
    assert all(r.status != "pending" for r in raws)
    # Exactly once: one complaint per report, one decision per complaint.
    assert sorted(c.original_message_id or "" for c in complaints) == sorted(
        f"offer-{n}@shop.example" for n in range(1, REPORTS + 1)
    )
    assert all(c.mailbox_id is not None for c in complaints)
    assert len(decided) == REPORTS and all(count == 1 for _, count in decided)
