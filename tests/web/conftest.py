"""Fixtures for the console and API tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine
from tests.web.console_world import World, build_world, serving

from abusedesk.config import Settings
from abusedesk.decide import policy_engine


@pytest.fixture
def world(settings: Settings, directory_engine: Engine) -> Iterator[World]:
    yield from _served(build_world(settings, directory_engine, policy_engine(settings)))


@pytest.fixture
def world_with_passwords(settings: Settings, directory_engine: Engine) -> Iterator[World]:
    """The same world, its admins with the password `PASSWORD` (argon2 is slow on purpose)."""
    yield from _served(
        build_world(settings, directory_engine, policy_engine(settings), passwords=True)
    )


def _served(built: World) -> Iterator[World]:
    with serving(built.app) as base_url:
        built.base_url = base_url
        try:
            yield built
        finally:
            built.close()
