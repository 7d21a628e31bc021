"""Workers on PostgreSQL decide one domain at a time: the locks a batch takes first."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError
from sqlmodel import Session
from tests.enforce.lifecycle import mailbox_id

from abusedesk.decide.locks import lock_batch, lock_mailbox


def blocked(engine: Engine, addresses: list[str], keys: list[str]) -> bool:
    """Whether a second worker's batch would have to wait for these locks."""
    with Session(engine) as session:
        session.execute(text("SET LOCAL lock_timeout = '100ms'"))
        try:
            lock_batch(session, addresses, keys)
        except OperationalError:
            return True
        finally:
            session.rollback()
    return False


@pytest.fixture
def postgres_directory(directory_engine: Engine) -> Engine:
    if directory_engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer at a time: there is nothing to lock")
    return directory_engine


def test_a_batch_holds_its_mailboxes_domains_and_companies_until_it_commits(
    postgres_directory: Engine,
) -> None:
    with Session(postgres_directory) as first:
        lock_batch(first, ["Alice@shop.example"], ["key-1"])
        # Another mailbox of the same domain (and company) waits: its domain counters
        # must see the first batch's complaints.
        assert blocked(postgres_directory, ["bob@shop.example"], [])
        assert blocked(postgres_directory, [], ["key-1"])  # a copy of the same report
        assert not blocked(postgres_directory, [], ["key-2"])
        first.commit()
    assert not blocked(postgres_directory, ["bob@shop.example"], ["key-1"])


def test_a_decision_outside_a_batch_locks_the_domain_too(postgres_directory: Engine) -> None:
    with Session(postgres_directory) as lifting:
        lock_mailbox(lifting, mailbox_id(postgres_directory, "alice@shop.example"))
        assert blocked(postgres_directory, ["bob@shop.example"], [])
        lifting.rollback()
    assert not blocked(postgres_directory, ["bob@shop.example"], [])


def test_a_later_transaction_of_the_same_session_locks_again(postgres_directory: Engine) -> None:
    alice = mailbox_id(postgres_directory, "alice@shop.example")
    with Session(postgres_directory) as session:
        lock_batch(session, ["alice@shop.example"], [])
        lock_mailbox(session, alice)  # held by the batch already
        session.commit()
        assert not blocked(postgres_directory, ["bob@shop.example"], [])
        lock_mailbox(session, alice)  # a new transaction: the batch's locks are gone
        assert blocked(postgres_directory, ["bob@shop.example"], [])
        session.rollback()
