"""Sent-volume counters: hourly buckets summed over a window, and complaint rates over them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session
from tests.decide.conftest import add_complaint, mailbox_id

from abusedesk.decide.counters import CounterQueries, SqlCounters, Subject
from abusedesk.decide.decide import decide_after_complaint
from abusedesk.decide.engine import PolicyEngine
from abusedesk.decide.events import ALL_SUBJECTS, load_subject
from abusedesk.decide.expr import render
from abusedesk.decide.loader import parse_rules
from abusedesk.decide.model import Volume
from abusedesk.decide.replay import replay, sent_buckets
from abusedesk.decide.window import VolumeWindow, micros
from abusedesk.store.tables import SentVolume

AT = datetime(2026, 3, 2, 10, 30, tzinfo=UTC)
RULES = """\
params: {per_mille: 3, min_sent: 100}
counters:
  sent_mailbox: {count: sent, per: mailbox, within: 24h}
  sent_domain: {count: sent, per: domain, within: 24h}
  sent_company: {count: sent, per: company, within: 24h}
  recipients_mailbox: {count: sent-recipients, per: mailbox, within: 24h}
  complaints_24h: {count: complaint, per: mailbox, within: 24h}
rules:
  - name: rate
    on: complaint
    when: >-
      counters.sent_mailbox >= params.min_sent
      and counters.complaints_24h * 1000 > counters.sent_mailbox * params.per_mille
    then: [{escalate: {pattern: rate}}]
