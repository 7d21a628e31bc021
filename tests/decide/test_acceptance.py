"""The default policy on real databases: what suspends, what never does, and why it says so."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, select
from sqlmodel import Session, col
from tests.decide.conftest import DEFAULT_RULES, add_complaint, mailbox_id

from abusedesk.decide.decide import decide_after_complaint
from abusedesk.decide.engine import PolicyEngine
from abusedesk.decide.loader import load_rules
from abusedesk.decide.params import set_param
from abusedesk.store.tables import Decision, Mailbox, Suspension

# Far in the past on purpose: windows are measured from each complaint's own time,
# so a backfill decides as live traffic did, whatever the wall clock says.
START = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)


def complain(
    engine: Engine, policy: PolicyEngine, address: str, times: list[datetime], **kw: object
) -> list[Decision]:
    mailbox = mailbox_id(engine, address)
    decisions: list[Decision] = []
    with Session(engine, expire_on_commit=False) as session:
        for at in times:
            complaint = add_complaint(session, mailbox, at, **kw)  # type: ignore[arg-type]
            assert complaint.id is not None
            decisions += decide_after_complaint(session, complaint.id, policy)
        session.commit()
    return decisions


def hourly(count: int, start: datetime = START) -> list[datetime]:
    return [start + timedelta(hours=i) for i in range(count)]


def suspensions(engine: Engine, address: str) -> list[Suspension]:
    with Session(engine) as session:
        return list(
            session.execute(
                select(Suspension)
                .join(Mailbox, col(Mailbox.id) == col(Suspension.mailbox_id))
                .where(col(Mailbox.address) == address)
            ).scalars()
        )


def can_send(engine: Engine, address: str) -> bool:
    with Session(engine) as session:
        mailbox = session.execute(
            select(Mailbox).where(col(Mailbox.address) == address)
        ).scalar_one()
        return mailbox.can_send


def test_six_trusted_complaints_in_a_day_suspend_sending(
    directory_engine: Engine, policy: PolicyEngine
) -> None:
    decisions = complain(directory_engine, policy, "alice@shop.example", hourly(6))
    assert not can_send(directory_engine, "alice@shop.example")
    [suspension] = suspensions(directory_engine, "alice@shop.example")
    assert suspension.rule == "soft-suspend" and suspension.service == "send"
    assert suspension.started_at == START + timedelta(hours=5)
    complaint_decisions = [d for d in decisions if d.event == "complaint"]
    assert sorted(suspension.complaint_ids) == sorted(d.complaint_id for d in complaint_decisions)
    sixth = complaint_decisions[-1]
    assert suspension.decision_id == sixth.id
    assert [f["rule"] for f in sixth.fired] == ["soft-suspend"]
    assert sixth.facts["counters"]["complaints_24h"] == 6
    assert sixth.rules_hash == load_rules(DEFAULT_RULES).sha256 and not sixth.shadow
    assert [a["action"] for a in sixth.actions] == ["suspend", "notify"]
    # An engine without a notice composer records the notice, never pretends it queued one.
    assert sixth.actions[1]["status"] == "not queued: no outbox in this run"
    assert [d.event for d in decisions].count("suspension") == 1


def test_five_complaints_do_not_suspend_and_say_why(
    directory_engine: Engine, policy: PolicyEngine
) -> None:
    decisions = complain(directory_engine, policy, "alice@shop.example", hourly(5))
    assert can_send(directory_engine, "alice@shop.example")
    assert suspensions(directory_engine, "alice@shop.example") == []
    missed = {m["rule"]: m["reason"] for m in decisions[-1].missed}
    assert missed["soft-suspend"] == (
        "counters.complaints_24h is 5, not > params.complaint_limit (5)"
    )


def test_untrusted_reports_never_suspend(directory_engine: Engine, policy: PolicyEngine) -> None:
    decisions = complain(directory_engine, policy, "alice@shop.example", hourly(8), trusted=False)
    assert can_send(directory_engine, "alice@shop.example")
    reasons = {m["reason"] for d in decisions for m in d.missed if m["rule"] == "soft-suspend"}
    assert reasons == {"report.trusted is false, not == true"}


def test_not_spam_reports_do_not_count(directory_engine: Engine, policy: PolicyEngine) -> None:
    complain(directory_engine, policy, "alice@shop.example", hourly(5))
    later = hourly(3, START + timedelta(hours=5))
    decisions = complain(directory_engine, policy, "alice@shop.example", later, kind="not-spam")
    assert can_send(directory_engine, "alice@shop.example")
    assert all(d.facts["counters"]["complaints_24h"] == 5 for d in decisions)


def test_complaints_outside_the_window_do_not_count(
    directory_engine: Engine, policy: PolicyEngine
) -> None:
    # Five complaints a day apart, then five more: never six within 24 hours of each other.
    spread = [START + timedelta(hours=25 * i) for i in range(5)]
    complain(directory_engine, policy, "bob@shop.example", spread)
    burst = hourly(5, START + timedelta(days=30))
    decisions = complain(directory_engine, policy, "bob@shop.example", burst)
    assert can_send(directory_engine, "bob@shop.example")
    assert decisions[-1].facts["counters"]["complaints_24h"] == 5


def test_a_backfill_after_the_fact_decides_from_event_time(
    directory_engine: Engine, policy: PolicyEngine
) -> None:
    # Recorded today, these happened in 2001, an hour apart: the window is theirs, not now's.
    old = [datetime(2001, 5, 1, tzinfo=UTC) + timedelta(hours=i) for i in range(6)]
    complain(directory_engine, policy, "carol.baker@bakery.example", old)
    [suspension] = suspensions(directory_engine, "carol.baker@bakery.example")
    assert suspension.started_at == old[-1]


def test_a_domain_override_of_the_limit_wins_over_the_company(
    directory_engine: Engine, policy: PolicyEngine
) -> None:
    ruleset = policy.ruleset
    set_param(directory_engine, ruleset, "complaint_limit", "10", company="Acme Hosting Resellers")
    set_param(directory_engine, ruleset, "complaint_limit", "2", domain="shop.example")
    complain(directory_engine, policy, "alice@shop.example", hourly(3))
    complain(directory_engine, policy, "orders@bakery.example", hourly(8))
    assert not can_send(directory_engine, "alice@shop.example")
    assert can_send(directory_engine, "orders@bakery.example")


def test_unattributed_complaints_are_not_decided(
    directory_engine: Engine, policy: PolicyEngine
) -> None:
    with Session(directory_engine) as session:
        complaint = add_complaint(session, None, START)
        assert complaint.id is not None
        assert decide_after_complaint(session, complaint.id, policy) == []
        assert session.execute(select(Decision)).first() is None
