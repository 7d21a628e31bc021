"""Replay decides stored history as the live engine did, and shows what a candidate changes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, func, select
from sqlmodel import Session
from tests.decide.conftest import DEFAULT_RULES, add_complaint, mailbox_id

from abusedesk.decide.decide import decide_after_complaint
from abusedesk.decide.engine import PolicyEngine
from abusedesk.decide.loader import load_rules
from abusedesk.decide.replay import replay
from abusedesk.store.tables import Decision, Suspension

START = datetime(2026, 11, 26, tzinfo=UTC)
HISTORY = {  # complaints per mailbox, an hour apart, all trusted
    "alice@shop.example": 6,
    "bob@shop.example": 5,
    "promo1@freshsignup.example": 7,
    "info@hikers.example": 4,
}


def record_live_history(engine: Engine, policy: PolicyEngine) -> None:
    with Session(engine) as session:
        for offset, (address, count) in enumerate(HISTORY.items()):
            mailbox = mailbox_id(engine, address)
            for i in range(count):
                at = START + timedelta(minutes=offset) + timedelta(hours=i)
                complaint = add_complaint(session, mailbox, at)
                assert complaint.id is not None
                decide_after_complaint(session, complaint.id, policy)
        untrusted = add_complaint(
            session,
            mailbox_id(engine, "bob@shop.example"),
            START + timedelta(hours=6),
            trusted=False,
        )
        assert untrusted.id is not None
        decide_after_complaint(session, untrusted.id, policy)
        session.commit()


def stored(engine: Engine) -> tuple[int, int]:
    with Session(engine) as session:
        suspensions = session.execute(select(func.count()).select_from(Suspension)).scalar_one()
        decisions = session.execute(select(func.count()).select_from(Decision)).scalar_one()
    return suspensions, decisions


def test_replaying_the_current_rules_changes_nothing(
    directory_engine: Engine, policy: PolicyEngine
) -> None:
    record_live_history(directory_engine, policy)
    before = stored(directory_engine)
    report = replay(
        directory_engine, policy.ruleset, START - timedelta(hours=1), START + timedelta(days=2)
    ).as_json()
    assert report["suspensions_by_rule"] == {
        "soft-suspend": {
            "current": 2,
            "candidate": 2,
            "added": [],
            "removed": [],
        }
    }
    assert report["events"] == sum(HISTORY.values()) + 1 + 2  # two suspension events
    assert stored(directory_engine) == before  # a replay writes nothing


def test_a_stricter_candidate_shows_the_suspensions_it_adds(
    directory_engine: Engine, policy: PolicyEngine, tmp_path: Path
) -> None:
    record_live_history(directory_engine, policy)
    candidate = tmp_path / "strict.yaml"
    candidate.write_text(
        DEFAULT_RULES.read_text().replace("complaint_limit: 5", "complaint_limit: 3")
    )
    report = replay(
        directory_engine,
        load_rules(candidate),
        START - timedelta(hours=1),
        START + timedelta(days=2),
    ).as_json()
    assert report["suspensions_by_rule"]["soft-suspend"] == {
        "current": 2,
        "candidate": 4,
        "added": ["bob@shop.example", "info@hikers.example"],
        "removed": [],
    }


def test_a_replay_starting_mid_window_counts_the_complaints_before_it(
    directory_engine: Engine, policy: PolicyEngine
) -> None:
    record_live_history(directory_engine, policy)
    # Starting after alice's fourth complaint: the three before still count toward her sixth.
    report = replay(
        directory_engine,
        policy.ruleset,
        START + timedelta(hours=3, minutes=30),
        START + timedelta(days=2),
    ).as_json()
    assert report["suspensions_by_rule"]["soft-suspend"]["added"] == []
    assert report["suspensions_by_rule"]["soft-suspend"]["candidate"] == 2
