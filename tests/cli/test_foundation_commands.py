"""The real `abusedesk` command: help tree, one-line errors, the account directory commands."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import DEMO, run_cli


def test_version_and_help_tree() -> None:
    assert run_cli("--version").stdout.strip().startswith("abusedesk ")
    help_text = run_cli("--help").stdout
    for command in ("db", "accounts", "mailbox"):
        assert command in help_text


def test_errors_are_one_line_and_non_zero(tmp_path: Path) -> None:
    cases = [
        (("no-such-command",), "No such command"),
        (("mailbox", "show"), "Missing argument"),
        (("accounts", "import", str(tmp_path / "missing.csv")), "cannot read"),
        (("--config", str(tmp_path / "none.toml"), "accounts", "list"), "does not exist"),
    ]
    for args, message in cases:
        result = run_cli(*args, cwd=tmp_path)
        assert result.returncode != 0, args
        assert result.stderr.count("\n") == 1, result.stderr
        assert result.stderr.startswith("abusedesk: ") and message in result.stderr
        assert "Traceback" not in result.stderr


def test_bad_environment_value_names_the_key(tmp_path: Path) -> None:
    result = run_cli("accounts", "list", cwd=tmp_path, env={"ABUSEDESK_SMTP__PORT": "many"})
    assert result.returncode == 78
    assert "smtp.port" in result.stderr and "Traceback" not in result.stderr


def test_database_unavailable_is_a_temporary_failure(tmp_path: Path) -> None:
    result = run_cli(
        "accounts",
        "list",
        cwd=tmp_path,
        database_url="postgresql+psycopg://postgres@127.0.0.1:1/none?connect_timeout=2",
    )
    assert result.returncode == 75
    assert result.stderr.startswith("abusedesk: database unavailable")


def test_import_list_and_show(database_url: str, tmp_path: Path) -> None:
    imported = run_cli("accounts", "import", str(DEMO / "accounts.csv"), database_url=database_url)
    assert imported.returncode == 0, imported.stderr
    assert "10 mailboxes created" in imported.stdout
    again = run_cli("accounts", "import", str(DEMO / "accounts.csv"), database_url=database_url)
    assert "(nothing changed)" in again.stdout

    listed = json.loads(run_cli("accounts", "list", "--json", database_url=database_url).stdout)
    assert len(listed) == 10
    assert {m["address"] for m in listed} >= {"alice@shop.example", "carol.baker@bakery.example"}

    shown = run_cli("mailbox", "show", "Alice@SHOP.example", "--json", database_url=database_url)
    assert json.loads(shown.stdout) == {
        "address": "alice@shop.example",
        "status": "active",
        "services": {"send": True, "receive": True, "login": True},
        "company": "Acme Hosting Resellers",
        "domain": "shop.example",
        "created_at": "2024-03-01T09:00:00+00:00",
        "complaints": {},
        "suspensions": [],
    }


def test_db_upgrade_reports_what_it_did(database_url: str) -> None:
    first = run_cli("db", "upgrade", database_url=database_url)
    assert first.returncode == 0 and "upgraded from empty" in first.stdout
    second = run_cli("db", "upgrade", database_url=database_url)
    assert "already at revision" in second.stdout
