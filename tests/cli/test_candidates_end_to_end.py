"""End to end through SMTP: an outsider's six forged reports charge nobody; staff may charge one.

The attack (issue 14): an outsider sends himself six messages whose pre-written
hops claim our relay handed them over with `(Authenticated sender: alice@…)`,
and clicks "spam". The provider's reports are genuine and trusted, but its
Source-IP and its own hop say the outsider's server delivered them. The real
listener and worker of `abusedesk serve` take them in; alice keeps sending, no
notice goes out, and staff find six candidates for review. One charged by hand
counts, and the audit trail says who charged it and why.
"""

from __future__ import annotations

import json
import smtplib
import time

from sqlalchemy import Engine, func, select
from sqlmodel import Session, col
from tests.conftest import DEFAULT_RULES, DEMO, RunningService, crlf, run_cli
from tests.notify.conftest import notice_settings, wait_for, with_notices
from tests.support.reports import ATTACKER_IP, outsider_forgery
from tests.support.smtp_sink import SmtpSink

from abusedesk.access import Role
from abusedesk.access.users import add_user
from abusedesk.config import Settings
from abusedesk.service import Roles
from abusedesk.store.tables import Complaint, Mailbox, Notice, RawReport, Suspension

ALICE = "alice@shop.example"
ENV = {"ABUSEDESK_RULES__PATH": str(DEFAULT_RULES)}
CONFIG = str(DEMO / "abusedesk.toml")
NOTE = "Acme confirmed alice sent this one from the web shop"


def cli(database_url: str, *args: str) -> tuple[int, str, str]:
    done = run_cli("--config", CONFIG, *args, database_url=database_url, env=ENV)
    return done.returncode, done.stdout, done.stderr


def alice(engine: Engine) -> tuple[bool, int, int]:
    """Whether alice may send, her charged complaints, her suspensions."""
    with Session(engine) as session:
        mailbox = session.execute(select(Mailbox).where(col(Mailbox.address) == ALICE)).scalar_one()
        charged = session.execute(
            select(func.count()).where(col(Complaint.mailbox_id) == mailbox.id)
        ).scalar_one()
        suspensions = session.execute(
            select(func.count()).where(col(Suspension.mailbox_id) == mailbox.id)
        ).scalar_one()
    return mailbox.can_send, int(charged), int(suspensions)


def test_six_forged_reports_charge_nobody_and_staff_charge_one_by_hand(
    settings: Settings, directory_engine: Engine, database_url: str
) -> None:
    engine = directory_engine

    def settled() -> bool:
        with Session(engine) as session:
            statuses = session.execute(select(col(RawReport.status))).scalars().all()
        return len(statuses) == 6 and "pending" not in statuses

    with SmtpSink() as sink:
        configured = with_notices(settings, notice_settings(sink.port))
        with RunningService(configured, engine, Roles(web=False, imap=False)) as service:
            with smtplib.SMTP(*service.smtp_address, timeout=10) as client:
                for number in range(1, 7):
                    client.sendmail(
                        "fbl@arf.mail.yahoo.example",
                        ["fbl@abusedesk.example"],
                        crlf(outsider_forgery(number, ALICE)),
                    )
            wait_for(settled)
            time.sleep(0.5)  # a few delivery rounds of the outbox: nothing is sent
        assert sink.received == []
    assert alice(engine) == (True, 0, 0)
    with Session(engine) as session:
        assert session.execute(select(func.count()).select_from(Notice)).scalar_one() == 0
        reports = session.execute(select(RawReport).order_by(col(RawReport.id))).scalars().all()
        assert {(r.status, r.trusted) for r in reports} == {("quarantined", True)}
        add_user(session, "sam", Role.STAFF)
        add_user(session, "ann", Role.COMPANY_ADMIN, company="Acme Hosting Resellers")
        session.commit()
        report_ids = [r.id for r in reports]

    code, out, error = cli(database_url, "candidates", "list", "--json")
    assert code == 0, error
    listed = json.loads(out)
    assert [row["report_id"] for row in listed] == report_ids[::-1]
    for row in listed:
        assert row["candidate"]["mailbox"] == ALICE and row["candidate"]["hosted"] is True
        assert row["candidate"]["evidence"] and row["charged_to"] is None
        assert ATTACKER_IP in row["unattributed_reason"]  # why: the provider got it from him
        assert (row["trusted"], row["source_ip"]) == (True, ATTACKER_IP)

    first = report_ids[0]
    code, _, error = cli(
        database_url, "candidates", "charge", str(first), "--as", "ann", "--note", "x"
    )
    assert (code, error) == (
        1,
        "abusedesk: only platform staff may charge a candidate by hand: ann is a company-admin\n",
    )
    code, out, error = cli(
        database_url, "candidates", "charge", str(first), "--as", "sam", "--note", NOTE
    )
    assert code == 0, error
    assert out == f"report {first}: charged by hand to {ALICE} by sam\n"
    assert alice(engine) == (True, 1, 0)  # it counts now, one of six: far from the limit

    code, out, error = cli(database_url, "audit", "list", "--target", ALICE, "--json")
    assert code == 0, error
    [entry] = json.loads(out)
    assert (entry["actor"], entry["action"], entry["origin"], entry["note"]) == (
        "sam",
        "complaint.charge",
        "cli",
        NOTE,
    )
    assert (entry["detail"]["report_id"], entry["detail"]["candidate"]) == (first, ALICE)
    code, out, _ = cli(database_url, "candidates", "list", "--json")
    assert [row["report_id"] for row in json.loads(out)] == report_ids[:0:-1]
