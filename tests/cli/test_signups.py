"""Signups reach the rules: `accounts add` and `accounts import` raise `signup` events."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import select
from sqlmodel import Session
from tests.conftest import DEMO, run_cli

from abusedesk.store.engine import create_database_engine
from abusedesk.store.tables import Escalation

SIGNUP_RULES = """\
params:
  burst: 3
counters:
  signups_1h: {count: signup, per: domain, within: 1h}
rules:
  - name: signup-burst
    on: signup
    when: counters.signups_1h >= params.burst
    then:
      - escalate: {pattern: fraudulent-signups, scope: domain, evidence: signups_1h}
"""


def test_a_burst_of_signups_in_one_domain_is_escalated(database_url: str, tmp_path: Path) -> None:
    rules = tmp_path / "signups.yaml"
    rules.write_text(SIGNUP_RULES, encoding="utf-8")
    env = {"ABUSEDESK_RULES__PATH": str(rules)}
    assert run_cli("rules", "check", str(rules), env=env).returncode == 0
    imported = run_cli(
        "accounts", "import", str(DEMO / "accounts.csv"), database_url=database_url, env=env
    )
    assert imported.returncode == 0, imported.stderr
    assert "9 signups decided" in imported.stdout  # guide@hikers.example has no created_at
    for n in range(3):
        added = run_cli(
            "accounts",
            "add",
            f"promo{n + 10}@freshsignup.example",
            "--signup-ip",
            "203.0.113.9",
            "--created-at",
            f"2026-11-26T10:0{n}:00+00:00",
            database_url=database_url,
            env=env,
        )
        assert added.returncode == 0, added.stderr
    engine = create_database_engine(database_url)
    with Session(engine) as session:
        escalations = session.execute(select(Escalation)).scalars().all()
    engine.dispose()
    assert [(e.pattern, e.scope, e.scope_key) for e in escalations][:1] == [
        ("fraudulent-signups", "domain", "freshsignup.example")
    ]
    shown = run_cli(
        "mailbox",
        "show",
        "promo10@freshsignup.example",
        "--json",
        database_url=database_url,
        env=env,
    )
    assert json.loads(shown.stdout)["created_at"] == "2026-11-26T10:00:00+00:00"


def test_a_broken_rules_file_stops_the_import_before_it_starts(
    database_url: str, tmp_path: Path
) -> None:
    env = {"ABUSEDESK_RULES__PATH": str(tmp_path / "missing.yaml")}
    result = run_cli(
        "accounts", "import", str(DEMO / "accounts.csv"), database_url=database_url, env=env
    )
    assert result.returncode != 0 and "missing.yaml" in result.stderr
    listed = run_cli("accounts", "list", "--json", database_url=database_url, env=env)
    assert json.loads(listed.stdout) == []
