"""`abusedesk decisions …`, `rules params …` and `rules replay` as a user runs them."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from sqlalchemy import Engine
from sqlmodel import Session
from tests.conftest import run_cli
from tests.decide.conftest import DEFAULT_RULES, add_complaint, mailbox_id

from abusedesk.decide.decide import decide_after_complaint
from abusedesk.decide.engine import PolicyEngine
from abusedesk.store.types import utcnow


def test_decisions_list_and_explain(
    directory_engine: Engine, database_url: str, policy: PolicyEngine, tmp_path: Path
) -> None:
    mailbox = mailbox_id(directory_engine, "alice@shop.example")
    start = utcnow() - timedelta(days=2)
    with Session(directory_engine) as session:
        for i in range(6):
            complaint = add_complaint(session, mailbox, start + timedelta(hours=i))
            assert complaint.id is not None
            decide_after_complaint(session, complaint.id, policy)
        session.commit()
    env = {"ABUSEDESK_RULES__PATH": str(DEFAULT_RULES)}

    listed = run_cli(
        "decisions",
        "list",
        "--mailbox",
        "Alice@shop.example",
        "--json",
        database_url=database_url,
        cwd=tmp_path,
        env=env,
    )
    assert listed.returncode == 0, listed.stderr
    rows = json.loads(listed.stdout)
    assert [r["event"] for r in rows] == ["suspension"] + ["complaint"] * 6
    assert rows[1]["fired"] == ["soft-suspend"] and rows[2]["fired"] == []

    explained = run_cli(
        "decisions", "explain", str(rows[1]["id"]), database_url=database_url, cwd=tmp_path, env=env
    )
    assert explained.returncode == 0, explained.stderr
    text = explained.stdout
    assert "a complaint event for alice@shop.example" in text
    assert "complaints_24h = at least 6" in text
    assert "Rule 'soft-suspend' fired: report.trusted = true" in text
    assert "Rule 'fraudulent-signups-complained' did not fire: mailbox.age is " in text
    assert "Action: suspend (rule 'soft-suspend'" in text and "— done" in text
    assert "Action: notify (rule 'soft-suspend'" in text
    assert "not queued: no outbox in this run" in text

    missing = run_cli(
        "decisions", "explain", "999999", database_url=database_url, cwd=tmp_path, env=env
    )
    assert missing.returncode == 1 and missing.stderr == "abusedesk: no decision 999999\n"

    replayed = run_cli(
        "rules",
        "replay",
        "--rules",
        str(DEFAULT_RULES),
        "--since",
        "7d",
        "--json",
        database_url=database_url,
        cwd=tmp_path,
        env=env,
    )
    assert replayed.returncode == 0, replayed.stderr
    report = json.loads(replayed.stdout)
    assert report["suspensions_by_rule"]["soft-suspend"]["added"] == []
    assert report["suspensions_by_rule"]["soft-suspend"]["candidate"] == 1


def test_params_set_and_list(directory_engine: Engine, database_url: str, tmp_path: Path) -> None:
    env = {"ABUSEDESK_RULES__PATH": str(DEFAULT_RULES)}

    def cli(*args: str) -> tuple[int, str, str]:
        done = run_cli("rules", "params", *args, database_url=database_url, cwd=tmp_path, env=env)
        return done.returncode, done.stdout, done.stderr

    assert cli("set", "complaint_limit", "8", "--domain", "Shop.Example")[:2] == (
        0,
        "complaint_limit = 8 for domain shop.example\n",
    )
    code, _, error = cli("set", "complaint_limit", "lots", "--domain", "shop.example")
    assert code == 1 and "param 'complaint_limit' is a number" in error
    code, _, error = cli("set", "complaint_limt", "8", "--domain", "shop.example")
    assert code == 1 and "has no param 'complaint_limt'" in error
    code, _, error = cli("set", "complaint_limit", "8", "--company", "Nobody Inc")
    assert code == 1 and "no company named 'Nobody Inc'" in error
    code, out, _ = cli("list", "--json")
    assert json.loads(out) == [
        {"name": "complaint_limit", "scope": "domain", "scope_key": "shop.example", "value": "8"}
    ]