"""


def meter(engine: Engine, address: str, hour: datetime, messages: int, recipients: int) -> None:
    with Session(engine) as session:
        session.add(
            SentVolume(
                mailbox_id=mailbox_id(engine, address),
                hour=hour,
                messages=messages,
                recipients=recipients,
            )
        )
        session.commit()


def test_sent_counters_sum_the_buckets_the_window_overlaps(directory_engine: Engine) -> None:
    engine = directory_engine
    day_before = AT - timedelta(days=1)  # 2026-03-01 10:30: the window opens mid-hour
    meter(engine, "alice@shop.example", day_before.replace(minute=0) - timedelta(hours=1), 1, 1)
    meter(engine, "alice@shop.example", day_before.replace(minute=0), 10, 20)  # counts whole
    meter(engine, "alice@shop.example", AT.replace(minute=0), 100, 300)  # the current hour
    meter(engine, "alice@shop.example", AT.replace(minute=0) + timedelta(hours=1), 1000, 1000)
    meter(engine, "bob@shop.example", AT.replace(minute=0), 7, 7)  # same domain and company
    meter(engine, "orders@bakery.example", AT.replace(minute=0), 5, 5)  # same company
    rules = parse_rules(RULES, Path("rate.yaml")).ruleset
    assert rules is not None
    with Session(engine) as session:
        subject = load_subject(session, mailbox_id(engine, "alice@shop.example"))
        assert subject is not None
        counters = SqlCounters(session, CounterQueries())

        def count(name: str) -> int:
            return counters.count(rules.counters[name], subject, AT, {}, None)

        assert count("sent_mailbox") == 110
        assert count("recipients_mailbox") == 320
        assert count("sent_domain") == 117
        assert count("sent_company") == 122
        assert counters.evidence(rules.counters["sent_mailbox"], subject, AT, {}) == []


def test_a_complaint_rate_escalates_live_and_in_replay_alike(directory_engine: Engine) -> None:
    engine = directory_engine
    rules = parse_rules(RULES, Path("rate.yaml")).ruleset
    assert rules is not None
    policy = PolicyEngine(rules)
    meter(engine, "alice@shop.example", AT.replace(minute=0) - timedelta(hours=3), 1000, 1000)
    meter(engine, "bob@shop.example", AT.replace(minute=0) - timedelta(hours=3), 2000, 2000)
    decided = []
    with Session(engine, expire_on_commit=False) as session:
        for address in ("alice@shop.example", "bob@shop.example"):
            for i in range(4):  # 0.4% of alice's mail, 0.2% of bob's
                complaint = add_complaint(
                    session, mailbox_id(engine, address), AT + timedelta(minutes=i)
                )
                assert complaint.id is not None
                decided += decide_after_complaint(session, complaint.id, policy)
        session.commit()
    fired = [(d.facts["mailbox"]["address"], d.facts["counters"]) for d in decided if d.fired]
    assert fired == [
        (
            "alice@shop.example",
            {"sent_mailbox": 1000, "complaints_24h": 4},
        )
    ]
    assert decided[-1].missed[0]["reason"] == (
        "counters.complaints_24h is 4, not > counters.sent_mailbox * params.per_mille / 1000 (6)"
    )
    report = replay(engine, rules, AT - timedelta(hours=1), AT + timedelta(hours=1)).as_json()
    assert report["fired"] == {"rate": 1}
    assert report["escalations_by_pattern"]["rate"]["added"] == []
    assert report["escalations_by_pattern"]["rate"]["current"] == 1


@pytest.mark.parametrize(
    ("counter", "expected"),
    [
        ("{count: sent, per: mailbox, within: 24h, where: report.trusted}", "where: sent volume"),
        ("{count: sent, per: domain, within: 24h, distinct: mailbox}", "distinct: sent volume"),
        ("{count: delivered, per: mailbox, within: 24h}", "expected one of complaint, "),
    ],
)
def test_sent_counters_refuse_what_they_cannot_count(counter: str, expected: str) -> None:
    result = parse_rules(f"counters:\n  s: {counter}\n", Path("x.yaml"))
    assert len(result.problems) == 1 and expected in result.problems[0], result.problems


def test_division_is_only_by_a_positive_number_written_in_the_file() -> None:
    body = RULES.replace("counters.complaints_24h * 1000 >", "counters.complaints_24h >")
    for divisor, accepted in (("1000", True), ("params.per_mille", False), ("0", False)):
        text = body.replace("params.per_mille\n", f"params.per_mille / {divisor}\n")
        result = parse_rules(text, Path("x.yaml"))
        assert (result.problems == []) is accepted, result.problems
        if not accepted:
            assert "divides only by a positive number" in result.problems[0]


def test_replay_counts_sent_volume_as_the_database_does(directory_engine: Engine) -> None:
    engine = directory_engine
    rules = parse_rules(RULES, Path("rate.yaml")).ruleset
    assert rules is not None
    base = AT.replace(minute=0) - timedelta(days=2)
    senders = ("alice@shop.example", "bob@shop.example", "orders@bakery.example")
    for hour in range(60):
        for n, address in enumerate(senders):
            if (hour + n) % 4:
                meter(engine, address, base + timedelta(hours=hour), hour + n, 2 * hour + 1)
    with Session(engine) as session:
        subjects = {row[0]: Subject(*row) for row in session.execute(ALL_SUBJECTS)}
        windows = {
            name: VolumeWindow(counter, subjects)
            for name, counter in rules.counters.items()
            if isinstance(counter.count, Volume)
        }
        fed = list(sent_buckets(session, base - timedelta(days=1), base + timedelta(days=3)))
        counters = SqlCounters(session, CounterQueries())
        for minutes in range(0, 60 * 60, 37):
            at = base + timedelta(minutes=minutes)
            while fed and fed[0][0] <= at:
                hour, mailbox, messages, recipients = fed.pop(0)
                for window in windows.values():
                    window.add(micros(hour), mailbox, messages, recipients)
            for subject in subjects.values():
                for name, window in windows.items():
                    live = counters.count(rules.counters[name], subject, at, {}, None)
                    assert window.count(subject, micros(at), {}, None) == live, (name, at)


def test_a_field_times_a_positive_number_stands_alone_but_not_times_zero() -> None:
    rewritten = parse_rules(RULES, Path("x.yaml")).ruleset
    assert rewritten is not None and rewritten.rules[0].when is not None
    assert render(rewritten.rules[0].when) == (
        "counters.sent_mailbox >= params.min_sent and "
        "counters.complaints_24h > counters.sent_mailbox * params.per_mille / 1000"
    )
    for factor in ("0", "params.per_mille"):
        text = RULES.replace("complaints_24h * 1000", f"complaints_24h * {factor}")
        problems = parse_rules(text, Path("x.yaml")).problems
        assert len(problems) == 1 and "put one field alone on one side" in problems[0], problems
