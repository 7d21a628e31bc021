"""Mistakes in a rules file are named by file:line:column, rule, and what was expected."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.conftest import run_cli
from tests.decide.conftest import DEFAULT_RULES

from abusedesk.decide.loader import load_rules, parse_rules
from abusedesk.errors import RulesError

HEADER = """\
params:
  limit: 5
  young: 3d
counters:
  c24: {count: complaint, per: mailbox, within: 24h, where: report.trusted}
rules:
  - name: the-rule
    on: complaint
"""


def problems(body: str, header: str = HEADER) -> list[str]:
    result = parse_rules(header + body, Path("rules/x.yaml"))
    assert result.ruleset is None
    return result.problems


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            "    when: counters.c42 > params.limit\n    then: [hold-for-review]\n",
            "rules/x.yaml:9:11: rule 'the-rule': unknown counter 'c42' (declared counters: c24)",
        ),
        (
            "    when: report.trustd\n    then: [hold-for-review]\n",
            "rules/x.yaml:9:11: rule 'the-rule': unknown field 'report.trustd' in a rule on "
            "complaint events: expected one of report.kind, report.trusted",
        ),
        (
            "    when: mailbox.age < 3\n    then: [hold-for-review]\n",
            "rules/x.yaml:9:23: rule 'the-rule': type mismatch: mailbox.age is a duration but 3 "
            "is a number; write durations with a unit",
        ),
        (
            "    when: counters.c24 > params.limit and report.kind\n    then: [hold-for-review]\n",
            "rules/x.yaml:9:43: rule 'the-rule': type mismatch: 'and' needs true/false "
            "conditions, but report.kind is a text",
        ),
        (
            "    when: counters.c24 >\n    then: [hold-for-review]\n",
            "rules/x.yaml:9:25: rule 'the-rule': expected a value",
        ),
        (
            "    then:\n      - suspend: {services: [send]}\n      - smite: {}\n",
            "rules/x.yaml:11:9: rule 'the-rule': unknown action 'smite'; expected one of suspend, "
            "notify, escalate, hold-for-review",
        ),
        (
            "    then:\n      - notify: {template: aup-notise}\n",
            "rules/x.yaml:10:28: rule 'the-rule': unknown template name 'aup-notise'; "
            "expected one of aup-notice, escalation-notice",
        ),
        (
            "    then:\n      - suspend: {services: [send, login]}\n",
            "rules/x.yaml:10:29: rule 'the-rule': suspend services ['send', 'login']: rules may "
            "only switch off sending",
        ),
        (
            "    whenever: true\n    then: [hold-for-review]\n",
            "rules/x.yaml:9:5: unknown field 'whenever' in rule #1; expected one of description,",
        ),
    ],
)
def test_each_kind_of_mistake_is_located_and_explained(body: str, expected: str) -> None:
    found = problems(body)
    assert any(p.startswith(expected) for p in found), found


def test_bad_windows_and_counter_fields_name_the_counter() -> None:
    header = (
        "counters:\n"
        "  a: {count: complaint, per: mailbox, within: 24x}\n"
        "  b: {count: complaint, per: mailbox, within: 1d, where: suspension.rule == 'x'}\n"
        "  c: {count: signup, per: mailbox, within: 1d}\n"
        "rules: []\n"
    )
    found = problems("", header)
    assert found[0] == (
        "rules/x.yaml:2:47: counter 'a': bad window '24x': expected a duration like 30m, 24h, 7d "
        "or 2w"
    )
    assert found[1].startswith(
        "rules/x.yaml:3:58: counter 'b': unknown field 'suspension.rule' in a filter on counted "
        "complaint rows"
    )
    assert found[2] == "rules/x.yaml:4:27: counter 'c': signups are counted per domain or company"


def test_a_condition_on_two_lines_points_into_the_right_line() -> None:
    body = (
        "    when: >-\n      report.trusted\n      and counters.nope > 1\n"
        "    then: [hold-for-review]\n"
    )
    found = problems(body)
    assert found == [
        "rules/x.yaml:11:11: rule 'the-rule': unknown counter 'nope' (declared counters: c24)"
    ]


def test_load_rules_refuses_a_bad_file_with_the_first_problem(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(
        HEADER + "    when: counters.x > 1 and counters.y > 2\n    then: [hold-for-review]\n"
    )
    with pytest.raises(RulesError, match=r"bad.yaml:9:11: .* \(and 1 more problem: run"):
        load_rules(path)


def test_rules_check_command(tmp_path: Path) -> None:
    good = run_cli("rules", "check", str(DEFAULT_RULES), cwd=tmp_path)
    assert good.returncode == 0 and "OK (5 rules" in good.stdout, good.stderr
    bad = tmp_path / "bad.yaml"
    bad.write_text(HEADER + "    when: report.trustd\n    then: [hold-for-review]\n")
    result = run_cli("rules", "check", str(bad), cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.startswith(f"{bad}:9:11: rule 'the-rule': unknown field")
