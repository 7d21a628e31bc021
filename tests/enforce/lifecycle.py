"""Suspend and lift mailboxes the way the rest of abusedesk does, for enforcement tests."""

from __future__ import annotations

from sqlalchemy import Engine, select
from sqlmodel import Session, col

from abusedesk.access import Role
from abusedesk.access.scope import Actor
from abusedesk.act.lifecycle import delete_mailbox, lift_suspension
from abusedesk.act.suspend import soft_suspend
from abusedesk.store.tables import Decision, Mailbox
from abusedesk.store.types import LiftOutcome, utcnow

STAFF = Actor("abuse-team", Role.STAFF, None, None, "test")


def mailbox_id(engine: Engine, address: str) -> int:
    with Session(engine) as session:
        found = session.execute(
            select(col(Mailbox.id)).where(col(Mailbox.address) == address)
        ).scalar_one()
    assert found is not None
    return found


def suspend(engine: Engine, address: str) -> None:
    """What the rules' `suspend` action does: a decision, a suspension, `can_send` off."""
    with Session(engine) as session, session.begin():
        identity = mailbox_id(engine, address)
        decision = Decision(event="complaint", mailbox_id=identity, occurred_at=utcnow())
        session.add(decision)
        session.flush()
        assert decision.id is not None
        created, _ = soft_suspend(session, identity, utcnow(), decision.id, "soft-suspend", [])
        assert created is not None


def lift(engine: Engine, address: str) -> None:
    with Session(engine) as session, session.begin():
        lift_suspension(session, STAFF, address, LiftOutcome.LIFTED, "talked to the customer")


def delete(engine: Engine, address: str) -> None:
    with Session(engine) as session, session.begin():
        delete_mailbox(session, STAFF, address, "closed on request")
