"""Fixtures for the console and API tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine
from tests.web.console_world import World, build_world, serving

from abusedesk.config import Settings
from abusedesk.decide import policy_engine
from abusedesk.metrics import Metrics
from abusedesk.store.engine import create_database_engine
from abusedesk.web.app import build_app
from abusedesk.web.console.mount import build_console
from abusedesk.web.provisioning import ProvisioningApi


@pytest.fixture
def world(settings: Settings, directory_engine: Engine) -> Iterator[World]:
    yield from _served(build_world(settings, directory_engine, policy_engine(settings)))


@pytest.fixture
def world_with_passwords(settings: Settings, directory_engine: Engine) -> Iterator[World]:
    """The same world, its admins with the password `PASSWORD` (argon2 is slow on purpose)."""
    yield from _served(
        build_world(settings, directory_engine, policy_engine(settings), passwords=True)
    )


@pytest.fixture
def second_node(world_with_passwords: World, settings: Settings) -> Iterator[str]:
    """The same console served by another node: its own engine, throttle and port; its URL."""
    engine = create_database_engine(settings.effective_database_url)
    policy = policy_engine(settings)
    console = build_console(settings, engine, policy)
    app = build_app(Metrics(), ProvisioningApi(engine, policy, None), console)
    try:
        with serving(app) as base_url:
            yield base_url
    finally:
        engine.dispose()


def _served(built: World) -> Iterator[World]:
    with serving(built.app) as base_url:
        built.base_url = base_url
        try:
            yield built
        finally:
            built.close()
