"""Every input the CLI reads, in an encoding it cannot read, gets one line and the right
exit code — never an internal error (70) with a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from tests.conftest import DEFAULT_RULES, FIXTURES, REPO

LATIN1 = "caf\xe9 = 1\n".encode("latin-1")
CONFIG_EXIT, DATA_EXIT, USAGE_EXIT, INTERNAL = 78, 65, 64, 70


def abusedesk(
    *args: str, stdin: bytes = b"", database_url: str | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[bytes]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("ABUSEDESK_")}
    if database_url:
        environment["ABUSEDESK_DATABASE_URL"] = database_url
    return subprocess.run(
        [sys.executable, "-m", "abusedesk", *args],
        input=stdin,
        capture_output=True,
        env=environment,
        cwd=cwd,
        timeout=120,
    )


def one_line(done: subprocess.CompletedProcess[bytes], *, problems: bool = False) -> str:
    """The error, which is one line; `rules check` lists one line a problem and a summary."""
    error = done.stderr.decode("utf-8", "replace").strip()
    assert "Traceback" not in error and "internal error" not in error, error
    lines = error.splitlines()
    assert len(lines) == (2 if problems else 1), error
    if problems:
        assert lines[1].endswith("1 problem(s); nothing loaded"), error
    return lines[0]


def test_a_config_file_that_is_not_utf8_is_a_configuration_error(tmp_path: Path) -> None:
    config = tmp_path / "abusedesk.toml"
    config.write_bytes(b'data_dir = "d"\n# ' + LATIN1)

    done = abusedesk("--config", str(config), "rules", "check")

    assert done.returncode == CONFIG_EXIT
    assert f"{config}: not UTF-8 text" in one_line(done)


def test_a_rules_file_that_is_not_utf8_is_named(tmp_path: Path) -> None:
    rules = tmp_path / "policy.yaml"
    rules.write_bytes(b"# " + LATIN1)

    done = abusedesk("rules", "check", str(rules))

    assert done.returncode not in (0, INTERNAL)
    assert f"{rules}: cannot read the rules file" in one_line(done, problems=True)


def test_scenarios_that_are_not_utf8_are_named(tmp_path: Path) -> None:
    rules = tmp_path / "policy.yaml"
    rules.write_bytes(DEFAULT_RULES.read_bytes())
    scenarios = tmp_path / "policy.scenarios.yaml"
    scenarios.write_bytes(b"# " + LATIN1)

    done = abusedesk("rules", "test", str(rules))

    assert done.returncode not in (0, INTERNAL)
    assert f"{scenarios}: cannot read the scenarios" in one_line(done)


def test_an_accounts_file_that_is_not_utf8_is_named(database_url: str, tmp_path: Path) -> None:
    accounts = tmp_path / "accounts.csv"
    accounts.write_bytes(
        b"address,company,company_abuse_contact\nj\xe9@shop.example,Shop,abuse@shop.example\n"
    )

    done = abusedesk("accounts", "import", str(accounts), database_url=database_url)

    assert done.returncode not in (0, INTERNAL)
    assert f"{accounts}: not UTF-8 text" in one_line(done)


@pytest.mark.parametrize("where", ["file", "stdin"])
def test_a_report_in_any_bytes_is_stored_and_processed(
    database_url: str, tmp_path: Path, where: str
) -> None:
    raw = (FIXTURES / "reports" / "arf-not-spam.eml").read_bytes() + b"\n\xff\xfe\xe9 latin-1\n"
    path = tmp_path / "report.eml"
    path.write_bytes(raw)
    args = ("ingest", "-") if where == "stdin" else ("ingest", str(path))

    done = abusedesk(*args, stdin=raw, database_url=database_url, cwd=REPO)

    assert done.returncode == 0, done.stderr
    parsed = abusedesk("parse", str(path), database_url=database_url, cwd=REPO)
    assert parsed.returncode == 0, parsed.stderr


def test_a_password_on_stdin_that_is_not_utf8_is_a_usage_error(database_url: str) -> None:
    done = abusedesk(
        "users",
        "add",
        "sam",
        "--role",
        "staff",
        "--password-stdin",
        stdin=b"caf\xe9-secret\n",
        database_url=database_url,
    )

    assert done.returncode == USAGE_EXIT
    assert "--password-stdin: the password is not UTF-8 text" in one_line(done)
