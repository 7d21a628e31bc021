"""`abusedesk demo --once` tells the whole story on SQLite and loopback ports, then stops."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import run_cli


def test_demo_tells_the_story(tmp_path: Path) -> None:
    result = run_cli(
        "demo",
        "--once",
        "--smtp-port",
        "0",
        "--web-port",
        "0",
        "--policy-port",
        "0",
        "--data-dir",
        str(tmp_path / "d"),
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "10 sample mailboxes imported" in out
    assert "charged to alice@shop.example" in out
    assert "charged to carol.baker@bakery.example" in out
    assert "quarantined  unattributed complaint" in out
    assert "newsletter@shop.example: sending suspended by rule 'soft-suspend'" in out
    assert "sasl_username=newsletter@shop.example -> action=REJECT 5.7.1" in out
    assert "sasl_username=alice@shop.example -> action=DUNNO" in out
    assert f"--config {tmp_path / 'd' / 'abusedesk.toml'}" in out
    # The AUP notice went through the outbox and over SMTP, and is shown as read.
    assert "4. The AUP notice went to abuse@acme-resellers.example (sent, 1 message(s)" in out
    assert "   | Subject: Sending suspended for newsletter@shop.example (AUP notice)" in out
    assert "   | Sample messages (3 of 6 complained about)" in out
    assert "   |     Message-ID: <offer-9001@shop.example>" in out
    assert (tmp_path / "d" / "abusedesk.sqlite3").is_file()
