"""The lifecycle: a person lifts a suspension (audited, restoring send); deletion waits for it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlmodel import Session, col
from tests.decide.conftest import add_complaint, mailbox_id, policy_from

from abusedesk.access import Role
from abusedesk.access.audit import list_audit
from abusedesk.access.scope import load_actor
from abusedesk.access.users import add_user
from abusedesk.act.lifecycle import delete_mailbox, lift_suspension
from abusedesk.decide.decide import decide_after_complaint
from abusedesk.decide.engine import PolicyEngine
from abusedesk.errors import NotFoundError, RefusedError, UsageError
from abusedesk.store.tables import Decision, Mailbox, Suspension
from abusedesk.store.types import LiftOutcome

START = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


@pytest.fixture
def suspended(directory_engine: Engine, policy: PolicyEngine) -> Engine:
    """alice@shop.example suspended by the default rules (six complaints); three admins."""
    with Session(directory_engine) as session:
        for i in range(6):
            alice = mailbox_id(directory_engine, "alice@shop.example")
            complaint = add_complaint(session, alice, START + timedelta(minutes=i))
            assert complaint.id is not None
            decide_after_complaint(session, complaint.id, policy)
        add_user(session, "sam", Role.STAFF)
        add_user(session, "ann", Role.COMPANY_ADMIN, company="Acme Hosting Resellers")
        add_user(session, "hugo", Role.DOMAIN_ADMIN, domain="hikers.example")
        session.commit()
    assert not mailbox(directory_engine, "alice@shop.example").can_send
    return directory_engine


def mailbox(engine: Engine, address: str) -> Mailbox:
    with Session(engine) as session:
        return session.execute(select(Mailbox).where(col(Mailbox.address) == address)).scalar_one()


WATCH_LIFTS = """\
rules:
  - name: educated-by-ann
    on: lift
    when: lift.outcome == 'educated' and lift.by == 'ann'
    then:
      - hold-for-review: {reason: educated}
"""


def test_lifting_restores_send_records_the_outcome_and_audits(
    suspended: Engine, tmp_path: Path
) -> None:
    rules = tmp_path / "lifts.yaml"
    rules.write_text(WATCH_LIFTS)
    policy = policy_from(rules)
    with Session(suspended) as session:
        ann = load_actor(session, "ann", "198.51.100.7")
        lifted = lift_suspension(
            session,
            ann,
            "Alice@Shop.example",
            LiftOutcome.EDUCATED,
            " talked to them ",
            policy=policy,
        )
        session.commit()
        assert lifted.lifted_at is not None and lifted.lifted_by == "ann"
        assert (lifted.outcome, lifted.note) == ("educated", "talked to them")
        lift_decisions = (
            session.execute(select(Decision).where(col(Decision.event) == "lift")).scalars().all()
        )
        [entry] = list_audit(session, target="alice@shop.example")
    assert mailbox(suspended, "alice@shop.example").can_send
    [seen] = lift_decisions  # the rules saw the lift, with its outcome and who lifted it
    assert [fired["rule"] for fired in seen.fired] == ["educated-by-ann"]
    assert (entry.actor, entry.action, entry.origin, entry.note) == (
        "ann",
        "suspension.lift",
        "198.51.100.7",
        "talked to them",
    )
    assert entry.detail["outcome"] == "educated" and entry.detail["suspension_id"] == lifted.id


def test_a_soft_suspended_mailbox_cannot_be_deleted_until_lifted(suspended: Engine) -> None:
    with Session(suspended) as session:
        sam = load_actor(session, "sam", "cli")
        with pytest.raises(RefusedError) as refused:
            delete_mailbox(session, sam, "alice@shop.example", "spammer")
        assert str(refused.value) == (
            "alice@shop.example is soft-suspended: lift the suspension first, "
            "then delete the account"
        )
    box = mailbox(suspended, "alice@shop.example")
    assert box.deleted_at is None and box.can_login and box.can_receive
    with Session(suspended) as session:
        sam = load_actor(session, "sam", "cli")
        lift_suspension(session, sam, "alice@shop.example", "account-deleted", "closing it")
        session.commit()
    # Lifted in order to delete: sending stays off for the last moments of the account.
    assert not mailbox(suspended, "alice@shop.example").can_send
    with Session(suspended) as session:
        sam = load_actor(session, "sam", "cli")
        delete_mailbox(session, sam, "alice@shop.example", "spammer")
        session.commit()
        actions = [e.action for e in list_audit(session, actor="sam")]
        with pytest.raises(RefusedError, match="already deleted"):
            delete_mailbox(session, sam, "alice@shop.example")
    box = mailbox(suspended, "alice@shop.example")
    assert box.deleted_at is not None
    assert not (box.can_send or box.can_receive or box.can_login)
    assert actions == ["mailbox.delete", "suspension.lift"]


def test_out_of_scope_is_not_found_and_nothing_changes(suspended: Engine) -> None:
    with Session(suspended) as session:
        hugo = load_actor(session, "hugo", "cli")
        with pytest.raises(NotFoundError, match=r"^no mailbox alice@shop\.example$"):
            lift_suspension(session, hugo, "alice@shop.example", "lifted", "mine now")
        with pytest.raises(NotFoundError, match=r"^no mailbox alice@shop\.example$"):
            delete_mailbox(session, hugo, "alice@shop.example")
        session.commit()
        assert list_audit(session) == []
        [suspension] = session.execute(select(Suspension)).scalars().all()
        assert suspension.lifted_at is None
    assert not mailbox(suspended, "alice@shop.example").can_send


def test_nothing_to_lift_and_bad_arguments_are_refused(suspended: Engine) -> None:
    with Session(suspended) as session:
        sam = load_actor(session, "sam", "cli")
        with pytest.raises(RefusedError, match=r"bob@shop\.example is not suspended"):
            lift_suspension(session, sam, "bob@shop.example", "lifted", "why not")
        with pytest.raises(UsageError, match="a note is required"):
            lift_suspension(session, sam, "alice@shop.example", "lifted", "  ")
        with pytest.raises(UsageError, match="unknown outcome 'forgiven'"):
            lift_suspension(session, sam, "alice@shop.example", "forgiven", "ok")
    assert not mailbox(suspended, "alice@shop.example").can_send


def test_a_plain_mailbox_is_deleted_with_every_service_off(suspended: Engine) -> None:
    with Session(suspended) as session:
        ann = load_actor(session, "ann", "cli")
        delete_mailbox(session, ann, "bob@shop.example")
        session.commit()
        [entry] = list_audit(session)
    box = mailbox(suspended, "bob@shop.example")
    assert box.deleted_at is not None and not (box.can_send or box.can_receive or box.can_login)
    assert (entry.action, entry.target, entry.note) == ("mailbox.delete", "bob@shop.example", None)


def test_each_admin_sees_the_audit_entries_of_their_scope(suspended: Engine) -> None:
    with Session(suspended) as session:
        sam, hugo = load_actor(session, "sam", "cli"), load_actor(session, "hugo", "cli")
        lift_suspension(session, sam, "alice@shop.example", "lifted", "by staff")
        delete_mailbox(session, hugo, "guide@hikers.example", "hugo's own")
        session.commit()

        def seen(actor: str) -> list[tuple[str, str]]:
            viewer = load_actor(session, actor, "cli")
            return [(e.actor, e.target) for e in list_audit(session, visible_to=viewer)]

        assert seen("sam") == [("hugo", "guide@hikers.example"), ("sam", "alice@shop.example")]
        assert seen("ann") == [("sam", "alice@shop.example")]  # a mailbox of her company
        assert seen("hugo") == [("hugo", "guide@hikers.example")]
