"""Who gets a notice: the domain's abuse contact, the company's, or the marked platform fallback."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, select
from sqlmodel import Session, col

from abusedesk.notify.recipients import Recipient, abuse_recipient, contact_problems, valid_address
from abusedesk.store.tables import Company, Contact, Domain
from tests.conftest import run_cli
from tests.notify.conftest import PLATFORM


def ids(session: Session, domain: str) -> tuple[int, int]:
    row = session.execute(
        select(col(Domain.company_id), col(Domain.id)).where(col(Domain.name) == domain)
    ).one()
    return int(row[0]), int(row[1])


def test_domain_contact_then_company_contact_then_platform_fallback(
    directory_engine: Engine,
) -> None:
    with Session(directory_engine) as session:
        company, shop = ids(session, "shop.example")
        _, bakery = ids(session, "bakery.example")
        session.add(Contact(company_id=company, domain_id=shop, email="Abuse@Shop.example"))
        session.flush()
        assert abuse_recipient(session, company, shop, PLATFORM) == Recipient("abuse@shop.example")
        assert abuse_recipient(session, company, bakery, PLATFORM) == Recipient(
            "abuse@acme-resellers.example"
        )
        orphan_company, orphan = ids(session, "orphan.example")
        assert abuse_recipient(session, orphan_company, orphan, PLATFORM) == Recipient(
            PLATFORM, fallback=True
        )


def test_an_invalid_contact_is_skipped_and_reported(directory_engine: Engine) -> None:
    with Session(directory_engine) as session:
        company, hikers = ids(session, "hikers.example")
        contact = session.execute(
            select(Contact).where(col(Contact.company_id) == company)
        ).scalar_one()
        contact.email = "abuse at bluemountain"
        session.add(Contact(company_id=company, domain_id=hikers, email="x@@y"))
        session.commit()
        assert abuse_recipient(session, company, hikers, PLATFORM).fallback
        problems = [(p.company, p.problem) for p in contact_problems(session)]
    assert problems == [
        ("Blue Mountain Web", "abuse contact 'abuse at bluemountain' of the company is not valid"),
        ("Blue Mountain Web", "abuse contact 'x@@y' of domain hikers.example is not valid"),
        (
            "Blue Mountain Web",
            "no valid abuse contact (domains freshsignup.example, hikers.example): "
            "notices go to the platform's fallback",
        ),
        (
            "Nocontact Ltd",
            "no valid abuse contact (domains orphan.example): "
            "notices go to the platform's fallback",
        ),
    ]


@pytest.mark.parametrize(
    ("text", "valid"),
    [
        ("abuse@acme-resellers.example", True),
        ("first.last+tag@sub.example.org", True),
        ("abuse@localhost", False),
        ("abuse", False),
        ("a@b@c.example", False),
        ("Abuse <abuse@x.example>", False),
        ("abuse@x.example\r\nBcc: y@z.example", False),
        (" abuse@x.example", False),
        ("", False),
    ],
)
def test_valid_address(text: str, valid: bool) -> None:
    assert valid_address(text) is valid


def test_doctor_lists_every_company_without_a_valid_contact(
    directory_engine: Engine, database_url: str
) -> None:
    env = {
        "ABUSEDESK_NOTICES__FROM_ADDRESS": "desk@platform.example",
        "ABUSEDESK_NOTICES__PLATFORM_ABUSE_ADDRESS": PLATFORM,
    }
    found = run_cli("doctor", database_url=database_url, env=env)
    assert found.returncode == 1
    assert found.stdout.splitlines() == [
        "problem: company 'Nocontact Ltd': no valid abuse contact (domains orphan.example): "
        "notices go to the platform's fallback"
    ]
    assert found.stderr == "abusedesk: doctor: 1 problem(s) found\n"
    with Session(directory_engine) as session:
        nocontact = session.execute(
            select(col(Company.id)).where(col(Company.name) == "Nocontact Ltd")
        ).scalar_one()
        session.add(Contact(company_id=nocontact, email="abuse@nocontact.example"))
        session.commit()
    healthy = run_cli("doctor", database_url=database_url, env=env)
    assert (healthy.returncode, healthy.stdout) == (0, "doctor: no problems found\n")
    unset = run_cli("doctor", database_url=database_url)  # the embedded defaults
    assert unset.returncode == 1
    assert "[notices] platform_abuse_address 'abuse@localhost' is not a deliverable" in unset.stdout
