"""Signing in and out: argon2 passwords, the same answer for unknown users, rate limits, CSRF."""

from __future__ import annotations

import re

from sqlalchemy import select, update
from sqlmodel import Session, col
from tests.web.console_world import PASSWORD, World, hidden_csrf

from abusedesk.store.tables import AdminUser, AuditEntry
from abusedesk.web.session import COOKIE_NAME


def sign_in(world: World, username: str, password: str, next_path: str = "/") -> tuple[int, str]:
    client = world.client()
    form = client.get("/login", params={"next": next_path})
    response = client.post(
        "/login",
        data={
            "csrf": hidden_csrf(form.text),
            "username": username,
            "password": password,
            "next": next_path,
        },
    )
    return response.status_code, response.headers.get("location", response.text)


def test_signing_in_opens_the_page_asked_for_and_is_audited(world_with_passwords: World) -> None:
    world = world_with_passwords
    client = world.client()
    unsigned = client.get("/mailboxes/alice@shop.example")
    assert unsigned.status_code == 303
    assert unsigned.headers["location"] == "/login?next=/mailboxes/alice%40shop.example"
    form = client.get("/login", params={"next": "/mailboxes/alice@shop.example"})
    assert 'value="/mailboxes/alice@shop.example"' in form.text
    response = client.post(
        "/login",
        data={
            "csrf": hidden_csrf(form.text),
            "username": "dora",
            "password": PASSWORD,
            "next": "/mailboxes/alice@shop.example",
        },
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/mailboxes/alice@shop.example"
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")
    page = client.get("/mailboxes/alice@shop.example")
    assert page.status_code == 200 and "dora (domain-admin)" in page.text
    with Session(world.engine) as session:
        entry = session.execute(
            select(AuditEntry).where(col(AuditEntry.action) == "sign-in")
        ).scalar_one()
    assert (entry.actor, entry.origin) == ("dora", "127.0.0.1")
    # Signing out ends the session: the page asks for a sign-in again.
    out = client.post("/logout", data={"csrf": hidden_csrf(page.text)})
    assert out.status_code == 303 and out.headers["location"] == "/login"
    assert client.get("/mailboxes/alice@shop.example").status_code == 303


def test_a_wrong_password_and_an_unknown_user_get_the_same_answer(
    world_with_passwords: World,
) -> None:
    wrong = sign_in(world_with_passwords, "dora", "not the password")
    unknown = sign_in(world_with_passwords, "nobody", "not the password")
    assert wrong[0] == unknown[0] == 401
    assert "Wrong username or password." in wrong[1]
    assert re.sub(r'value="[^"]*"', "", wrong[1]) == re.sub(r'value="[^"]*"', "", unknown[1])


def test_failed_sign_ins_are_rate_limited_per_user(world_with_passwords: World) -> None:
    for _ in range(5):
        assert sign_in(world_with_passwords, "ann", "guess")[0] == 401
    status, text = sign_in(world_with_passwords, "ann", PASSWORD)
    assert status == 429
    assert "Too many failed sign-ins. Try again in 15 minute(s)." in text
    assert sign_in(world_with_passwords, "sam", PASSWORD)[0] == 303  # others are not locked out


def test_sign_in_refuses_a_form_without_its_csrf_token(world_with_passwords: World) -> None:
    client = world_with_passwords.client()
    client.get("/login")
    response = client.post("/login", data={"username": "sam", "password": PASSWORD})
    assert response.status_code == 403
    assert COOKIE_NAME in response.headers.get("set-cookie", "")  # a fresh anonymous session


def test_next_never_leaves_the_site(world_with_passwords: World) -> None:
    for target in ("https://evil.example/", "//evil.example/x", "/\\evil.example"):
        assert sign_in(world_with_passwords, "sam", PASSWORD, target) == (303, "/")


def test_a_tampered_cookie_or_a_disabled_user_is_signed_out(world: World) -> None:
    client = world.client("dora")
    assert client.get("/").status_code == 200
    with Session(world.engine) as session:
        session.execute(
            update(AdminUser).where(col(AdminUser.username) == "dora").values(disabled=True)
        )
        session.commit()
    assert client.get("/").status_code == 303
    forged = world.client("dora")
    value = forged.cookies[COOKIE_NAME]
    body, _, signature = value.rpartition(".")
    forged.cookies.set(COOKIE_NAME, body.replace("Z", "Y") + "." + signature)
    assert forged.get("/").headers["location"].startswith("/login")


def test_every_page_carries_the_security_headers(world: World) -> None:
    for path in ("/login", "/static/console.css", "/api/v1/openapi.json"):
        headers = world.client().get(path).headers
        assert "script-src 'self'" in headers["content-security-policy"]
        assert "'unsafe-inline'" not in headers["content-security-policy"]
        assert headers["x-frame-options"] == "DENY"
        assert headers["x-content-type-options"] == "nosniff"
