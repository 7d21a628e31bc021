"""`X-Forwarded-For` is read only from the proxies `[web] trusted_proxies` names; by default none.

Against `abusedesk serve`'s own web role: the client address is what the
sign-in limits count and what the audit trail records as "from where".
"""

from __future__ import annotations

import re

import httpx
import pytest
from sqlalchemy import Engine, select
from sqlmodel import Session, col
from tests.conftest import RunningService

from abusedesk.access import Role
from abusedesk.access.users import add_user
from abusedesk.config import Settings, load_settings
from abusedesk.errors import ConfigError
from abusedesk.service import Roles
from abusedesk.store.tables import AuditEntry
from abusedesk.web.throttle import MAX_FAILURES_PER_ADDRESS

PASSWORD = "correct horse battery"
FORGED = "203.0.113.7"


def with_proxies(settings: Settings, proxies: list[str]) -> Settings:
    web = settings.web.model_copy(update={"trusted_proxies": proxies})
    return settings.model_copy(update={"web": web})


def sign_in(base_url: str, username: str, password: str, forwarded_for: str) -> int:
    with httpx.Client(base_url=base_url, follow_redirects=False, timeout=30) as client:
        form = client.get("/login")
        found = re.search(r'name="csrf" value="([^"]+)"', form.text)
        assert found
        data = {"csrf": found.group(1), "username": username, "password": password}
        headers = {"X-Forwarded-For": forwarded_for}
        return client.post("/login", data=data, headers=headers).status_code


def signed_in_from(
    settings: Settings, engine: Engine, forwarded_for: str = FORGED
) -> tuple[int, str]:
    with Session(engine) as session:
        add_user(session, "sam", Role.STAFF, password=PASSWORD)
        session.commit()
    with RunningService(settings, engine, Roles(smtp=False, worker=False)) as service:
        assert service.listening is not None and service.listening.web is not None
        host, port = service.listening.web
        status = sign_in(f"http://{host}:{port}", "sam", PASSWORD, forwarded_for)
    with Session(engine) as session:
        origin = session.execute(
            select(col(AuditEntry.origin)).where(col(AuditEntry.action) == "sign-in")
        ).scalar_one()
    return status, origin


def test_by_default_the_header_is_ignored_even_from_localhost(
    settings: Settings, directory_engine: Engine
) -> None:
    assert settings.web.trusted_proxies == []
    assert signed_in_from(settings, directory_engine) == (303, "127.0.0.1")


def test_a_trusted_proxy_names_the_client(settings: Settings, directory_engine: Engine) -> None:
    # The proxy appends the peer it saw; what the client wrote before that is not believed.
    trusted = with_proxies(settings, ["127.0.0.0/8"])
    forwarded = f"198.51.100.99, {FORGED}"
    assert signed_in_from(trusted, directory_engine, forwarded) == (303, FORGED)


def test_a_forged_header_does_not_dodge_the_per_address_limit(
    settings: Settings, directory_engine: Engine
) -> None:
    with RunningService(settings, directory_engine, Roles(smtp=False, worker=False)) as service:
        assert service.listening is not None and service.listening.web is not None
        host, port = service.listening.web
        url = f"http://{host}:{port}"
        statuses = [
            sign_in(url, f"user{n}", "guess", f"198.51.100.{n}")
            for n in range(MAX_FAILURES_PER_ADDRESS + 1)
        ]
    assert statuses == [401] * MAX_FAILURES_PER_ADDRESS + [429]


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ('["10.1.2.3/8", "::1"]', ["10.0.0.0/8", "::1/128"]),
        ("[]", []),
    ],
)
def test_trusted_proxies_are_networks(given: str, kept: list[str]) -> None:
    loaded = load_settings(environ={"ABUSEDESK_WEB__TRUSTED_PROXIES": given})
    assert loaded.web.trusted_proxies == kept


def test_a_proxy_that_is_not_an_address_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="trusted_proxies"):
        load_settings(environ={"ABUSEDESK_WEB__TRUSTED_PROXIES": '["proxy.example"]'})
