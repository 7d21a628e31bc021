"""The shipped scenarios pass, and a scenario that expects the wrong thing fails loudly."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import run_cli
from tests.decide.conftest import DEFAULT_RULES

from abusedesk.decide.loader import load_rules
from abusedesk.decide.scenarios import run_scenarios, scenarios_path


def test_every_default_rule_has_a_passing_scenario() -> None:
    ruleset = load_rules(DEFAULT_RULES)
    scenarios = scenarios_path(DEFAULT_RULES)
    results = run_scenarios(ruleset, scenarios)
    assert [r.name for r in results if not r.passed] == []
    text = scenarios.read_text()
    for rule in ruleset.rules:
        assert f"- {rule.name} " in text, f"no scenario expects rule {rule.name}"
    names = [r.name for r in results]
    assert "five trusted complaints within a day do not suspend" in names
    assert "the sixth trusted complaint within a day suspends sending and notifies" in names


def test_a_wrong_expectation_fails_with_the_difference(tmp_path: Path) -> None:
    rules = tmp_path / "strict.yaml"
    rules.write_text(DEFAULT_RULES.read_text().replace("complaint_limit: 5", "complaint_limit: 4"))
    scenarios_path(rules).write_text(
        "scenarios:\n"
        "  - name: five complaints\n"
        "    accounts: [alice@shop.example]\n"
        "    events: [{at: 2026-03-02T09:00:00Z, complaint: alice@shop.example, repeat: 5}]\n"
        "    expect: []\n"
    )
    [result] = run_scenarios(load_rules(rules), scenarios_path(rules))
    assert not result.passed
    assert result.unexpected == [
        "soft-suspend notify alice@shop.example",
        "soft-suspend suspend alice@shop.example",
    ]
    command = run_cli("rules", "test", str(rules), cwd=tmp_path)
    assert command.returncode == 1
    assert "FAIL  five complaints" in command.stdout
    assert "done, not expected: soft-suspend suspend alice@shop.example" in command.stdout
    assert "1 scenario(s) failed" in command.stderr


def test_sent_volume_in_a_scenario_is_checked_and_counted(tmp_path: Path) -> None:
    rules = tmp_path / "rate.yaml"
    rules.write_text(DEFAULT_RULES.read_text())
    scenarios_path(rules).write_text(
        "scenarios:\n"
        "  - name: metered twice in one hour, one bucket\n"
        "    accounts: [alice@shop.example]\n"
        "    events:\n"
        "      - {at: 2026-03-02T08:05:00Z, sent: alice@shop.example, messages: 600}\n"
        "      - {at: 2026-03-02T08:55:00Z, sent: alice@shop.example, messages: 400}\n"
        "      - {at: 2026-03-02T09:00:00Z, complaint: alice@shop.example, repeat: 4}\n"
        "    expect:\n"
        "      - high-complaint-rate escalate alice@shop.example\n"
        "      - high-complaint-rate notify alice@shop.example\n"
        "      - high-complaint-rate notify alice@shop.example\n"
        "  - name: mail of a stranger\n"
        "    accounts: [alice@shop.example]\n"
        "    events: [{at: 2026-03-02T08:05:00Z, sent: bob@shop.example}]\n"
        "  - name: negative mail\n"
        "    accounts: [alice@shop.example]\n"
        "    events: [{at: 2026-03-02T08:05:00Z, sent: alice@shop.example, messages: -1}]\n"
    )
    counted, stranger, negative = run_scenarios(load_rules(rules), scenarios_path(rules))
    assert counted.passed, (counted.missing, counted.unexpected, counted.error)
    assert stranger.error is not None
    assert "mail sent by bob@shop.example, which is not among the accounts" in stranger.error
    assert negative.error is not None and "cannot be negative" in negative.error
