"""No spelling of a suspended sender's name passes the policy service or can-send, and no
other mailbox is refused for looking like one."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import Engine, select
from sqlmodel import Session, col
from tests.enforce.lifecycle import suspend

from abusedesk.enforce.state import MailboxSendState, SendState, normalize
from abusedesk.enforce.tracking import SendStateTracker, changes_since
from abusedesk.store.tables import Domain, Mailbox

ALICE = "alice@shop.example"
SPELLINGS_OF_ALICE = [
    "alice@shop.example",
    "<Alice@Shop.Example>",
    "alice@shop.example.",  # the root dot
    '"alice"@shop.example',  # quotes that quote nothing
    '"al\\ice"@shop.example',  # a quoted-pair that quotes nothing
    "alice+news@shop.example",  # Postfix's recipient_delimiter
    "ALICE+X@SHOP.EXAMPLE.",
]
NOT_ALICE = [
    "alicex@shop.example",
    "bob@shop.example",
    '"ali ce"@shop.example',
    "alice@shop.example.net",
    "+alice@shop.example",
    "alice@shop-example",
]


def blocked(*addresses: str, tagged: tuple[str, ...] = ()) -> SendState:
    state = SendState()
    ids = range(1, len(addresses) + 1)
    state.replace(
        list(zip(ids, addresses, strict=True)), version=1, tagged=list(enumerate(tagged, 100))
    )
    return state


@pytest.mark.parametrize("spelling", SPELLINGS_OF_ALICE)
def test_every_spelling_of_a_suspended_mailbox_is_refused(spelling: str) -> None:
    assert not blocked(ALICE).may_send(spelling)


@pytest.mark.parametrize("other", NOT_ALICE)
def test_no_other_mailbox_is_refused_for_it(other: str) -> None:
    assert blocked(ALICE).may_send(other)


def test_a_mailbox_whose_own_name_has_the_delimiter_is_its_own() -> None:
    state = blocked(ALICE, tagged=("alice+team@shop.example",))

    assert state.may_send("alice+team@shop.example")
    assert not state.may_send("alice+other@shop.example")
    assert not blocked("alice+team@shop.example").may_send("Alice+Team@shop.example")
    assert blocked("alice+team@shop.example").may_send(ALICE)


@pytest.mark.parametrize(
    "stored", ["jane@bücher.example", "jane@xn--bcher-kva.example", "Jane@BÜCHER.example"]
)
def test_both_forms_of_an_idn_are_one_mailbox(stored: str) -> None:
    state = blocked(stored)

    for spelling in ("jane@bücher.example", "jane@xn--bcher-kva.example", "jane@Bücher.Example."):
        assert not state.may_send(spelling), spelling
    assert normalize("jane@bücher.example") == "jane@xn--bcher-kva.example"


def test_changes_keep_the_spellings_and_the_tagged_names() -> None:
    state = blocked()
    state.apply(
        [
            MailboxSendState(1, ALICE, may_send=False),
            MailboxSendState(2, "alice+team@shop.example", may_send=True),
        ],
        version=2,
    )
    assert not state.may_send("alice+x@shop.example")
    assert state.may_send("alice+team@shop.example")

    state.apply([MailboxSendState(2, None, may_send=True)], version=3)  # deleted row
    assert not state.may_send("alice+team@shop.example")


def test_the_tracker_loads_what_the_spellings_need(directory_engine: Engine) -> None:
    with Session(directory_engine) as session, session.begin():
        domain = session.execute(
            select(col(Domain.id)).where(col(Domain.name) == "shop.example")
        ).scalar_one()
        session.add(Mailbox(address="alice+team@shop.example", domain_id=domain))
    suspend(directory_engine, ALICE)
    state = SendState()

    asyncio.run(SendStateTracker(directory_engine, state).load())

    assert not state.may_send("<ALICE+promo@shop.example.>")
    assert state.may_send("alice+team@shop.example")
    assert changes_since(directory_engine, state.version) is not None
