"""Account directory import: creates, updates, never duplicates; addresses are case-insensitive."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlmodel import Session

from abusedesk.accounts.csv_reader import read_account_rows
from abusedesk.accounts.importer import import_accounts
from abusedesk.errors import DirectoryImportError
from abusedesk.store.directory import DatabaseDirectory, find_mailbox
from abusedesk.store.tables import Company, Contact, Domain, Mailbox

HEADER = "company,company_abuse_contact,domain,address,created_at\n"


def csv_file(tmp_path: Path, body: str, name: str = "accounts.csv") -> Path:
    path = tmp_path / name
    path.write_text(HEADER + body, encoding="utf-8")
    return path


def counts(engine: Engine) -> tuple[int, ...]:
    with Session(engine) as session:
        return tuple(
            session.execute(select(func.count()).select_from(table)).scalar_one()
            for table in (Company, Domain, Mailbox, Contact)
        )


def generated_rows(n: int) -> str:
    return "".join(
        f"Company {i % 7},abuse@company{i % 7}.example,d{i % 50}.example,"
        f"User{i}@D{i % 50}.example,2025-01-{1 + i % 28:02d}T10:00:00Z\n"
        for i in range(n)
    )


def test_import_creates_everything_and_reimport_changes_nothing(
    engine: Engine, tmp_path: Path
) -> None:
    path = csv_file(tmp_path, generated_rows(2000))
    first = import_accounts(engine, read_account_rows(path))
    assert first.mailboxes_created == 2000
    assert (first.companies_created, first.domains_created, first.contacts_changed) == (7, 50, 7)
    before = counts(engine)
    assert before == (7, 50, 2000, 7)

    second = import_accounts(engine, read_account_rows(path))
    assert not second.changed_anything
    assert second.mailboxes_created == second.mailboxes_updated == 0
    assert counts(engine) == before


def test_reimport_updates_changed_rows(engine: Engine, tmp_path: Path) -> None:
    import_accounts(
        engine,
        read_account_rows(
            csv_file(
                tmp_path,
                (
                    "Acme,abuse@acme.example,shop.example,alice@shop.example,2024-01-01T00:00:00Z\n"
                    "Acme,abuse@acme.example,shop.example,bob@shop.example,\n"
                ),
            )
        ),
    )
    summary = import_accounts(
        engine,
        read_account_rows(
            csv_file(
                tmp_path,
                (
                    "Acme,abuse-desk@acme.example,shop.example,ALICE@shop.example,2024-02-02T00:00:00+01:00\n"
                    "Acme,abuse-desk@acme.example,shop.example,bob@shop.example,\n"
                ),
                name="v2.csv",
            )
        ),
    )
    assert summary.mailboxes_updated == 1 and summary.contacts_changed == 1
    alice = find_mailbox(engine, "alice@shop.example")
    assert alice is not None and alice.created_at is not None
    assert alice.created_at.isoformat() == "2024-02-01T23:00:00+00:00"
    with Session(engine) as session:
        emails = session.execute(select(Contact.email)).scalars().all()
    assert emails == ["abuse-desk@acme.example"]


def test_domain_moving_to_another_company_is_an_update(engine: Engine, tmp_path: Path) -> None:
    import_accounts(
        engine, read_account_rows(csv_file(tmp_path, "A,,shop.example,x@shop.example,\n"))
    )
    summary = import_accounts(
        engine, read_account_rows(csv_file(tmp_path, "B,,shop.example,x@shop.example,\n", "b.csv"))
    )
    assert summary.domains_moved == 1
    view = find_mailbox(engine, "x@shop.example")
    assert view is not None and view.company == "B"


def test_addresses_are_case_insensitive_everywhere(engine: Engine, tmp_path: Path) -> None:
    import_accounts(
        engine,
        read_account_rows(csv_file(tmp_path, "Acme,,Bakery.Example,Carol.Baker@Bakery.example,\n")),
    )
    for spelling in (
        "carol.baker@bakery.example",
        "CAROL.BAKER@BAKERY.EXAMPLE",
        " Carol.Baker@bakery.Example ",
    ):
        view = find_mailbox(engine, spelling)
        assert view is not None and view.address == "carol.baker@bakery.example"
        assert DatabaseDirectory(engine).is_hosted(spelling)
    assert not DatabaseDirectory(engine).is_hosted("carol@bakery.example")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            "Acme,,shop.example,not-an-address,\n",
            ":2: address 'not-an-address' is not an email address",
        ),
        (
            "Acme,,shop.example,a@other.example,\n",
            ":2: address a@other.example is not in domain shop.example",
        ),
        (",,shop.example,a@shop.example,\n", ":2: company is empty"),
        (
            "Acme,,shop.example,a@shop.example,yesterday\n",
            ":2: created_at 'yesterday' is not an ISO 8601",
        ),
        (
            "Acme,,shop.example,a@shop.example,\nAcme,,shop.example,A@shop.example,\n",
            ":3: a@shop.example is listed twice (first on line 2)",
        ),
        ("Acme,nobody,shop.example,a@shop.example,\n", ":2: company_abuse_contact 'nobody'"),
    ],
)
def test_bad_rows_name_file_and_line(tmp_path: Path, body: str, message: str) -> None:
    path = csv_file(tmp_path, body)
    with pytest.raises(DirectoryImportError) as caught:
        read_account_rows(path)
    assert str(caught.value).startswith(str(path))
    assert message in str(caught.value)


def test_bad_header_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("company,domain,address\nA,b.example,x@b.example\n", encoding="utf-8")
    with pytest.raises(
        DirectoryImportError,
        match=r"x\.csv:1: header must be .*missing: company_abuse_contact, created_at",
    ):
        read_account_rows(path)
