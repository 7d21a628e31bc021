"""The rules file is replaced with garbage while reports stream in: the garbage is rejected,
the last good rules keep deciding, `rules status` shows the rejection, and a good file
written afterwards is picked up.
"""

from __future__ import annotations

import hashlib
import smtplib
import threading
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlmodel import Session, col

from abusedesk.config import Settings
from abusedesk.decide.reload import read_status
from abusedesk.service import Roles
from abusedesk.store.tables import Decision, RawReport
from tests.conftest import DEFAULT_RULES, RunningService, crlf, run_cli
from tests.faults.conftest import Address, on_sqlite, wait_for
from tests.support.reports import numbered_report

GARBAGE = b"\x00\xffrules: [[{ when: counters.\n\tthen: - - -\n" + bytes(range(256)) * 4
SENDERS = ("alice@shop.example", "bob@shop.example", "info@hikers.example")


class Load(threading.Thread):
    """Sends reports over one SMTP session after another until stopped; keeps every reply."""

    def __init__(self, address: Address) -> None:
        super().__init__(daemon=True)
        self.address = address
        self.stop = threading.Event()
        self.replies: list[int] = []

    def run(self) -> None:
        number = 0
        while not self.stop.is_set():
            with smtplib.SMTP(*self.address, timeout=30) as client:
                for _ in range(10):
                    number += 1
                    raw = crlf(numbered_report(number, SENDERS[number % len(SENDERS)]))
                    client.ehlo_or_helo_if_needed()
                    client.mail("fbl@provider.example")
                    client.rcpt("fbl@abusedesk.example")
                    self.replies.append(client.data(raw)[0])


def decisions(engine: Engine) -> list[tuple[int, str]]:
    with Session(engine) as session:
        rows = session.execute(select(Decision.id, Decision.rules_hash).order_by(col(Decision.id)))
        return [(int(i), str(h)) for i, h in rows]


def pending(engine: Engine) -> int:
    with Session(engine) as session:
        query = select(func.count()).where(col(RawReport.status) == "pending")
        return int(session.execute(query).scalar_one())


@pytest.mark.slow
@on_sqlite
def test_garbage_rules_under_load_are_rejected_and_a_good_file_is_picked_up(
    settings: Settings, directory_engine: Engine, tmp_path: Path
) -> None:
    rules = tmp_path / "rules.yaml"
    text = (DEFAULT_RULES).read_text()
    rules.write_text(text)
    good = hashlib.sha256(rules.read_bytes()).hexdigest()
    configured = settings.model_copy(
        update={"rules": settings.rules.model_copy(update={"path": rules})}
    )
    with RunningService(configured, directory_engine, Roles(web=False, imap=False)) as service:
        load = Load(service.smtp_address)
        load.start()
        try:
            wait_for(lambda: len(decisions(directory_engine)) >= 20, 30, "decisions under load")
            rules.write_bytes(GARBAGE)
            garbage = hashlib.sha256(GARBAGE).hexdigest()

            def rejected() -> bool:
                status = read_status(settings.data_dir)
                return status is not None and status.rejected_sha256 == garbage

            wait_for(rejected, 10, "the garbage to be rejected")
            seen = len(decisions(directory_engine))
            wait_for(lambda: len(decisions(directory_engine)) > seen + 20, 30, "more decisions")
            assert {h for _, h in decisions(directory_engine)} == {good}

            env = {
                "ABUSEDESK_DATA_DIR": str(settings.data_dir),
                "ABUSEDESK_RULES__PATH": str(rules),
            }
            shown = run_cli("rules", "status", cwd=tmp_path, env=env)
            assert shown.returncode == 0, shown.stderr
            assert f"sha256 {good[:12]}" in shown.stdout.splitlines()[0]
            assert f"rejected: sha256 {garbage[:12]}" in shown.stdout
            assert "does not check" in shown.stdout

            rules.write_text(text.replace("complaint_limit: 5", "complaint_limit: 7"))
            newer = hashlib.sha256(rules.read_bytes()).hexdigest()
            wait_for(
                lambda: any(h == newer for _, h in decisions(directory_engine)),
                15,
                "decisions by the good file written afterwards",
            )
        finally:
            load.stop.set()
            load.join(30)
        wait_for(lambda: pending(directory_engine) == 0, 30, "the worker to catch up")
    status = read_status(settings.data_dir)
    assert status is not None and status.active_sha256 == newer
    hashes = [h for _, h in decisions(directory_engine)]
    assert set(hashes) == {good, newer}
    switched = hashes.index(newer)
    assert hashes[switched:] == [newer] * (len(hashes) - switched), "old rules came back"
    assert load.replies and set(load.replies) == {250}
