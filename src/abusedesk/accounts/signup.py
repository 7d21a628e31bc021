"""Signups: one new mailbox, validated, added without moving anything, audited and decided.

`accounts add` and the provisioning API (`POST /api/v1/accounts`) add a
mailbox through `add_account`; `accounts import` applies a whole directory
and decides its new mailboxes here too, so a `signup` rule sees every new
account the same way.

A signup only adds: a mailbox to a known domain, a new domain to a company,
or a new company with its abuse contact. It never moves a domain to another
company (that is a `RefusedError`, 409), never changes the contacts of a
company that exists, and never changes a mailbox that exists. Company names
compare case-insensitively and regardless of runs of spaces, so `acme
hosting` is the company `Acme Hosting`. `signup_from` validates every field
before anything is looked up, and every call is audited — refused ones too,
since a refused signup is what a misused token looks like.
"""

from __future__ import annotations

import ipaddress
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

import idna
from sqlalchemy import Engine, select, text
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from abusedesk.access.audit import AuditAction, record_audit
from abusedesk.access.scope import Actor
from abusedesk.decide import PolicyEngine, decide_event, signup_event
from abusedesk.decide.model import EventKind
from abusedesk.errors import AbusedeskError, DirectoryImportError, RefusedError, UsageError
from abusedesk.store.addresses import normalize_address
from abusedesk.store.tables import Company, Contact, Domain, Mailbox
from abusedesk.store.types import utcnow

MAX_ADDRESS = 254
"""RFC 5321's 256-octet path, less its angle brackets."""
MAX_LOCAL_PART = 64
MAX_COMPANY = 200
MAX_FUTURE = timedelta(days=1)
"""How far ahead of our clock a `created_at` may be (the caller's clock may be ahead)."""
SIGNUP_LOCK = 0x7375706E  # the advisory lock that signups queue on ("supn")
_ATEXT = frozenset("abcdefghijklmnopqrstuvwxyz0123456789!#$%&'*+/=?^_`{|}~-")


class SignupOutcome(StrEnum):
    CREATED = "created"
    EXISTS = "exists"
    REFUSED = "refused"
    INVALID = "invalid"


@dataclass(frozen=True, slots=True)
class Signup:
    """A validated signup: every field in its one stored form."""

    address: str
    company: str | None = None
    abuse_contact: str | None = None
    created_at: datetime | None = None
    signup_ip: str | None = None

    @property
    def domain(self) -> str:
        return self.address.rpartition("@")[2]


@dataclass(frozen=True, slots=True)
class SignupResult:
    address: str
    company: str
    created: bool


def signup_from(
    address: str,
    *,
    company: str | None = None,
    abuse_contact: str | None = None,
    created_at: datetime | None = None,
    signup_ip: str | None = None,
) -> Signup:
    """The signup these fields describe; `UsageError` naming the first field that is wrong."""
    if created_at is not None and created_at > utcnow() + MAX_FUTURE:
        raise UsageError(f"created_at {created_at.isoformat()} is in the future")
    return Signup(
        address=valid_address(address, "address"),
        company=None if company is None else _valid_company(company),
        abuse_contact=(
            None if abuse_contact is None else valid_address(abuse_contact, "company_abuse_contact")
        ),
        created_at=created_at,
        signup_ip=None if signup_ip is None else _valid_ip(signup_ip),
    )


def valid_address(value: str, field: str) -> str:
    """`value` as a stored address (the form `normalize_address` gives), if it is a mailbox's.

    A dot-atom local part (RFC 5322, with RFC 6532's UTF-8) of at most 64
    octets, a domain IDNA 2008 accepts with at least two labels, and at most
    254 octets in all. Quoted local parts are refused: no hosted mailbox has one.
    """
    _refuse_control(value, field)
    local, at, domain = value.strip().rpartition("@")
    if not at or not local or not domain:
        raise UsageError(f"{field} {value.strip()!r} is not an email address")
    local = unicodedata.normalize("NFC", local).lower()
    if len(local.encode()) > MAX_LOCAL_PART or not _dot_atom(local):
        raise UsageError(f"{field} {value.strip()!r} is not an email address (its local part)")
    address = f"{local}@{_valid_domain(domain, field)}"
    if len(address.encode()) > MAX_ADDRESS:
        raise UsageError(f"{field} is longer than {MAX_ADDRESS} octets")
    return address


