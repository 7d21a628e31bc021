"""The SQLite data dir fills up: the listener answers 451 (never 250, never a crash), the
database stays intact (PRAGMA integrity_check), and reports go in again once space returns.

The data dir is a small tmpfs mounted by the test (root can), so "disk full" is
the kernel's real ENOSPC, met by SQLite while it writes its WAL.
"""

from __future__ import annotations

import contextlib
import errno
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select, text
from sqlmodel import Session

from abusedesk.config import Settings, load_settings
from abusedesk.service import Roles
from abusedesk.store.engine import create_database_engine
from abusedesk.store.migrate import upgrade_database
from abusedesk.store.tables import RawReport
from tests.conftest import DEFAULT_RULES, DEMO, RunningService, crlf
from tests.faults.conftest import send_report
from tests.support.reports import numbered_report

TMPFS_SIZE = "16m"
PADDING = b"X" * 76 + b"\r\n"


@contextlib.contextmanager
def small_disk(path: Path) -> Iterator[Path]:
    path.mkdir()
    subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={TMPFS_SIZE}", "tmpfs", str(path)], check=True
    )
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=True)


def fill(path: Path) -> Path:
    """Write a file until the file system has no space left; returns it (delete it to free)."""
    filler = path / "filler"
    block = b"\0" * 65536
    with filler.open("wb", buffering=0) as output:
        try:
            while True:
                output.write(block)
        except OSError as exc:
            assert exc.errno == errno.ENOSPC, exc
        # Whatever is smaller than a block goes too: not a byte may be left.
        with contextlib.suppress(OSError):
            while True:
                output.write(b"\0")
    return filler


def padded_report(number: int, kib: int = 128) -> bytes:
    head, tail = crlf(numbered_report(number)).split(b"Buy now!\r\n")
    return head + PADDING * (kib * 1024 // len(PADDING)) + tail


def stored_count(engine: Engine) -> int:
    with Session(engine) as session:
        return session.execute(select(func.count()).select_from(RawReport)).scalar_one()


@pytest.mark.skipif(os.geteuid() != 0, reason="mounting a tmpfs needs root")
def test_a_full_disk_answers_451_keeps_the_database_intact_and_recovers(tmp_path: Path) -> None:
    with small_disk(tmp_path / "data") as data:
        url = f"sqlite:///{data / 'abusedesk.sqlite3'}"
        settings: Settings = load_settings(
            DEMO / "abusedesk.toml",
            environ={
                "ABUSEDESK_DATABASE_URL": url,
                "ABUSEDESK_DATA_DIR": str(data),
                "ABUSEDESK_SMTP__PORT": "0",
                "ABUSEDESK_WEB__PORT": "0",
                "ABUSEDESK_RULES__PATH": str(DEFAULT_RULES),
            },
        )
        engine = create_database_engine(url)
        try:
            upgrade_database(engine)
            with RunningService(settings, engine, Roles(web=False, imap=False)) as service:
                assert send_report(service.smtp_address, padded_report(1))[0] == 250
                filler = fill(data)
                answers = []
                for number in range(2, 40):
                    code, message = send_report(service.smtp_address, padded_report(number))
                    answers.append(code)
                    if code != 250:
                        assert code == 451 and message.startswith(b"4.3.0"), message
                        break
                assert answers[-1] == 451, f"the full disk was never noticed: {answers}"
                accepted_while_full = answers.count(250)

                filler.unlink()
                code, message = send_report(service.smtp_address, padded_report(100))
                assert code == 250, message
            with engine.connect() as connection:
                assert connection.execute(text("PRAGMA integrity_check")).scalar_one() == "ok"
            # Every 250 is in the database; the 451 stored nothing.
            assert stored_count(engine) == 1 + accepted_while_full + 1
        finally:
            engine.dispose()
