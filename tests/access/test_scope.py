"""Scope: staff see everything, a company admin their company, a domain admin one domain.

Out of scope answers exactly as "does not exist" does.
"""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, select
from sqlmodel import Session, col

from abusedesk.access import Role
from abusedesk.access.scope import load_actor, mailbox_in_scope, mailbox_scope
from abusedesk.access.users import add_user
from abusedesk.errors import NotFoundError
from abusedesk.store.tables import Domain, Mailbox


@pytest.fixture
def admins(directory_engine: Engine) -> Engine:
    with Session(directory_engine) as session:
        add_user(session, "sam", Role.STAFF)
        add_user(session, "ann", Role.COMPANY_ADMIN, company="Acme Hosting Resellers")
        add_user(session, "dan", Role.DOMAIN_ADMIN, domain="bakery.example")
        add_user(session, "gone", Role.STAFF).disabled = True
        session.commit()
    return directory_engine


def visible(session: Session, username: str) -> set[str]:
    actor = load_actor(session, username, "cli")
    return set(
        session.execute(
            select(col(Mailbox.address))
            .join(Domain, col(Domain.id) == col(Mailbox.domain_id))
            .where(mailbox_scope(actor))
        ).scalars()
    )


def test_each_role_sees_its_own_mailboxes(admins: Engine) -> None:
    with Session(admins) as session:
        everything = set(session.execute(select(col(Mailbox.address))).scalars())
        assert visible(session, "sam") == everything
        assert visible(session, "ann") == {
            "alice@shop.example",
            "bob@shop.example",
            "newsletter@shop.example",
            "orders@bakery.example",
            "carol.baker@bakery.example",
        }
        assert visible(session, "dan") == {"orders@bakery.example", "carol.baker@bakery.example"}


def test_out_of_scope_reads_exactly_like_missing(admins: Engine) -> None:
    with Session(admins) as session:
        dan = load_actor(session, "dan", "192.0.2.1")
        assert mailbox_in_scope(session, dan, " Orders@Bakery.example").address == (
            "orders@bakery.example"
        )
        with pytest.raises(NotFoundError) as out_of_scope:
            mailbox_in_scope(session, dan, "alice@shop.example")
        with pytest.raises(NotFoundError) as missing:
            mailbox_in_scope(session, dan, "nobody@shop.example")
        assert str(out_of_scope.value) == "no mailbox alice@shop.example"
        assert str(missing.value) == "no mailbox nobody@shop.example"


def test_may_see_follows_the_role(admins: Engine) -> None:
    with Session(admins) as session:
        shop, bakery, hikers = (
            session.execute(select(Domain).where(col(Domain.name) == name)).scalar_one()
            for name in ("shop.example", "bakery.example", "hikers.example")
        )
        sam, ann, dan = (load_actor(session, name, "cli") for name in ("sam", "ann", "dan"))
        assert sam.may_see(hikers.id, hikers.company_id)
        assert ann.may_see(shop.id, shop.company_id) and ann.may_see(None, shop.company_id)
        assert not ann.may_see(hikers.id, hikers.company_id)
        assert dan.may_see(bakery.id, bakery.company_id)
        assert not dan.may_see(shop.id, shop.company_id)
        assert not dan.may_see(None, bakery.company_id)  # company-wide things are not a domain's


def test_unknown_and_disabled_users_are_not_found(admins: Engine) -> None:
    with Session(admins) as session:
        for name in ("ghost", "gone"):
            with pytest.raises(NotFoundError, match=f"no admin user {name}"):
                load_actor(session, name, "cli")
        assert load_actor(session, "ann", "203.0.113.9").origin == "203.0.113.9"
