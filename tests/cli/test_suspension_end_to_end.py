"""End to end through `abusedesk ingest`: six trusted complaints within 24 h suspend sending."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import DEFAULT_RULES, DEMO, run_cli
from tests.support.reports import numbered_report

ENV = {"ABUSEDESK_RULES__PATH": str(DEFAULT_RULES)}
CONFIG = str(DEMO / "abusedesk.toml")


def write_reports(folder: Path, numbers: range, sender: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for number in numbers:
        (folder / f"{number}.eml").write_bytes(numbered_report(number, sender=sender))
    return folder


def mailbox(address: str, database_url: str) -> dict[str, object]:
    shown = run_cli("mailbox", "show", address, "--json", database_url=database_url, env=ENV)
    assert shown.returncode == 0, shown.stderr
    result: dict[str, object] = json.loads(shown.stdout)
    return result


def test_five_do_not_suspend_the_sixth_does(database_url: str, tmp_path: Path) -> None:
    run_cli("accounts", "import", str(DEMO / "accounts.csv"), database_url=database_url)
    five = write_reports(tmp_path / "five", range(1, 6), "bob@shop.example")
    assert (
        run_cli(
            "--config", CONFIG, "ingest", str(five), database_url=database_url, env=ENV
        ).returncode
        == 0
    )
    bob = mailbox("bob@shop.example", database_url)
    assert bob["services"] == {"send": True, "receive": True, "login": True}
    assert bob["complaints"] == {"complaint": 5} and bob["suspensions"] == []

    again = run_cli("--config", CONFIG, "ingest", str(five), database_url=database_url, env=ENV)
    assert again.returncode == 0  # the same five again: duplicates, counted once
    assert mailbox("bob@shop.example", database_url)["suspensions"] == []

    sixth = write_reports(tmp_path / "sixth", range(6, 7), "bob@shop.example")
    run_cli("--config", CONFIG, "ingest", str(sixth), database_url=database_url, env=ENV)
    bob = mailbox("bob@shop.example", database_url)
    assert bob["status"] == "some-services-disabled"
    assert bob["services"] == {"send": False, "receive": True, "login": True}
    [suspension] = bob["suspensions"]  # type: ignore[misc]
    assert suspension["rule"] == "soft-suspend" and suspension["service"] == "send"
    assert len(suspension["complaint_ids"]) == 6


def test_untrusted_reports_never_suspend(database_url: str, tmp_path: Path) -> None:
    run_cli("accounts", "import", str(DEMO / "accounts.csv"), database_url=database_url)
    six = write_reports(tmp_path / "six", range(1, 7), "bob@shop.example")
    run_cli(
        "--config", CONFIG, "ingest", "--untrusted", str(six), database_url=database_url, env=ENV
    )
    bob = mailbox("bob@shop.example", database_url)
    assert bob["complaints"] == {"complaint": 6}
    assert bob["services"] == {"send": True, "receive": True, "login": True}
