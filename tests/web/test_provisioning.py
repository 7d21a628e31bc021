"""`POST /api/v1/accounts` on the running service: token first, the mailbox added, nothing moved.

A signup only adds: never a domain moved to another company, never a
contact changed, one company however its name is cased, one domain in
either IDN form; every field validated, every call with the token audited.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import Engine, select
from sqlmodel import Session, col
from tests.conftest import RunningService
from tests.web.raw_http import announce_body

from abusedesk.config import Settings
from abusedesk.service import Roles
from abusedesk.store.directory import find_mailbox
from abusedesk.store.tables import AuditEntry, Company, Contact, Domain, Mailbox

TOKEN = "s3cret-provisioning-token"


def with_token(settings: Settings) -> Settings:
    return settings.model_copy(
        update={"web": settings.web.model_copy(update={"service_token": TOKEN})}
    )


def test_provisioning_adds_a_mailbox(settings: Settings, directory_engine: Engine) -> None:
    with RunningService(
        with_token(settings), directory_engine, Roles(smtp=False, worker=False)
    ) as service:
        assert service.listening is not None and service.listening.web is not None
        host, port = service.listening.web
        url = f"http://{host}:{port}/api/v1/accounts"
        body = {
            "address": "Promo9@FreshSignup.example",
            "signup_ip": "203.0.113.9",
            "created_at": "2026-11-27T08:00:00Z",
        }
        no_token = httpx.post(url, json=body, timeout=10)
        wrong = httpx.post(url, json=body, headers={"Authorization": "Bearer nope"}, timeout=10)
        created = httpx.post(
            url, json=body, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10
        )
        again = httpx.post(url, json=body, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10)
        bad = httpx.post(
            url,
            json={"address": "x@nowhere.example"},
            headers={"Authorization": f"Bearer {TOKEN}"},
            timeout=10,
        )
        unknown = httpx.post(
            url,
            json={"address": "a@b.example", "admin": True},
            headers={"Authorization": f"Bearer {TOKEN}"},
            timeout=10,
        )
    assert (no_token.status_code, wrong.status_code) == (401, 401)
    assert created.status_code == 201
    assert created.json() == {"address": "promo9@freshsignup.example", "created": True}
    assert again.status_code == 200 and again.json()["created"] is False
    assert bad.status_code == 400 and "say which company" in bad.json()["error"]
    assert unknown.status_code == 400 and "unknown fields: admin" in unknown.json()["error"]
    view = find_mailbox(directory_engine, "promo9@freshsignup.example")
    assert view is not None and view.company == "Blue Mountain Web"
    assert (
        view.created_at is not None and view.created_at.isoformat() == "2026-11-27T08:00:00+00:00"
    )


def test_without_a_configured_token_everything_is_refused(
    settings: Settings, directory_engine: Engine
) -> None:
    with RunningService(settings, directory_engine, Roles(smtp=False, worker=False)) as service:
        assert service.listening is not None and service.listening.web is not None
        host, port = service.listening.web
        url = f"http://{host}:{port}/api/v1/accounts"
        response = httpx.post(
            url,
            json={"address": "a@shop.example"},
            headers={"Authorization": "Bearer guess"},
            timeout=10,
        )
    assert response.status_code == 401
    assert find_mailbox(directory_engine, "a@shop.example") is None


@pytest.fixture
def provisioning(settings: Settings, directory_engine: Engine) -> Iterator[str]:
    """`abusedesk serve`'s web role with a service token; the accounts URL."""
    with RunningService(
        with_token(settings), directory_engine, Roles(smtp=False, worker=False)
    ) as service:
        assert service.listening is not None and service.listening.web is not None
        host, port = service.listening.web
        yield f"http://{host}:{port}/api/v1/accounts"


def signup(url: str, **body: object) -> httpx.Response:
    return httpx.post(url, json=body, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10)


