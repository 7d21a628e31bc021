"""The condition language: parsing, negation, and durable-rules agreeing with our evaluator."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from abusedesk.decide.engine import PolicyEngine
from abusedesk.decide.expr import ExpressionError, parse_expression, render
from abusedesk.decide.loader import parse_rules
from abusedesk.decide.model import EventKind

RULES = """\
params: {limit: 5, young: 3d}
counters:
  c: {count: complaint, per: mailbox, within: 24h}
  d: {count: complaint, per: domain, within: 7d}
rules:
  - {name: threshold, on: complaint, when: counters.c > params.limit, then: [hold-for-review]}
  - {name: negated, on: complaint, when: "not (counters.c >= 3 and report.trusted)",
     then: [hold-for-review]}
  - {name: arithmetic, on: complaint, when: "counters.d >= params.limit * 2 - counters.c",
     then: [hold-for-review]}
  - {name: young, on: complaint, when: "mailbox.age < params.young or report.kind != 'complaint'",
     then: [hold-for-review]}
  - {name: mirrored, on: complaint, when: "2 < counters.c", then: [hold-for-review]}
  - {name: rate, on: complaint, when: "counters.c * 1000 > counters.d * params.limit * 100",
     then: [hold-for-review]}
  - {name: divided, on: complaint, when: "counters.c >= counters.d / 3", then: [hold-for-review]}
"""


@pytest.mark.parametrize(
    ("text", "offset", "message"),
    [
        ("counters.c > ", 13, "expected a value"),
        ("a < b < c", 6, "comparisons cannot be chained"),
        ("(a > 1", 6, "expected ')'"),
        ("a > 1 b", 6, "expected an operator or the end"),
        ("a = 1", 2, "unexpected character '='"),
        ("__import__('os').system('x')", 16, "unexpected character '.'"),
    ],
)
def test_parse_errors_say_where_and_what(text: str, offset: int, message: str) -> None:
    with pytest.raises(ExpressionError, match=re.escape(message)) as caught:
        parse_expression(text)
    assert caught.value.offset == offset


def test_checked_conditions_have_no_not_and_fields_on_the_left() -> None:
    result = parse_rules(RULES, Path("x.yaml"))
    assert result.problems == []
    assert result.ruleset is not None
    shown = {rule.name: render(rule.when) for rule in result.ruleset.rules if rule.when}
    assert shown["negated"] == "counters.c < 3 or report.trusted != true"
    assert shown["mirrored"] == "counters.c > 2"


@settings(max_examples=150, deadline=None)
# durable-rules cannot parse 1e-05: the engine must hand it a plain number.
@example(c=6, d=0, trusted=True, kind="complaint", age=1e-05, limit=5)
@given(
    c=st.integers(0, 12),
    d=st.integers(0, 30),
    trusted=st.booleans(),
    kind=st.sampled_from(["complaint", "not-spam"]),
    age=st.one_of(st.none(), st.floats(0, 10 * 86400, allow_nan=False)),
    limit=st.integers(0, 8),
)
def test_durable_rules_and_our_evaluator_agree(
    c: int, d: int, trusted: bool, kind: str, age: float | None, limit: int
) -> None:
    # PolicyEngine.evaluate raises when the two disagree; reaching the end means they agreed.
    result = parse_rules(RULES, Path("x.yaml"))
    assert result.ruleset is not None
    policy = _engine(result.ruleset)
    facts: dict[str, Any] = {
        "event": "complaint",
        "report": {"trusted": trusted, "kind": kind},
        "mailbox": {"age": age},
        "counters": {"c": c, "d": d},
        "params": {"limit": limit, "young": 3 * 86400.0},
    }
    verdict = policy.evaluate(policy.snapshot(), EventKind.COMPLAINT, "t", facts)
    fired = {f["rule"] for f in verdict.fired}
    assert ("threshold" in fired) == (c > limit)
    assert ("negated" in fired) == (not (c >= 3 and trusted))
    assert ("young" in fired) == ((age is not None and age < 3 * 86400) or kind != "complaint")
    assert ("rate" in fired) == (c * 1000 > d * limit * 100)
    # durable-rules divides integers as integers; handed a float divisor it does not.
    assert ("divided" in fired) == (c * 3 >= d)


_engines: dict[str, PolicyEngine] = {}


def _engine(ruleset: Any) -> PolicyEngine:
    # One compiled ruleset for all examples: durable-rules keeps every ruleset it creates.
    if ruleset.sha256 not in _engines:
        _engines[ruleset.sha256] = PolicyEngine(ruleset)
    return _engines[ruleset.sha256]
