"""Fixtures shared by the whole suite: every database test runs on SQLite and on PostgreSQL.

PostgreSQL is the server on 127.0.0.1:5432 (override with
ABUSEDESK_TEST_POSTGRES_URL). One throwaway database is created per test run
and each test gets a schema of its own inside it, so tests never see each
other's rows and the run leaves nothing behind.
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from importlib.resources import files
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from abusedesk.accounts.csv_reader import read_account_rows
from abusedesk.accounts.importer import import_accounts
from abusedesk.config import Settings, load_settings, packaged_rules
from abusedesk.service import Listening, Roles, run_service
from abusedesk.store.engine import create_database_engine
from abusedesk.store.migrate import upgrade_database

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "fixtures"
DEFAULT_RULES = packaged_rules()
# The demo's configuration (our relays, provider networks) and sample account directory are
# package data: read them from the package, as `abusedesk demo` does.
DEMO = Path(str(files("abusedesk").joinpath("demo")))
CORPUS = REPO.parent / "shared" / "corpus" / "arf"
POSTGRES_ADMIN_URL = os.environ.get(
    "ABUSEDESK_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """A database created for this test run and dropped after it."""
    name = f"abusedesk_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    # Pre-ping: the fault suite restarts the server, and the DROP at the end must still work.
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT", pool_pre_ping=True)
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database of each kind, not yet migrated."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'abusedesk.sqlite3'}"
        return
    base = request.getfixturevalue("postgres_database")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    admin.dispose()
    yield (
        make_url(base)
        .update_query_dict({"options": f"-csearch_path={schema}"})
        .render_as_string(hide_password=False)
    )


@pytest.fixture
def empty_engine(database_url: str) -> Iterator[Engine]:
    engine = create_database_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def engine(empty_engine: Engine) -> Engine:
    """A migrated, empty database of each kind."""
    upgrade_database(empty_engine)
    return empty_engine


def run_cli(
    *args: str,
    database_url: str | None = None,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    stdin: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run the real `abusedesk` command in a subprocess, as a user would."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("ABUSEDESK_")}
    if database_url:
        environment["ABUSEDESK_DATABASE_URL"] = database_url
    environment.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "abusedesk", *args],
        cwd=cwd,
        env=environment,
        capture_output=True,
        timeout=120,
        input=stdin,
        text=True,
    )


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    """The demo configuration (our relays, provider networks) on this test's database."""
    return load_settings(
        DEMO / "abusedesk.toml",
        environ={
            "ABUSEDESK_DATABASE_URL": database_url,
            "ABUSEDESK_DATA_DIR": str(tmp_path / "data"),
            "ABUSEDESK_SMTP__PORT": "0",
            "ABUSEDESK_WEB__PORT": "0",
            "ABUSEDESK_POLICY__PORT": "0",
        },
    )


@pytest.fixture
def directory_engine(engine: Engine) -> Engine:
    """A migrated database holding the demo's sample account directory."""
    import_accounts(engine, read_account_rows(DEMO / "accounts.csv"))
    return engine


class RunningService:
    """`abusedesk serve` in a background thread with its own event loop."""

    def __init__(self, settings: Settings, engine: Engine, roles: Roles) -> None:
        self._ready = threading.Event()
        self._loop = asyncio.new_event_loop()
        self._stop = asyncio.Event()
        self.listening: Listening | None = None
        self._thread = threading.Thread(
            target=self._loop.run_until_complete,
            args=(run_service(settings, engine, roles, stop=self._stop, on_ready=self._on_ready),),
            daemon=True,
        )

    def _on_ready(self, listening: Listening) -> None:
        self.listening = listening
        self._ready.set()

    def __enter__(self) -> RunningService:
        self._thread.start()
        assert self._ready.wait(10), "service did not start"
        return self

    def __exit__(self, *_exc: object) -> None:
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)
        self._loop.close()

    @property
    def smtp_address(self) -> tuple[str, int]:
        assert self.listening is not None and self.listening.smtp is not None
        return self.listening.smtp


def crlf(raw: bytes) -> bytes:
    """`raw` with CRLF line endings, as SMTP carries it (smtplib sends bytes as they are)."""
    return re.sub(rb"\r\n|\n|\r", b"\r\n", raw)