def add_account(
    engine: Engine, policy: PolicyEngine | None, signup: Signup, actor: Actor
) -> SignupResult:
    """Add the signup's mailbox (a `signup` event for the rules); audited as `actor`'s.

    `RefusedError` when it would move a domain to another company; a mailbox
    that exists already is left as it is (`created` is False).
    """
    try:
        with Session(engine) as db:
            # The audit entry is written first: on SQLite that takes the write lock, so a
            # concurrent signup waits instead of deciding on what this one is changing.
            entry = record_audit(db, actor, AuditAction.ACCOUNT_SIGNUP, "mailbox", signup.address)
            if db.get_bind().dialect.name == "postgresql":
                db.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SIGNUP_LOCK})
            result, detail = _add(db, signup)
            entry.detail = {**_request(signup), **detail}
            db.add(entry)
            db.commit()
    except IntegrityError as exc:  # an import added the same domain or company meanwhile
        reason = "the directory changed while this signup was made: send it again"
        record_refused_signup(engine, actor, signup.address, reason, _request(signup))
        raise RefusedError(reason) from exc
    except AbusedeskError as exc:
        outcome = SignupOutcome.REFUSED if isinstance(exc, RefusedError) else SignupOutcome.INVALID
        record_refused_signup(engine, actor, signup.address, str(exc), _request(signup), outcome)
        raise
    if policy is not None and result.created:
        decide_signups(engine, policy, [result.address])
    return result


def record_refused_signup(
    engine: Engine,
    actor: Actor,
    target: str,
    reason: str,
    request: dict[str, Any] | None = None,
    outcome: SignupOutcome = SignupOutcome.REFUSED,
) -> None:
    """Audit a signup that was refused or invalid, in a transaction of its own."""
    with Session(engine) as db:
        detail = {**(request or {}), "outcome": outcome.value, "reason": reason[:500]}
        record_audit(db, actor, AuditAction.ACCOUNT_SIGNUP, "mailbox", target[:320], detail=detail)
        db.commit()


def decide_signups(engine: Engine, policy: PolicyEngine, addresses: Sequence[str]) -> int:
    """Decide a `signup` event for each new mailbox; returns how many were decided.

    Nothing is asked of the engine when no rule reacts to signups, so a large
    import costs no more than the import itself.
    """
    if not addresses or not policy.ruleset.rules_for(EventKind.SIGNUP):
        return 0
    decided = 0
    with Session(engine) as session:
        for address in addresses:
            mailbox = session.execute(
                select(Mailbox).where(col(Mailbox.address) == normalize_address(address))
            ).scalar_one_or_none()
            if mailbox is None or mailbox.created_at is None:
                continue
            decide_event(session, policy, signup_event(mailbox))
            decided += 1
        session.commit()
    return decided


