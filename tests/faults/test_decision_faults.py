"""A fault while deciding never loses the complaint: it is kept, the report is not
quarantined, the decision is retried, and one that keeps failing is shown as failed.

The fault is a real one: the database refuses every new decision row (a trigger), as
a full disk or a broken rules action would make deciding fail half-way.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, select, text
from sqlmodel import Session, col

from abusedesk.config import Settings
from abusedesk.decide.engine import PolicyEngine
from abusedesk.decide.loader import load_rules
from abusedesk.ingest.spool import IncomingReport, store_reports
from abusedesk.metrics import Metrics
from abusedesk.pipeline.decision_retry import retry_failed_decisions
from abusedesk.pipeline.worker import ReportWorker
from abusedesk.record.decision_failures import MAX_DECISION_ATTEMPTS, failed_decisions
from abusedesk.store.tables import Complaint, Decision, Mailbox, RawReport
from abusedesk.store.types import ReportSource
from tests.conftest import run_cli
from tests.decide.conftest import DEFAULT_RULES
from tests.support.reports import numbered_report

ALICE = "alice@shop.example"


def refuse_decisions(engine: Engine) -> None:
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(
                text(
                    "CREATE FUNCTION refuse_decision() RETURNS trigger LANGUAGE plpgsql AS "
                    "$$ BEGIN RAISE EXCEPTION 'no space left for decisions'; END $$"
                )
            )
            connection.execute(
                text(
                    "CREATE TRIGGER refuse_decision BEFORE INSERT ON decision "
                    "FOR EACH ROW EXECUTE FUNCTION refuse_decision()"
                )
            )
        else:
            connection.execute(
                text(
                    "CREATE TRIGGER refuse_decision BEFORE INSERT ON decision BEGIN "
                    "SELECT RAISE(ABORT, 'no space left for decisions'); END"
                )
            )


def accept_decisions(engine: Engine) -> None:
    with engine.begin() as connection:
        suffix = " ON decision" if engine.dialect.name == "postgresql" else ""
        connection.execute(text(f"DROP TRIGGER refuse_decision{suffix}"))


@pytest.fixture
def policy() -> PolicyEngine:
    return PolicyEngine(load_rules(DEFAULT_RULES))


@pytest.fixture
def six_reports(directory_engine: Engine) -> Iterator[list[int]]:
    incoming = [
        IncomingReport(numbered_report(n), ReportSource.FILE, True, "test") for n in range(1, 7)
    ]
    yield store_reports(directory_engine, incoming)


def can_send(engine: Engine) -> bool:
    with Session(engine) as session:
        return bool(
            session.execute(
                select(col(Mailbox.can_send)).where(col(Mailbox.address) == ALICE)
            ).scalar_one()
        )


def test_a_failing_decision_keeps_the_complaint_and_is_retried(
    directory_engine: Engine, settings: Settings, policy: PolicyEngine, six_reports: list[int]
) -> None:
    metrics = Metrics()
    refuse_decisions(directory_engine)
    worker = ReportWorker(directory_engine, settings, policy=policy, metrics=metrics)

    worker.run_until_idle()

    with Session(directory_engine) as session:
        reports = session.execute(select(RawReport).order_by(col(RawReport.id))).scalars().all()
        complaints = session.execute(select(Complaint)).scalars().all()
        assert session.execute(select(Decision)).first() is None
    assert [report.status for report in reports] == ["processed"] * 6
    assert all("deciding failed and will be retried" in (r.reason or "") for r in reports)
    assert len(complaints) == 6
    assert {c.decision_attempts for c in complaints} == {1}
    assert all("no space left for decisions" in (c.decision_error or "") for c in complaints)
    assert metrics.decisions_failed._value.get() == 6
    assert can_send(directory_engine)

    # The fault goes away: the retry decides every complaint, in order, and the sixth suspends.
    accept_decisions(directory_engine)
    assert retry_failed_decisions(directory_engine, policy) == 6

    assert not can_send(directory_engine)
    with Session(directory_engine) as session:
        assert failed_decisions(session) == (0, 0)
        errors = session.execute(select(col(Complaint.decision_error))).scalars().all()
    assert errors == [None] * 6


def test_a_decision_that_keeps_failing_is_shown_as_failed(
    directory_engine: Engine,
    settings: Settings,
    policy: PolicyEngine,
    six_reports: list[int],
    database_url: str,
) -> None:
    refuse_decisions(directory_engine)
    ReportWorker(directory_engine, settings, policy=policy).run_until_idle()
    for _ in range(MAX_DECISION_ATTEMPTS):
        assert retry_failed_decisions(directory_engine, policy) == 0

    with Session(directory_engine) as session:
        assert failed_decisions(session) == (0, 6)
    doctor = run_cli("doctor", database_url=database_url)
    assert doctor.returncode != 0
    assert (
        f"problem: 6 complaint(s) whose decision failed {MAX_DECISION_ATTEMPTS} times"
        in doctor.stdout
    )
    # Failed for good is not retried again by itself.
    accept_decisions(directory_engine)
    assert retry_failed_decisions(directory_engine, policy) == 0
