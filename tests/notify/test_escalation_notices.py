"""Notices queued with their decision: AUP notices per suspension, escalation notices once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, select
from sqlmodel import Session, col

from abusedesk.access import Role
from abusedesk.access.scope import load_actor
from abusedesk.access.users import add_user
from abusedesk.act.lifecycle import lift_suspension
from abusedesk.decide.decide import decide_after_complaint
from abusedesk.decide.engine import PolicyEngine
from abusedesk.decide.loader import load_rules
from abusedesk.notify.compose import NoticeComposer
from abusedesk.notify.samples import representative
from abusedesk.store.tables import Complaint, Decision, Mailbox, Notice
from abusedesk.store.types import utcnow
from tests.decide.conftest import DEFAULT_RULES, add_complaint, mailbox_id
from tests.notify.conftest import PLATFORM, notice_settings


@pytest.fixture
def policy() -> PolicyEngine:
    return PolicyEngine(
        load_rules(DEFAULT_RULES), NoticeComposer.from_settings(notice_settings(25))
    )


def suspend(engine: Engine, policy: PolicyEngine, address: str, day: int) -> None:
    start = utcnow() - timedelta(days=20) + timedelta(days=day)
    with Session(engine) as session:
        for minute in range(6):
            complaint = add_complaint(
                session, mailbox_id(engine, address), start + timedelta(minutes=minute)
            )
            assert complaint.id is not None
            decide_after_complaint(session, complaint.id, policy)
        session.commit()


def lift(engine: Engine, policy: PolicyEngine, address: str) -> None:
    with Session(engine) as session:
        actor = load_actor(session, "sam", "cli")
        lift_suspension(session, actor, address, "lifted", "one more chance", policy=policy)
        session.commit()


def notices(engine: Engine) -> list[Notice]:
    with Session(engine) as session:
        return list(session.execute(select(Notice).order_by(col(Notice.id))).scalars())


def test_repeated_suspensions_notify_the_contact_and_the_platform_once(
    directory_engine: Engine, policy: PolicyEngine
) -> None:
    with Session(directory_engine) as session:
        add_user(session, "sam", Role.STAFF)
        session.commit()
    for day in (0, 3):
        suspend(directory_engine, policy, "alice@shop.example", day)
        lift(directory_engine, policy, "alice@shop.example")
    suspend(directory_engine, policy, "alice@shop.example", 6)
    queued = notices(directory_engine)
    assert [(n.template, n.recipient, n.fallback) for n in queued] == [
        ("aup-notice", "abuse@acme-resellers.example", False),
        ("aup-notice", "abuse@acme-resellers.example", False),
        ("aup-notice", "abuse@acme-resellers.example", False),
        ("escalation-notice", "abuse@acme-resellers.example", False),
        ("escalation-notice", PLATFORM, False),
    ]
    escalation = queued[3]
    assert escalation.subject == "Escalation: repeated-suspensions (alice@shop.example)"
    assert "What we saw: 3 within 30 days (suspensions_30d)." in escalation.body_text
    evidence = [line for line in escalation.body_text.splitlines() if line.startswith("- ")]
    assert len(evidence) == 3
    assert "alice@shop.example suspended by rule soft-suspend; still suspended" in evidence[0]
    assert "lifted (lifted) by sam" in evidence[1] and "lifted (lifted) by sam" in evidence[2]
    assert queued[4].body_text == escalation.body_text  # the same evidence for the platform

    # A fourth suspension: the escalation is still open, so no second escalation notice.
    lift(directory_engine, policy, "alice@shop.example")
    suspend(directory_engine, policy, "alice@shop.example", 9)
    again = notices(directory_engine)
    assert [n.template for n in again[5:]] == ["aup-notice"]
    with Session(directory_engine) as session:
        suspension_decisions = (
            session.execute(
                select(Decision).where(col(Decision.event) == "suspension").order_by(Decision.id)
            )
            .scalars()
            .all()
        )
    statuses = [a["status"] for a in suspension_decisions[-1].actions]
    assert statuses[0].startswith("skipped: escalation")
    assert statuses[1:] == [
        f"skipped: no new escalation ({statuses[0]})",
        f"skipped: no new escalation ({statuses[0]})",
    ]


def test_samples_are_representative_distinct_subjects_first() -> None:
    start = utcnow()
    subjects = ["A", "a ", "B", "A", "C", "A", "B", "D"]
    complaints = [
        Complaint(
            id=i + 1,
            raw_report_id=i + 1,
            dedupe_key=str(i),
            kind="complaint",
            format="arf",
            occurred_at=start + timedelta(minutes=i),
            original_subject=subject,
        )
        for i, subject in enumerate(subjects)
    ]
    # Groups: A (1, 2, 4, 6), B (3, 7), C (5), D (8): one of each, biggest first, then again.
    assert [c.id for c in representative(complaints, 3)] == [1, 3, 5]
    assert [c.id for c in representative(complaints, 5)] == [1, 2, 3, 5, 8]
    assert [c.id for c in representative(complaints, 20)] == list(range(1, 9))
    assert representative(complaints, 0) == []


def test_fraudulent_signups_notify_with_the_complaints_as_evidence(
    directory_engine: Engine, policy: PolicyEngine
) -> None:
    with Session(directory_engine) as session:
        promo1 = session.execute(
            select(Mailbox).where(col(Mailbox.address) == "promo1@freshsignup.example")
        ).scalar_one()
        session.add(
            Mailbox(
                address="promo3@freshsignup.example",
                domain_id=promo1.domain_id,
                created_at=datetime(2026, 11, 25, 10, 5, tzinfo=UTC),
            )
        )
        session.commit()
    first = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
    with Session(directory_engine) as session:
        for n in (1, 2, 3):
            address = f"promo{n}@freshsignup.example"
            complaint = add_complaint(
                session, mailbox_id(directory_engine, address), first + timedelta(minutes=n)
            )
            assert complaint.id is not None
            decide_after_complaint(session, complaint.id, policy)
        session.commit()
    queued = notices(directory_engine)
    assert [(n.template, n.recipient) for n in queued] == [
        ("escalation-notice", "abuse@bluemountain.example"),
        ("escalation-notice", PLATFORM),
    ]
    body = queued[0].body_text
    assert queued[0].subject == "Escalation: fraudulent-signups (freshsignup.example)"
    assert "fraudulent-signups for domain freshsignup.example" in body
    evidence = [line for line in body.splitlines() if line.startswith("- ")]
    assert [line.split("complaint about ")[1].split(" ")[0] for line in evidence] == [
        "promo3@freshsignup.example",
        "promo2@freshsignup.example",
        "promo1@freshsignup.example",
    ]
