"""Signups on their own: one stored form for every spelling, nothing moved, every call audited."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Engine, func, select
from sqlmodel import Session, col

from abusedesk.access import Role
from abusedesk.access.scope import Actor
from abusedesk.accounts.csv_reader import read_account_rows
from abusedesk.accounts.importer import import_accounts
from abusedesk.accounts.signup import add_account, signup_from, valid_address
from abusedesk.errors import RefusedError, UsageError
from abusedesk.store.addresses import normalize_address, normalize_domain
from abusedesk.store.tables import AuditEntry, Domain

OPERATOR = Actor("operator:test", Role.STAFF, None, None, "cli")
HEADER = "company,company_abuse_contact,domain,address,created_at\n"

labels = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?", fullmatch=True).filter(
    lambda label: label[2:4] != "--"
)
unicode_labels = st.text(st.sampled_from("äöüßéçñøåłžあ日本"), min_size=1, max_size=8)
locals_ = st.from_regex(
    r"[a-z0-9!#$%&'*+/=?^_`{|}~-]{1,20}(\.[a-z0-9_+-]{1,10}){0,2}", fullmatch=True
)


@given(local=locals_, name=st.one_of(labels, unicode_labels), tld=labels.filter(str.isalpha))
def test_an_accepted_address_is_already_in_its_stored_form(local: str, name: str, tld: str) -> None:
    address = valid_address(f"{local.upper()}@{name.upper()}.{tld}", "address")
    assert normalize_address(address) == address
    assert address.isascii() or not local.isascii()


@given(name=unicode_labels, tld=labels.filter(str.isalpha))
def test_both_forms_of_an_idn_are_one_domain(name: str, tld: str) -> None:
    unicode_form = f"{name}.{tld}"
    ascii_form = normalize_domain(unicode_form)
    assert ascii_form.isascii() and ascii_form.startswith("xn--")
    assert normalize_domain(ascii_form.upper()) == ascii_form
    assert normalize_address(f"Kunde@{unicode_form}") == f"kunde@{ascii_form}"


def test_looking_up_something_that_is_no_address_never_raises() -> None:
    for text in ("", "@", "a@", "@b", "a@-x-.ex ample", "a@\udcff.example", "a@.."):
        assert isinstance(normalize_address(text), str)


def test_an_import_and_a_signup_meet_on_one_idn_domain(engine: Engine, tmp_path: Path) -> None:
    csv = tmp_path / "accounts.csv"
    csv.write_text(
        HEADER + "Büchereien AG,abuse@büchereien.example,Bücher.example,info@bücher.example,\n",
        encoding="utf-8",
    )
    import_accounts(engine, read_account_rows(csv))
    signup = signup_from("neu@xn--bcher-kva.example", company="BÜCHEREIEN AG")
    assert add_account(engine, None, signup, OPERATOR).created
    with Session(engine) as session:
        names = list(session.execute(select(col(Domain.name))).scalars())
    assert names == ["xn--bcher-kva.example"]


def test_a_refused_signup_changes_nothing_and_is_audited(directory_engine: Engine) -> None:
    signup = signup_from("x@hikers.example", company="Acme Hosting Resellers")
    with pytest.raises(RefusedError, match="does not move domains"):
        add_account(directory_engine, None, signup, OPERATOR)
    with Session(directory_engine) as session:
        entry = session.execute(
            select(AuditEntry).where(col(AuditEntry.action) == "account.signup")
        ).scalar_one()
        domains = session.execute(
            select(func.count()).select_from(Domain).where(col(Domain.name) == "hikers.example")
        ).scalar_one()
    assert (entry.actor, entry.target, entry.detail["outcome"]) == (
        "operator:test",
        "x@hikers.example",
        "refused",
    )
    assert domains == 1  # hikers.example is still only Blue Mountain's


@pytest.mark.parametrize(
    "address",
    ["a@b", "a b@shop.example", "a@shop.example\n", "(comment)a@shop.example", "a@@b.example"],
)
def test_addresses_that_are_no_mailboxes_are_refused(address: str) -> None:
    with pytest.raises(UsageError):
        signup_from(address)
