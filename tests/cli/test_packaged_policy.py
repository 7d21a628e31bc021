"""Without `[rules] path` the policy packaged with abusedesk runs, and the commands say so; a
configured rules file that is missing is a configuration error before anything is stored."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlmodel import Session
from tests.conftest import DEFAULT_RULES, DEMO, run_cli
from tests.support.cli import run_in_process

from abusedesk.store.tables import Mailbox, RawReport

CONFIG = str(DEMO / "abusedesk.toml")
REPORT = str(DEMO / "reports" / "01-relay-alice.eml")


def test_without_a_rules_path_the_packaged_policy_is_checked_and_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in os.environ:
        if name.startswith("ABUSEDESK_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)  # no abusedesk.toml, no rules/ here
    checked = run_in_process(monkeypatch, capsys, "rules", "check")
    assert checked.code == 0 and checked.out.startswith(f"{DEFAULT_RULES}: OK"), checked.err
    status = run_in_process(monkeypatch, capsys, "rules", "status")
    assert f"on disk:  {DEFAULT_RULES} (the packaged default policy) sha256" in status.out


def test_ingest_processes_a_report_under_the_packaged_policy(
    database_url: str, tmp_path: Path
) -> None:
    imported = run_cli(
        "--config", CONFIG, "accounts", "import", str(DEMO / "accounts.csv"),
        database_url=database_url, cwd=tmp_path,
    )  # fmt: skip
    assert imported.returncode == 0, imported.stderr
    ingested = run_cli(
        "--config", CONFIG, "ingest", REPORT, database_url=database_url, cwd=tmp_path
    )
    assert ingested.returncode == 0, ingested.stderr
    assert "stored 1 report(s); processed 1" in ingested.stdout
    listed = run_cli(
        "--config", CONFIG, "reports", "list", "--json", database_url=database_url, cwd=tmp_path
    )
    assert [report["status"] for report in json.loads(listed.stdout)] == ["processed"]


def test_a_missing_configured_rules_file_stops_ingest_and_import_before_they_store(
    engine: Engine, database_url: str, tmp_path: Path
) -> None:
    missing = tmp_path / "rules" / "ours.yaml"
    env = {"ABUSEDESK_RULES__PATH": str(missing)}
    for args in (["ingest", REPORT], ["accounts", "import", str(DEMO / "accounts.csv")]):
        result = run_cli(
            "--config", CONFIG, *args, database_url=database_url, cwd=tmp_path, env=env
        )
        assert result.returncode == 78, result.stderr
        assert result.stderr.count("\n") == 1
        assert f"{missing}: no such rules file" in result.stderr
    with Session(engine) as session:
        assert session.execute(select(func.count()).select_from(RawReport)).scalar_one() == 0
        assert session.execute(select(func.count()).select_from(Mailbox)).scalar_one() == 0
