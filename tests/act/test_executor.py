"""Acting on intents: one suspension at a time, one open escalation, shadow does nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, select
from sqlmodel import Session, col
from tests.decide.conftest import DEFAULT_RULES, add_complaint, mailbox_id

from abusedesk.decide.decide import decide_after_complaint
from abusedesk.decide.engine import PolicyEngine
from abusedesk.decide.loader import load_rules
from abusedesk.store.tables import Decision, Escalation, Mailbox, Suspension

START = datetime(2025, 6, 2, 8, 0, tzinfo=UTC)

HAIR_TRIGGER = """\
mode: {mode}
counters:
  today: {{count: complaint, per: mailbox, within: 24h}}
rules:
  - name: first-strike
    on: complaint
    when: counters.today >= 1
    then:
      - suspend: {{services: [send]}}
      - escalate: {{pattern: first-strike, scope: domain, evidence: today}}
      - hold-for-review: {{reason: new policy}}
"""


def complain(engine: Engine, policy: PolicyEngine, address: str, count: int) -> list[Decision]:
    decisions: list[Decision] = []
    with Session(engine, expire_on_commit=False) as session:
        for i in range(count):
            complaint = add_complaint(
                session, mailbox_id(engine, address), START + timedelta(minutes=i)
            )
            assert complaint.id is not None
            decisions += decide_after_complaint(session, complaint.id, policy)
        session.commit()
    return decisions


def rows(engine: Engine, table: type[Suspension] | type[Escalation]) -> list[object]:
    with Session(engine) as session:
        return list(session.execute(select(table)).scalars())


def test_a_mailbox_is_never_suspended_twice_while_suspended(
    directory_engine: Engine, tmp_path: Path
) -> None:
    path = tmp_path / "hair.yaml"
    path.write_text(HAIR_TRIGGER.format(mode="enforce"))
    policy = PolicyEngine(load_rules(path))
    complain(directory_engine, policy, "alice@shop.example", 1)
    with Session(directory_engine) as session:  # someone switched sending back on by hand
        mailbox = session.execute(
            select(Mailbox).where(col(Mailbox.address) == "alice@shop.example")
        ).scalar_one()
        mailbox.can_send = True
        session.commit()
    [second] = complain(directory_engine, policy, "alice@shop.example", 1)
    assert len(rows(directory_engine, Suspension)) == 1
    statuses = {a["action"]: a["status"] for a in second.actions}
    assert statuses["suspend"].startswith("skipped: already suspended (suspension ")
    assert statuses["escalate"].startswith("skipped: escalation ")
    assert statuses["hold-for-review"] == "held for review"
    [escalation] = rows(directory_engine, Escalation)
    assert isinstance(escalation, Escalation)
    assert (escalation.pattern, escalation.scope, escalation.scope_key) == (
        "first-strike",
        "domain",
        "shop.example",
    )
    assert escalation.evidence["rule"] == "first-strike" and escalation.evidence["ids"]


def test_shadow_rules_record_but_never_act(directory_engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "hair.yaml"
    path.write_text(HAIR_TRIGGER.format(mode="shadow"))
    policy = PolicyEngine(load_rules(path))
    [decision] = complain(directory_engine, policy, "alice@shop.example", 1)
    assert decision.shadow
    assert {a["status"] for a in decision.actions} == {"shadow: not carried out"}
    assert rows(directory_engine, Suspension) == [] and rows(directory_engine, Escalation) == []
    with Session(directory_engine) as session:
        mailbox = session.execute(
            select(Mailbox).where(col(Mailbox.address) == "alice@shop.example")
        ).scalar_one()
        assert mailbox.can_send


def test_a_third_suspension_within_30_days_escalates_once(
    directory_engine: Engine,
) -> None:
    policy = PolicyEngine(load_rules(DEFAULT_RULES))
    address = "bob@shop.example"
    mailbox = mailbox_id(directory_engine, address)
    for week in range(4):
        with Session(directory_engine) as session:
            for i in range(6):
                at = START + timedelta(days=7 * week, minutes=i)
                complaint = add_complaint(session, mailbox, at)
                assert complaint.id is not None
                decide_after_complaint(session, complaint.id, policy)
            active = session.execute(
                select(Suspension).where(col(Suspension.lifted_at).is_(None))
            ).scalar_one()
            active.lifted_at = START + timedelta(days=7 * week + 1)
            box = session.get(Mailbox, mailbox)
            assert box is not None
            box.can_send = True
            session.commit()
    assert len(rows(directory_engine, Suspension)) == 4
    [escalation] = rows(directory_engine, Escalation)
    assert isinstance(escalation, Escalation)
    assert (escalation.pattern, escalation.scope_key) == ("repeated-suspensions", address)
    assert len(escalation.evidence["ids"]) == 3
