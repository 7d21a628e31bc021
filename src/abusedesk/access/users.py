"""Admin users: adding them, their passwords (argon2) and their API tokens (stored as sha256).

A plain API token is shown once, when it is issued; the database keeps only
its sha256, so a copy of the database cannot be used to call the API. A new
password signs the user's console sessions out (`access.sessions`).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlmodel import Session, col

from abusedesk.access import Role
from abusedesk.access.sessions import end_sessions
from abusedesk.errors import NotFoundError, RefusedError, UsageError
from abusedesk.store.addresses import normalize_address
from abusedesk.store.tables import AdminUser, Company, Domain

MIN_PASSWORD_LENGTH = 8
_USERNAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@+-]{0,199}")
# Argon2id with the library's defaults (RFC 9106's second recommended profile).
_HASHER = PasswordHasher()


def add_user(
    session: Session,
    username: str,
    role: Role | str,
    *,
    company: str | None = None,
    domain: str | None = None,
    password: str | None = None,
) -> AdminUser:
    """A new admin user; a company admin names a company, a domain admin a domain, staff neither."""
    name = _valid_username(username)
    kind = _valid_role(role)
    company_id, domain_id = _placement(session, kind, company, domain)
    if find_user(session, name) is not None:
        raise RefusedError(f"admin user {name} already exists")
    user = AdminUser(username=name, role=kind.value, company_id=company_id, domain_id=domain_id)
    if password is not None:
        user.password_hash = _hash_password(password)
    session.add(user)
    session.flush()
    return user


def find_user(session: Session, username: str) -> AdminUser | None:
    return session.execute(
        select(AdminUser).where(col(AdminUser.username) == username.strip())
    ).scalar_one_or_none()


def get_user(session: Session, username: str) -> AdminUser:
    user = find_user(session, username)
    if user is None:
        raise NotFoundError(f"no admin user {username.strip()}")
    return user


def list_users(session: Session) -> list[AdminUser]:
    return list(session.execute(select(AdminUser).order_by(col(AdminUser.username))).scalars())


def verify_password(user: AdminUser, password: str) -> bool:
    """Whether `password` is the user's; always False for a disabled user or one without one."""
    if user.disabled or not user.password_hash:
        return False
    try:
        return _HASHER.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def set_password(session: Session, username: str, password: str) -> AdminUser:
    """A new password; every console session of the user ends (a stolen one with them)."""
    user = get_user(session, username)
    user.password_hash = _hash_password(password)
    session.add(user)
    session.flush()
    end_sessions(session, user)
    return user


def issue_api_token(session: Session, username: str) -> str:
    """A new API token for the user (the previous one stops working); shown only now."""
    user = get_user(session, username)
    token = f"adk_{secrets.token_urlsafe(32)}"
    user.api_token_hash = _token_hash(token)
    session.add(user)
    session.flush()
    return token


def user_for_api_token(session: Session, token: str) -> AdminUser | None:
    """The enabled user whose token this is, else None."""
    if not token:
        return None
    digest = _token_hash(token)
    user = session.execute(
        select(AdminUser).where(col(AdminUser.api_token_hash) == digest)
    ).scalar_one_or_none()
    if user is None or user.disabled or user.api_token_hash is None:
        return None
    # The lookup went by an index; compare again in constant time all the same.
    return user if hmac.compare_digest(user.api_token_hash, digest) else None


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UsageError(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
    return _HASHER.hash(password)


def _valid_username(username: str) -> str:
    name = username.strip()
    if not _USERNAME.fullmatch(name):
        raise UsageError(
            f"invalid username {name!r}: use letters, digits and . _ @ + - (at most 200)"
        )
    return name


def _valid_role(role: Role | str) -> Role:
    try:
        return Role(role)
    except ValueError:
        choices = ", ".join(r.value for r in Role)
        raise UsageError(f"unknown role {role!r}: one of {choices}") from None


def _placement(
    session: Session, role: Role, company: str | None, domain: str | None
) -> tuple[int | None, int | None]:
    """(company_id, domain_id) for the role; a domain admin's company is its domain's."""
    if role is Role.STAFF:
        if company or domain:
            raise UsageError("platform staff see everything: give no --company or --domain")
        return None, None
    if role is Role.COMPANY_ADMIN:
        if not company or domain:
            raise UsageError("a company admin needs --company (and no --domain)")
        found = session.execute(
            select(col(Company.id)).where(col(Company.name) == company.strip())
        ).scalar_one_or_none()
        if found is None:
            raise NotFoundError(f"no company {company.strip()!r}")
        return found, None
    if not domain:
        raise UsageError("a domain admin needs --domain")
    name = normalize_address(domain)
    row = session.execute(
        select(col(Domain.id), col(Domain.company_id), col(Company.name))
        .join(Company, col(Company.id) == col(Domain.company_id))
        .where(col(Domain.name) == name)
    ).first()
    if row is None:
        raise NotFoundError(f"no domain {name}")
    domain_id, company_id, company_name = row
    if company and company.strip() != company_name:
        raise UsageError(f"domain {name} belongs to {company_name!r}, not {company.strip()!r}")
    return company_id, domain_id
