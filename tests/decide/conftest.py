"""Helpers for decision tests: the default rules, complaints written as the recorder writes them."""

from __future__ import annotations

import itertools
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlmodel import Session, col
from tests.conftest import DEFAULT_RULES

from abusedesk.decide.engine import PolicyEngine
from abusedesk.decide.loader import load_rules
from abusedesk.record.complaints import record_synthetic_complaint
from abusedesk.store.tables import Complaint, Mailbox

_serial = itertools.count()


@pytest.fixture
def policy() -> PolicyEngine:
    return PolicyEngine(load_rules(DEFAULT_RULES))


def policy_from(path: Path) -> PolicyEngine:
    return PolicyEngine(load_rules(path))


def mailbox_id(engine: Engine, address: str) -> int:
    with Session(engine) as session:
        found = session.execute(
            select(col(Mailbox.id)).where(col(Mailbox.address) == address)
        ).scalar_one()
    return int(found)


def add_complaint(
    session: Session,
    mailbox: int | None,
    at: datetime,
    *,
    trusted: bool = True,
    kind: str = "complaint",
) -> Complaint:
    """A recorded complaint, as the worker leaves it (its raw report included)."""
    complaint = record_synthetic_complaint(session, mailbox, at, trusted=trusted, kind=kind)
    return complaint