def directory(engine: Engine) -> dict[str, object]:
    """Which company each domain is in, each company's contacts, and the mailboxes."""
    with Session(engine) as session:
        companies = {c.id: c.name for c in session.execute(select(Company)).scalars()}
        domains = {
            d.name: companies[d.company_id] for d in session.execute(select(Domain)).scalars()
        }
        contacts = sorted(
            (companies[c.company_id], c.email) for c in session.execute(select(Contact)).scalars()
        )
        mailboxes = sorted(session.execute(select(col(Mailbox.address))).scalars())
    return {
        "companies": sorted(companies.values()),
        "domains": domains,
        "contacts": contacts,
        "mailboxes": mailboxes,
    }


def signups_audited(engine: Engine) -> list[tuple[str, str, str, str]]:
    with Session(engine) as session:
        entries = session.execute(
            select(AuditEntry)
            .where(col(AuditEntry.action) == "account.signup")
            .order_by(col(AuditEntry.id))
        ).scalars()
        return [(e.actor, e.target, e.detail["outcome"], e.origin) for e in entries]


def test_a_signup_never_moves_a_domain_or_changes_a_contact(
    provisioning: str, directory_engine: Engine
) -> None:
    before = directory(directory_engine)
    moved = signup(
        provisioning,
        address="takeover@shop.example",
        company="Blue Mountain Web",
        company_abuse_contact="attacker@evil.example",
    )
    assert moved.status_code == 409 and "does not move domains" in moved.json()["error"]
    assert directory(directory_engine) == before
    # Another spelling of a company that exists is that company: nothing new is made.
    same = signup(
        provisioning,
        address="new@shop.example",
        company="acme  HOSTING resellers",
        company_abuse_contact="attacker@evil.example",
    )
    assert same.status_code == 201
    after = directory(directory_engine)
    assert after["companies"] == before["companies"] and after["contacts"] == before["contacts"]
    assert after["domains"] == before["domains"]
    new_domain = signup(
        provisioning,
        address="a@fresh-domain.example",
        company="BLUE MOUNTAIN WEB",
        company_abuse_contact="attacker@evil.example",
    )
    assert new_domain.status_code == 201
    grown = directory(directory_engine)
    assert grown["domains"]["fresh-domain.example"] == "Blue Mountain Web"
    assert grown["companies"] == before["companies"] and grown["contacts"] == before["contacts"]
    # A new company gets the contact it is announced with.
    newcomer = signup(
        provisioning,
        address="first@newco.example",
        company="NewCo Hosting",
        company_abuse_contact="Abuse@NewCo.example",
    )
    assert newcomer.status_code == 201
    assert ("NewCo Hosting", "abuse@newco.example") in directory(directory_engine)["contacts"]
    assert [outcome for _, _, outcome, _ in signups_audited(directory_engine)] == [
        "refused",
        "created",
        "created",
        "created",
    ]


def test_an_idn_domain_is_one_domain_in_either_form(
    provisioning: str, directory_engine: Engine
) -> None:
    unicode_form = signup(provisioning, address="Kunde@Bücher.example", company="Blue Mountain Web")
    assert unicode_form.status_code == 201
    assert unicode_form.json()["address"] == "kunde@xn--bcher-kva.example"
    ascii_form = signup(provisioning, address="zweiter@XN--BCHER-KVA.example")
    assert ascii_form.status_code == 201  # the domain is known: no company needed
    again = signup(provisioning, address="kunde@xn--bcher-kva.example")
    assert again.status_code == 200 and again.json()["created"] is False
    other_company = signup(
        provisioning, address="dritter@bücher.example", company="Acme Hosting Resellers"
    )
    assert other_company.status_code == 409
    domains = directory(directory_engine)["domains"]
    assert isinstance(domains, dict)
    assert [name for name in domains if "bcher" in name or "bücher" in name] == [
        "xn--bcher-kva.example"
    ]
    assert find_mailbox(directory_engine, "KUNDE@bücher.example") is not None


