"""`abusedesk demo` tells the whole story on SQLite and loopback ports: `--once` stops after it,
Ctrl-C stops it otherwise; the hints it prints run as printed."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlmodel import Session, col
from tests.conftest import run_cli

from abusedesk.cli.demo_samples import load_samples
from abusedesk.store.engine import create_database_engine
from abusedesk.store.tables import Complaint
from abusedesk.store.types import utcnow

FREE_PORTS = ("--smtp-port", "0", "--web-port", "0", "--policy-port", "0")


@dataclass(frozen=True)
class Told:
    out: str
    folder: Path
    started: datetime


@pytest.fixture(scope="module")
def told(tmp_path_factory: pytest.TempPathFactory) -> Told:
    """One `demo --once` run with its data kept, for the tests that read what it told."""
    cwd = tmp_path_factory.mktemp("demo")
    folder = cwd / "d"
    started = utcnow()
    result = run_cli("demo", "--once", *FREE_PORTS, "--data-dir", str(folder), cwd=cwd)
    assert result.returncode == 0, result.stderr
    return Told(result.stdout, folder, started)


def test_demo_tells_the_story(told: Told) -> None:
    out, folder = told.out, told.folder
    assert "10 sample mailboxes imported" in out
    assert "charged to alice@shop.example" in out
    assert "charged to carol.baker@bakery.example" in out
    assert "quarantined  unattributed complaint" in out
    assert "newsletter@shop.example: sending suspended by rule 'soft-suspend'" in out
    assert "3. The policy (the default policy packaged with abusedesk) decided:" in out
    assert "sasl_username=newsletter@shop.example -> action=REJECT 5.7.1" in out
    assert "sasl_username=alice@shop.example -> action=DUNNO" in out
    assert f"--config {folder / 'abusedesk.toml'}" in out
    # The AUP notice went through the outbox and over SMTP, and is shown as read.
    assert "4. The AUP notice went to abuse@acme-resellers.example (sent, 1 message(s)" in out
    assert "   | Subject: Sending suspended for newsletter@shop.example (AUP notice)" in out
    assert "   | Sample messages (3 of 6 complained about)" in out
    assert "   |     Message-ID: <offer-9001@shop.example>" in out
    assert out.rstrip().endswith(f"demo stopped; its data stays in {folder}")
    assert (folder / "abusedesk.sqlite3").is_file()


def test_the_demo_says_which_reports_are_forged_and_that_they_are_quarantined(
    told: Told,
) -> None:
    explained = dict(re.findall(r"^   - report (\d+) \((\S+)\): ", told.out, re.MULTILINE))
    forged = {sample.name for sample in load_samples(utcnow()) if sample.forged}
    assert forged and set(explained.values()) == forged
    for report_id in explained:
        assert re.search(rf"^   report +{report_id}: complaint +quarantined ", told.out, re.M)
    assert "quarantined for a person to review" in told.out


def test_the_sample_reports_are_dated_within_the_last_two_hours(told: Told) -> None:
    engine = create_database_engine(f"sqlite:///{told.folder / 'abusedesk.sqlite3'}")
    with Session(engine) as session:
        times = session.execute(select(col(Complaint.occurred_at))).scalars().all()
    engine.dispose()
    # The dashboard's "last 24 hours" panels show them, however old the package is (a report's
    # newest date is minutes old; its complaint, the provider's Arrival-Date, came before).
    assert len(times) >= 6
    assert all(told.started - timedelta(hours=2) < when < told.started for when in times)


def test_the_hints_run_as_printed(told: Told, tmp_path: Path) -> None:
    hints = told.out.split("5. Try it yourself", 1)[1].splitlines()[1:]
    commands = [line.strip() for line in hints if line.startswith("   ") and "--config" in line]
    assert len(commands) >= 8
    for command in commands:
        program = shlex.split(command.split(" | ")[-1])[0]
        assert (program == "abusedesk" and shutil.which(program)) or Path(program).is_file()

    def run(needle: str) -> subprocess.CompletedProcess[str]:
        [line] = [c for c in commands if needle in c]
        env = {k: v for k, v in os.environ.items() if not k.startswith("ABUSEDESK_")}
        ran = subprocess.run(
            ["bash", "-c", line], env=env, cwd=tmp_path, capture_output=True, text=True
        )
        assert ran.returncode == 0, f"{line}\n{ran.stderr}"
        return ran

    password = re.search(r"signs in to the console with password (\S+)\)", told.out)
    assert password and f"printf '%s\\n' {password[1]} |" in told.out
    assert "added staff me" in run("users add me").stdout
    assert "sending restored" in run("suspensions lift newsletter@shop.example").stdout
    parsed = run("parse --json").stdout.splitlines()
    assert len(parsed) == len(load_samples(utcnow()))


def test_ctrl_c_stops_the_demo_and_removes_its_temporary_folder(tmp_path: Path) -> None:
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("ABUSEDESK_")}
    output = tmp_path / "out.txt"
    with output.open("w") as sink:
        demo = subprocess.Popen(
            [sys.executable, "-m", "abusedesk", "demo", *FREE_PORTS],
            env={**env, "TMPDIR": str(temporary)},
            cwd=tmp_path,
            stdout=sink,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 120
            while "Ctrl-C stops it." not in output.read_text():
                assert demo.poll() is None and time.monotonic() < deadline, output.read_text()
                time.sleep(0.2)
            [made] = list(temporary.glob("abusedesk-demo-*"))
            assert f"demo data in {made} (a temporary folder, removed when the demo stops)" in (
                output.read_text()
            )
            demo.send_signal(signal.SIGINT)
            assert demo.wait(60) == 0
        finally:
            if demo.poll() is None:
                demo.kill()
                demo.wait()
    assert (
        output.read_text().rstrip().endswith(f"demo stopped; removed its temporary folder {made}")
    )
    assert list(temporary.iterdir()) == []
