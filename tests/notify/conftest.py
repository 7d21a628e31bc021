"""Fixtures for notice tests: an aiosmtpd smarthost sink and settings that point at it."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest

from abusedesk.config import NoticesSettings, Settings
from tests.support.smtp_sink import SmtpSink

FROM = "abuse-desk@platform.example"
PLATFORM = "abuse@platform.example"
BASE_TIME = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    with SmtpSink() as running:
        yield running


def notice_settings(port: int, **changes: object) -> NoticesSettings:
    """[notices] for tests: the sink as smarthost, quick rounds and short backoff."""
    values: dict[str, object] = {
        "smarthost": "127.0.0.1",
        "smarthost_port": port,
        "from_address": FROM,
        "platform_abuse_address": PLATFORM,
        "send_interval_seconds": 0.1,
        "retry_initial_seconds": 0.2,
        "retry_max_seconds": 0.5,
        "smtp_timeout_seconds": 5.0,
    }
    values.update(changes)
    return NoticesSettings.model_validate(values)


def with_notices(settings: Settings, notices: NoticesSettings) -> Settings:
    return settings.model_copy(update={"notices": notices})


def wait_for(condition: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.05)


def at(minutes: float) -> datetime:
    return BASE_TIME + timedelta(minutes=minutes)
