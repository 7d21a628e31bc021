"""A rules file that passes its check never breaks processing: every number and duration it
writes is one the engine and the databases can hold, and any accepted file decides a complaint."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine
from sqlmodel import Session
from tests.conftest import run_cli
from tests.decide.conftest import add_complaint, mailbox_id

from abusedesk.decide.decide import decide_after_complaint
from abusedesk.decide.engine import PolicyEngine
from abusedesk.decide.loader import parse_rules

RULES = """\
params:
  limit: {limit}
  young: {young}
counters:
  c24: {{count: complaint, per: mailbox, within: {within}, where: {where}}}
rules:
  - name: the-rule
    on: complaint
    when: counters.c24 > params.limit and mailbox.age < params.young and {extra}
    then:
      - suspend: {{services: [send], evidence: c24}}
"""


def rules(
    limit: str = "5",
    young: str = "3d",
    within: str = "24h",
    extra: str = "report.trusted",
    where: str = "report.trusted",
) -> str:
    return RULES.format(limit=limit, young=young, within=within, extra=extra, where=where)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            rules(within="99999999999999999999d"),
            "rules/x.yaml:5:49: counter 'c24': window '99999999999999999999d': a duration can "
            "be at most 36500d",
        ),
        (
            rules(young="99999999999999999999d"),
            "rules/x.yaml:3:10: params: param 'young': a duration can be at most 36500d",
        ),
        (
            rules(limit="99999999999999999999"),
            "rules/x.yaml:2:10: params: param 'limit': a number can be at most "
            "1,000,000,000,000,000",
        ),
        (rules(limit=".inf"), "rules/x.yaml:2:10: params: param 'limit': inf is not a finite"),
        (
            rules(extra="counters.c24 < 99999999999999999999"),
            "rules/x.yaml:9:89: rule 'the-rule': a number can be at most",
        ),
        (
            rules(extra="mailbox.age < 999999999w"),
            "rules/x.yaml:9:88: rule 'the-rule': a duration can be at most 36500d",
        ),
    ],
)
def test_values_no_engine_can_hold_are_refused_with_file_line_and_name(
    text: str, expected: str
) -> None:
    result = parse_rules(text, Path("rules/x.yaml"))

    assert result.ruleset is None
    assert any(problem.startswith(expected) for problem in result.problems), result.problems


def test_rules_check_names_the_counter_of_a_huge_window(tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    path.write_text(rules(within="99999999999999999999d"), encoding="utf-8")

    checked = run_cli("rules", "check", str(path))

    assert checked.returncode != 0
    assert f"{path}:5:49: counter 'c24': window '99999999999999999999d'" in checked.stderr


_number = st.one_of(
    st.integers(-(10**21), 10**21).map(str),
    st.floats(allow_nan=False, allow_infinity=False, width=64).map(repr),
    st.sampled_from([".inf", "-.inf", ".nan", "0", "1e308"]),
)
_duration = st.tuples(
    st.one_of(st.integers(0, 10**21), st.floats(0, 1e21, allow_nan=False)),
    st.sampled_from("smhdw"),
).map(lambda parts: f"{parts[0]}{parts[1]}")
_extra = st.one_of(
    st.just("report.trusted"),
    _number.map(lambda n: f"counters.c24 * {n} >= {n}"),
    _duration.map(lambda d: f"mailbox.age < {d}"),
    _number.map(lambda n: f"counters.c24 / {n} < 1"),
)
_where = st.one_of(
    st.just("report.trusted"),
    st.tuples(_duration, _number).map(lambda p: f"mailbox.age < {p[0]} * {p[1]}"),
    st.tuples(_duration, _number).map(lambda p: f"mailbox.age > {p[0]} / {p[1]}"),
    _duration.map(lambda d: f"mailbox.age >= params.young + {d}"),
)
START = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)


@given(
    limit=st.one_of(_number, _duration),
    young=st.one_of(_duration, _number),
    within=_duration,
    extra=_extra,
    where=_where,
)
@settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_any_rules_file_the_loader_accepts_decides_a_complaint(
    directory_engine: Engine, limit: str, young: str, within: str, extra: str, where: str
) -> None:
    text = rules(limit, young, within, extra, where)
    result = parse_rules(text, Path("rules/generated.yaml"))
    if result.ruleset is None:
        assert result.problems  # refused, and said why
        return
    policy = PolicyEngine(result.ruleset)
    mailbox = mailbox_id(directory_engine, "alice@shop.example")
    with Session(directory_engine) as session:
        for hour in range(2):
            complaint = add_complaint(session, mailbox, START + timedelta(hours=hour))
            assert complaint.id is not None
            decisions = decide_after_complaint(session, complaint.id, policy)
            assert decisions
        session.rollback()


@pytest.mark.parametrize(
    ("where", "counted"),
    [
        # Bounded numbers, unbounded arithmetic: past the calendar, an age compares as its end.
        ("mailbox.age < 36500d * 1000000000000000", 1),
        ("mailbox.age > 36500d * 1000000000000000", 0),
        ("mailbox.age > 1s / 0.000000000000001", 0),
        ("mailbox.age > 0s - 36500d * 1000000000000000", 1),
    ],
)
def test_arithmetic_past_the_calendar_still_decides(
    directory_engine: Engine, where: str, counted: int
) -> None:
    result = parse_rules(rules(where=where), Path("rules/x.yaml"))
    assert result.ruleset is not None, result.problems
    mailbox = mailbox_id(directory_engine, "alice@shop.example")
    with Session(directory_engine) as session:
        complaint = add_complaint(session, mailbox, START)
        assert complaint.id is not None

        [decision, *_] = decide_after_complaint(session, complaint.id, PolicyEngine(result.ruleset))

        assert decision.facts["counters"]["c24"] == counted
        session.rollback()