@pytest.mark.parametrize(
    ("body", "wrong"),
    [
        ({"address": "a@shop.example\r\nBcc: x@evil.example"}, "control characters"),
        ({"address": "a\n@shop.example"}, "control characters"),
        ({"address": "x" * 65 + "@shop.example"}, "local part"),
        (
            {"address": "a" * 60 + "@" + "b" * 63 + "." + "c" * 63 + "." + "d" * 63 + ".example"},
            "longer than",
        ),
        ({"address": '"quoted local"@shop.example'}, "local part"),
        ({"address": "a..b@shop.example"}, "local part"),
        ({"address": "a@shop..example"}, "not a domain name"),
        ({"address": "a@-shop.example"}, "not a domain name"),
        ({"address": "a@xn--zz.example"}, "not a domain name"),
        ({"address": "a@192.0.2.1"}, "not a domain name"),
        ({"address": "a@localhost", "company": "X"}, "not a domain name"),
        ({"address": "shop.example"}, "not an email address"),
        ({"address": "a@new.example", "company": "Evil\r\nCorp"}, "control characters"),
        ({"address": "a@new.example", "company": "Evil\u202eCorp"}, "invisible"),
        ({"address": "a@new.example", "company": "   "}, "company must be"),
        ({"address": "a@new.example", "company": "C" * 201}, "company must be"),
        (
            {"address": "a@new.example", "company": "X", "company_abuse_contact": "nobody"},
            "company_abuse_contact",
        ),
        (
            {
                "address": "a@new.example",
                "company": "X",
                "company_abuse_contact": "abuse@x.example\r\n",
            },
            "control characters",
        ),
        ({"address": "a@shop.example", "signup_ip": "not-an-ip"}, "not an IP address"),
        ({"address": "a@shop.example", "signup_ip": "203.0.113.9\n"}, "control characters"),
        ({"address": "a@shop.example", "signup_ip": "fe80::1%eth0"}, "zone"),
        ({"address": "a@shop.example", "created_at": "yesterday"}, "ISO 8601"),
        ({"address": "a@shop.example", "created_at": "2999-01-01T00:00:00Z"}, "in the future"),
        ({"address": "a@shop.example", "signup_ip": 7}, "must be a string"),
        ({"address": ["a@shop.example"]}, "address is required"),
    ],
)
def test_every_field_is_validated(
    provisioning: str, directory_engine: Engine, body: dict[str, object], wrong: str
) -> None:
    before = directory(directory_engine)
    response = signup(provisioning, **body)
    assert response.status_code == 400, response.text
    assert wrong in response.json()["error"]
    assert directory(directory_engine) == before
    assert [outcome for _, _, outcome, _ in signups_audited(directory_engine)] == ["invalid"]


def test_every_call_with_the_token_is_audited_and_bodies_are_bounded(
    provisioning: str, directory_engine: Engine
) -> None:
    assert signup(provisioning, address="c1@shop.example").status_code == 201
    assert signup(provisioning, address="c1@shop.example").status_code == 200
    assert (
        signup(provisioning, address="c2@shop.example", company="Blue Mountain Web").status_code
        == 409
    )
    assert signup(provisioning, address="c3@unknown.example").status_code == 400
    wrong = httpx.post(
        provisioning,
        json={"address": "c4@shop.example"},
        headers={"Authorization": "Bearer nope"},
        timeout=10,
    )
    assert wrong.status_code == 401  # no token, no audit entry: anyone can send those
    url = provisioning.removesuffix("/api/v1/accounts")
    unread = announce_body(url, "/api/v1/accounts", {"Authorization": "Bearer nope"})
    assert unread.status == 401 and unread.seconds < 3
    too_large = announce_body(url, "/api/v1/accounts", {"Authorization": f"Bearer {TOKEN}"})
    assert too_large.status == 413 and too_large.seconds < 3
    nested = httpx.post(
        provisioning, content=b"[" * 5000, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10
    )
    assert nested.status_code == 400
    assert [
        (actor, target, outcome) for actor, target, outcome, _ in signups_audited(directory_engine)
    ] == [
        ("service:provisioning", "c1@shop.example", "created"),
        ("service:provisioning", "c1@shop.example", "exists"),
        ("service:provisioning", "c2@shop.example", "refused"),
        ("service:provisioning", "c3@unknown.example", "invalid"),
        ("service:provisioning", "", "invalid"),
        ("service:provisioning", "", "invalid"),
    ]
    assert {origin for *_, origin in signups_audited(directory_engine)} == {"127.0.0.1"}
