"""Helpers for the fault suite: one database kind per fault, polling, plain SMTP sends.

Each fault runs on the database it is about (a PostgreSQL restart, a full disk
under SQLite); `on_sqlite` and `on_postgresql` pick the kind for a test.
"""

from __future__ import annotations

import smtplib
import time
from collections.abc import Callable

import pytest

on_sqlite = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
on_postgresql = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)

Address = tuple[str, int]


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> float:
    """Seconds until `condition` held; fails the test after `timeout`."""
    started = time.monotonic()
    while not condition():
        assert time.monotonic() - started < timeout, f"timed out ({timeout}s) waiting for {what}"
        time.sleep(0.05)
    return time.monotonic() - started


def send_report(address: Address, raw: bytes, timeout: float = 30) -> tuple[int, bytes]:
    """One report in one SMTP session; the reply to DATA (a refused RCPT raises)."""
    with smtplib.SMTP(*address, timeout=timeout) as client:
        client.ehlo("mx.provider.example")
        client.mail("fbl@provider.example")
        client.rcpt("fbl@abusedesk.example")
        return client.data(raw)
