"""Admin users: roles need their place, passwords are argon2, tokens are stored only hashed."""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from abusedesk.access import Role
from abusedesk.access.users import (
    add_user,
    get_user,
    issue_api_token,
    set_password,
    user_for_api_token,
    verify_password,
)
from abusedesk.errors import NotFoundError, RefusedError, UsageError


def test_each_role_gets_its_place(directory_engine: Engine) -> None:
    with Session(directory_engine) as session:
        staff = add_user(session, "sam", Role.STAFF)
        company = add_user(session, "ann", "company-admin", company="Acme Hosting Resellers")
        domain = add_user(session, "dan", Role.DOMAIN_ADMIN, domain="Shop.Example")
        session.commit()
        assert (staff.role, staff.company_id, staff.domain_id) == ("staff", None, None)
        assert company.role == "company-admin" and company.company_id is not None
        assert company.domain_id is None
        # A domain admin's company is the domain's, so company-wide views can place them.
        assert domain.domain_id is not None and domain.company_id == company.company_id


@pytest.mark.parametrize(
    ("role", "company", "domain", "error", "message"),
    [
        ("company-admin", None, None, UsageError, "needs --company"),
        ("domain-admin", None, None, UsageError, "needs --domain"),
        ("staff", "Acme Hosting Resellers", None, UsageError, "give no --company"),
        ("company-admin", "No Such Co", None, NotFoundError, "no company 'No Such Co'"),
        ("domain-admin", None, "nowhere.example", NotFoundError, "no domain nowhere.example"),
        ("domain-admin", "Blue Mountain Web", "shop.example", UsageError, "belongs to"),
        ("owner", None, None, UsageError, "unknown role 'owner'"),
    ],
)
def test_a_role_without_its_place_is_refused(
    directory_engine: Engine,
    role: str,
    company: str | None,
    domain: str | None,
    error: type[Exception],
    message: str,
) -> None:
    with Session(directory_engine) as session, pytest.raises(error, match=message):
        add_user(session, "someone", role, company=company, domain=domain)


def test_usernames_are_unique_and_plain(directory_engine: Engine) -> None:
    with Session(directory_engine) as session:
        add_user(session, "sam", Role.STAFF)
        with pytest.raises(RefusedError, match="already exists"):
            add_user(session, "sam", Role.STAFF)
        with pytest.raises(UsageError, match="invalid username"):
            add_user(session, "sam\r\nBcc: x", Role.STAFF)


def test_passwords_are_argon2_and_verified(directory_engine: Engine) -> None:
    with Session(directory_engine) as session:
        user = add_user(session, "sam", Role.STAFF, password="correct horse")
        assert user.password_hash is not None and user.password_hash.startswith("$argon2id$")
        assert "correct horse" not in user.password_hash
        assert verify_password(user, "correct horse")
        assert not verify_password(user, "correct horsE")
        with pytest.raises(UsageError, match="at least 8"):
            set_password(session, "sam", "short")
        set_password(session, "sam", "battery staple")
        assert verify_password(user, "battery staple")
        assert not verify_password(user, "correct horse")
        user.disabled = True
        assert not verify_password(user, "battery staple")
        nobody = add_user(session, "nopass", Role.STAFF)
        assert not verify_password(nobody, "")


def test_api_tokens_are_shown_once_and_stored_hashed(directory_engine: Engine) -> None:
    with Session(directory_engine) as session:
        add_user(session, "sam", Role.STAFF)
        first = issue_api_token(session, "sam")
        session.commit()
    with Session(directory_engine) as session:
        user = get_user(session, "sam")
        assert user.api_token_hash == hashlib.sha256(first.encode()).hexdigest()
        found = user_for_api_token(session, first)
        assert found is not None and found.username == "sam"
        assert user_for_api_token(session, first + "x") is None
        assert user_for_api_token(session, "") is None
        second = issue_api_token(session, "sam")
        assert second != first
        assert user_for_api_token(session, first) is None  # a new token replaces the old one
        assert user_for_api_token(session, second) is not None
        user.disabled = True
        session.flush()
        assert user_for_api_token(session, second) is None
        with pytest.raises(NotFoundError, match="no admin user ghost"):
            issue_api_token(session, "ghost")