def _add(db: Session, signup: Signup) -> tuple[SignupResult, dict[str, Any]]:
    detail: dict[str, Any] = {}
    domain = db.execute(
        select(Domain).where(col(Domain.name) == signup.domain)
    ).scalar_one_or_none()
    if domain is not None:
        company = db.get(Company, domain.company_id)
        assert company is not None
        if signup.company is not None and _company_key(signup.company) != _company_key(
            company.name
        ):
            raise RefusedError(
                f"domain {signup.domain} belongs to another company: "
                "a signup does not move domains (change it in the account directory)"
            )
    else:
        if signup.company is None:
            raise DirectoryImportError(
                f"domain {signup.domain} is not in the directory yet: "
                "say which company it belongs to"
            )
        company = _find_company(db, signup.company)
        if company is None:
            company = Company(name=signup.company)
            db.add(company)
            db.flush()
            detail["company_created"] = True
            if signup.abuse_contact is not None:
                assert company.id is not None
                db.add(Contact(company_id=company.id, email=signup.abuse_contact))
                detail["contact_set"] = True
        assert company.id is not None
        domain = Domain(name=signup.domain, company_id=company.id)
        db.add(domain)
        db.flush()
        detail["domain_created"] = True
    if signup.abuse_contact is not None and not detail.get("contact_set"):
        detail["contact_unchanged"] = True  # a company's contacts change in the console only
    result = SignupResult(signup.address, company.name, created=False)
    exists = db.execute(select(col(Mailbox.id)).where(col(Mailbox.address) == signup.address))
    if exists.first() is not None:
        return result, {**detail, "outcome": SignupOutcome.EXISTS.value}
    assert domain.id is not None
    db.add(
        Mailbox(
            address=signup.address,
            domain_id=domain.id,
            created_at=signup.created_at or utcnow(),
            signup_ip=signup.signup_ip,
        )
    )
    db.flush()
    created = SignupResult(signup.address, company.name, created=True)
    return created, {**detail, "outcome": SignupOutcome.CREATED.value}


def _find_company(db: Session, name: str) -> Company | None:
    """The company of that name, compared case-insensitively; RefusedError when two would match.

    Compared in Python, not SQL: SQLite's lower() folds only ASCII. Companies are
    resellers, a few thousand at most, and signups are rare next to that.
    """
    key = _company_key(name)
    companies: list[Company] = list(db.execute(select(Company)).scalars())
    matches = [company for company in companies if _company_key(company.name) == key]
    exact = [company for company in matches if company.name == name]
    if exact:
        return exact[0]
    if len(matches) <= 1:
        return matches[0] if matches else None
    raise RefusedError(f"more than one company is called {name!r} (in some letter case)")


def _company_key(name: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", name).split()).casefold()


def _valid_company(value: str) -> str:
    _refuse_control(value, "company")
    if any(unicodedata.category(char) in {"Cf", "Zl", "Zp"} for char in value):
        raise UsageError("company must not contain invisible or line-breaking characters")
    name = " ".join(value.split())
    if not name or len(name) > MAX_COMPANY:
        raise UsageError(f"company must be 1 to {MAX_COMPANY} characters")
    return name


def _valid_domain(domain: str, field: str) -> str:
    try:
        name = idna.encode(domain.removesuffix("."), uts46=True).decode("ascii")
    except (idna.IDNAError, UnicodeError):
        raise UsageError(f"{field}: {domain!r} is not a domain name") from None
    labels = name.split(".")
    if len(labels) < 2 or len(name) > 253 or labels[-1].isdigit():
        raise UsageError(f"{field}: {domain!r} is not a domain name")
    return name


def _dot_atom(local: str) -> bool:
    atoms = local.split(".")
    return all(atoms) and all(
        char in _ATEXT or (not char.isascii() and unicodedata.category(char)[0] not in "CZ")
        for atom in atoms
        for char in atom
    )


def _valid_ip(value: str) -> str:
    _refuse_control(value, "signup_ip")
    try:
        ip = ipaddress.ip_address(value.strip())
    except ValueError:
        raise UsageError(f"signup_ip {value.strip()!r} is not an IP address") from None
    if "%" in str(ip):
        raise UsageError("signup_ip must not carry an IPv6 zone")
    return str(ip)


def _refuse_control(value: str, field: str) -> None:
    if any(ord(char) < 0x20 or ord(char) == 0x7F for char in value):
        raise UsageError(f"{field} must not contain control characters (CR, LF, tab, NUL, …)")


def _request(signup: Signup) -> dict[str, Any]:
    return {
        "company": signup.company,
        "company_abuse_contact": signup.abuse_contact,
        "created_at": signup.created_at.isoformat() if signup.created_at else None,
        "signup_ip": signup.signup_ip,
    }
