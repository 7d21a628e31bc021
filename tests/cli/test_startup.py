"""A command imports only what it runs: the import sets of `--version`, `parse` and `ingest -`.

Each command runs in a fresh interpreter, as a shell or an MTA's pipe transport
starts it, and prints the modules it had loaded when it exited. A module that
comes back (a top-level import of the web app in a command module, Alembic for
a database that is already current, rich for one report) fails here, with its
name; bench/cli_startup.py shows what that costs.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from tests.conftest import DEMO, FIXTURES

from abusedesk.errors import StorageError
from abusedesk.store.engine import create_database_engine
from abusedesk.store.migrate import (
    HEAD_REVISION,
    head_revision,
    schema_is_current,
    upgrade_database,
)
from abusedesk.store.schema import ensure_schema

REPORT = FIXTURES / "reports" / "attribution" / "01-relay-alice.eml"

# Runs the real command line, then lists every module it loaded (the atexit hook runs last).
PROBE = """
import atexit, sys
atexit.register(lambda: sys.stderr.write("\\nmodules: " + " ".join(sorted(sys.modules)) + "\\n"))
sys.argv[0] = "abusedesk"
from abusedesk.cli import main
main()
"""

WEB_AND_SERVICE = {"starlette", "uvicorn", "aiosmtpd", "prometheus_client", "imapclient"}
RULES_AND_NOTICES = {"durable", "durable_rules_engine", "yaml", "jinja2"}
OPTIONAL = {"alembic", "rich", "dkim", "dns", "mailparser"}
"""Loaded only for what needs them: a migration, a progress bar, a DKIM signature, an
encoded-word."""


def loaded_modules(
    *args: str, database_url: str, data_dir: Path, stdin: bytes | None = None
) -> tuple[str, set[str]]:
    """The output of `abusedesk ARGS` and the modules it had loaded when it exited."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ABUSEDESK_")}
    env.update(
        {
            "ABUSEDESK_CONFIG": str(DEMO / "abusedesk.toml"),
            "ABUSEDESK_DATABASE_URL": database_url,
            "ABUSEDESK_DATA_DIR": str(data_dir),
        }
    )
    result = subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        input=stdin,
        stdin=None if stdin is not None else subprocess.DEVNULL,
        capture_output=True,
        env=env,
        cwd=data_dir,
        timeout=120,
        check=False,
    )
    stderr = result.stderr.decode()
    assert result.returncode == 0, stderr
    listed = [line for line in stderr.splitlines() if line.startswith("modules: ")]
    assert len(listed) == 1, stderr
    return result.stdout.decode(), set(listed[0].removeprefix("modules: ").split())


def packages(modules: set[str]) -> set[str]:
    """Top-level packages, and abusedesk's own by stage (`abusedesk.store`)."""
    return {m.split(".")[0] for m in modules} | {
        ".".join(m.split(".")[:2]) for m in modules if m.startswith("abusedesk.")
    }


def test_version_loads_the_command_line_and_nothing_else(tmp_path: Path) -> None:
    output, modules = loaded_modules(
        "--version", database_url=f"sqlite:///{tmp_path / 'unused.sqlite3'}", data_dir=tmp_path
    )
    assert output.startswith("abusedesk ")
    ours = {m for m in modules if m.split(".")[0] == "abusedesk"}
    assert ours == {
        "abusedesk",
        "abusedesk.cli",
        "abusedesk.cli.app",
        "abusedesk.cli.context",
        "abusedesk.errors",
    }
    heavy = {"pydantic", "sqlalchemy", "sqlmodel", *WEB_AND_SERVICE, *RULES_AND_NOTICES, *OPTIONAL}
    assert heavy & packages(modules) == set()
    assert not (tmp_path / "unused.sqlite3").exists()


def test_parse_loads_neither_the_rules_nor_the_worker(
    directory_engine: Engine, database_url: str, tmp_path: Path
) -> None:
    raw = REPORT.read_bytes()
    assert b"=?" not in raw and b"DKIM-Signature" not in raw  # nothing optional to decode
    output, modules = loaded_modules(
        "parse", str(REPORT), database_url=database_url, data_dir=tmp_path
    )
    assert "charged to alice@shop.example by relay-received (high)" in output
    unwanted = {
        *WEB_AND_SERVICE,
        *RULES_AND_NOTICES,
        *OPTIONAL,
        "abusedesk.decide",
        "abusedesk.act",
        "abusedesk.notify",
        "abusedesk.pipeline",
        "abusedesk.enforce",
        "abusedesk.web",
        "abusedesk.service",
    }
    assert unwanted & packages(modules) == set()
    assert "abusedesk.cli.demo" not in modules


def test_ingest_of_one_report_loads_no_web_app_progress_bar_or_migrations(
    directory_engine: Engine, database_url: str, tmp_path: Path
) -> None:
    output, modules = loaded_modules(
        "ingest", "-", database_url=database_url, data_dir=tmp_path, stdin=REPORT.read_bytes()
    )
    assert output == "stored 1 report(s); processed 1\n"
    with directory_engine.connect() as connection:
        charged = connection.execute(
            text(
                "SELECT mailbox.address FROM complaint JOIN mailbox ON mailbox.id = "
                "complaint.mailbox_id"
            )
        ).all()
        decisions = connection.execute(text("SELECT count(*) FROM decision")).scalar_one()
    assert charged == [("alice@shop.example",)]
    assert decisions == 1  # decided by the rules, which it therefore loads
    assert RULES_AND_NOTICES & packages(modules) == RULES_AND_NOTICES
    unwanted = {
        *WEB_AND_SERVICE,
        *OPTIONAL,
        "abusedesk.enforce",
        "abusedesk.web",
        "abusedesk.service",
    }
    assert unwanted & packages(modules) == set()
    assert "abusedesk.cli.demo" not in modules


def test_a_one_report_ingest_leaves_the_sqlite_database_closed(tmp_path: Path) -> None:
    database = tmp_path / "abusedesk.sqlite3"
    upgrade_database_at(f"sqlite:///{database}")
    output, _modules = loaded_modules(
        "ingest",
        "-",
        database_url=f"sqlite:///{database}",
        data_dir=tmp_path,
        stdin=REPORT.read_bytes(),
    )
    assert output == "stored 1 report(s); processed 1\n"
    # Every connection was closed (the last one folds the write-ahead log back in).
    assert sorted(p.name for p in tmp_path.glob("abusedesk.sqlite3*")) == ["abusedesk.sqlite3"]


def upgrade_database_at(url: str) -> None:
    engine = create_database_engine(url)
    try:
        upgrade_database(engine)
    finally:
        engine.dispose()


def test_head_revision_is_alembics_head(empty_engine: Engine) -> None:
    assert head_revision(empty_engine) == HEAD_REVISION, (
        "a migration was added: set HEAD_REVISION in store/migrate.py to its revision"
    )


def test_only_a_database_at_the_head_is_current_without_alembic(empty_engine: Engine) -> None:
    assert not schema_is_current(empty_engine)
    upgrade_database(empty_engine, "0009")
    assert not schema_is_current(empty_engine)
    with pytest.raises(
        StorageError, match=r"schema is at revision 0009 .* run `abusedesk db upgrade`"
    ):
        ensure_schema(empty_engine)
    upgrade_database(empty_engine)
    assert schema_is_current(empty_engine)
    ensure_schema(empty_engine)
