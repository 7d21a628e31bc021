"""Who receives a notice: the domain's abuse contact, else the company's, else the platform's.

A company without a valid abuse contact is a problem the platform must see:
its notices go to the platform's abuse address, marked as a fallback, and
`abusedesk doctor` lists the company.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.errors import HeaderParseError
from email.headerregistry import Address

from sqlalchemy import select
from sqlmodel import Session, col

from abusedesk.store.tables import Company, Contact, Domain

ABUSE_ROLE = "abuse"
_DOMAIN = re.compile(r"(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}")


@dataclass(frozen=True, slots=True)
class Recipient:
    address: str
    fallback: bool = False
    """True when the platform's address stands in for a missing or invalid abuse contact."""


@dataclass(frozen=True, slots=True)
class ContactProblem:
    company: str
    problem: str


def valid_address(text: str | None) -> bool:
    """Whether `text` is one plain addr-spec a smarthost will take (`local@domain.tld`)."""
    if not text or text != text.strip() or any(c.isspace() or ord(c) < 32 for c in text):
        return False
    try:
        address = Address(addr_spec=text)
    except (HeaderParseError, ValueError, IndexError):
        return False
    return (
        bool(address.username)
        and address.addr_spec == text
        and _DOMAIN.fullmatch(address.domain.lower()) is not None
    )


def abuse_recipient(
    session: Session, company_id: int, domain_id: int | None, platform_address: str
) -> Recipient:
    """The abuse contact for a domain of a company; the platform's address as a marked fallback."""
    rows = session.execute(
        select(col(Contact.domain_id), col(Contact.email)).where(
            col(Contact.company_id) == company_id, col(Contact.role) == ABUSE_ROLE
        )
    ).all()
    domain_level = [email for d, email in rows if domain_id is not None and d == domain_id]
    company_level = [email for d, email in rows if d is None]
    for email in (*domain_level, *company_level):
        candidate = email.strip().lower()
        if valid_address(candidate):
            return Recipient(candidate)
    return Recipient(platform_address, fallback=True)


def contact_problems(session: Session) -> list[ContactProblem]:
    """Every invalid abuse contact, and every company with a domain no valid contact covers."""
    companies = session.execute(select(col(Company.id), col(Company.name))).all()
    domains = session.execute(
        select(col(Domain.id), col(Domain.company_id), col(Domain.name)).order_by(col(Domain.name))
    ).all()
    contacts = session.execute(
        select(col(Contact.company_id), col(Contact.domain_id), col(Contact.email)).where(
            col(Contact.role) == ABUSE_ROLE
        )
    ).all()
    domain_names = {domain_id: name for domain_id, _, name in domains}
    problems: list[ContactProblem] = []
    for company_id, name in sorted(companies, key=lambda row: row[1]):
        covered: set[int | None] = set()
        for owner, domain_id, email in contacts:
            if owner != company_id:
                continue
            if valid_address(email.strip().lower()):
                covered.add(domain_id)
                continue
            where = f"domain {domain_names.get(domain_id)}" if domain_id else "the company"
            problems.append(
                ContactProblem(name, f"abuse contact {email!r} of {where} is not valid")
            )
        if None in covered:
            continue
        bare = [n for d, c, n in domains if c == company_id and d not in covered]
        if bare or not any(c == company_id for _, c, _ in domains):
            listed = f" (domains {', '.join(bare)})" if bare else ""
            problems.append(
                ContactProblem(
                    name, f"no valid abuse contact{listed}: notices go to the platform's fallback"
                )
            )
    return problems
