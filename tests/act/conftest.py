"""Fixtures for act/ tests: the shipped default rules."""

from __future__ import annotations

import pytest
from tests.decide.conftest import DEFAULT_RULES, policy_from

from abusedesk.decide.engine import PolicyEngine


@pytest.fixture
def policy() -> PolicyEngine:
    return policy_from(DEFAULT_RULES)
