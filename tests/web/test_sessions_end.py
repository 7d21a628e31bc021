"""A console session ends at once, on every node: sign-out, new password, changed role, disabled.

Each test signs in through the real form, keeps a copy of the cookie, and
shows that the copy stops working the moment the session should end: the
copy is what a thief of the cookie would hold.
"""

from __future__ import annotations

import httpx
from sqlalchemy import select, update
from sqlmodel import Session, col
from tests.web.console_world import PASSWORD, World, hidden_csrf

from abusedesk.access.users import set_password
from abusedesk.store.tables import AdminUser, Domain

PAGE = "/"
MAILBOX = "/mailboxes/alice@shop.example"


def signed_in(base_url: str, username: str) -> httpx.Client:
    client = httpx.Client(base_url=base_url, follow_redirects=False, timeout=30)
    form = client.get("/login")
    data = {"csrf": hidden_csrf(form.text), "username": username, "password": PASSWORD}
    assert client.post("/login", data=data).status_code == 303
    assert client.get(PAGE).status_code == 200
    return client


def copy_of(client: httpx.Client, base_url: str) -> httpx.Client:
    """Another browser holding the same cookie."""
    thief = httpx.Client(base_url=base_url, follow_redirects=False, timeout=30)
    thief.cookies.update(client.cookies)
    return thief


def signed_out(client: httpx.Client) -> bool:
    response = client.get(PAGE)
    return response.status_code == 303 and response.headers["location"].startswith("/login")


def change_user(world: World, username: str, **values: object) -> None:
    with Session(world.engine) as session:
        session.execute(update(AdminUser).where(col(AdminUser.username) == username).values(values))
        session.commit()


def test_signing_out_ends_the_session_for_every_copy_of_the_cookie(
    world_with_passwords: World, second_node: str
) -> None:
    world = world_with_passwords
    browser = signed_in(world.base_url, "dora")
    here, there = copy_of(browser, world.base_url), copy_of(browser, second_node)
    actor = copy_of(browser, second_node)
    assert there.get(PAGE).status_code == 200  # one session, served by either node
    csrf = hidden_csrf(browser.get(PAGE).text)
    assert browser.post("/logout", data={"csrf": csrf}).status_code == 303
    assert signed_out(here) and signed_out(there)
    # Nor may a copy act: a POST is refused (before its form is read).
    data = {"csrf": csrf, "outcome": "lifted", "note": "mine now"}
    lift = actor.post(f"{MAILBOX}/services", data=data)
    assert lift.status_code == 303 and lift.headers["location"] == "/login"
    assert not world.mailbox("alice@shop.example").can_send
    for client in (browser, here, there, actor):
        client.close()


def test_a_new_password_ends_every_session_of_the_user(
    world_with_passwords: World, second_node: str
) -> None:
    world = world_with_passwords
    first, second = signed_in(world.base_url, "ann"), signed_in(second_node, "ann")
    other = signed_in(world.base_url, "sam")
    with Session(world.engine) as session:
        set_password(session, "ann", "a brand new passphrase")
        session.commit()
    assert signed_out(first) and signed_out(second)
    assert not signed_out(other)
    for client in (first, second, other):
        client.close()


def test_a_role_change_or_a_disabled_user_ends_the_session(
    world_with_passwords: World, second_node: str
) -> None:
    world = world_with_passwords
    ann, dora = signed_in(world.base_url, "ann"), signed_in(second_node, "dora")
    hugo = signed_in(world.base_url, "hugo")
    # Changed by any path, even by hand in SQL: the sessions were opened for what it was.
    change_user(world, "ann", role="domain-admin", domain_id=world_domain_id(world, "shop"))
    change_user(world, "dora", disabled=True)
    assert signed_out(ann) and signed_out(dora)
    change_user(world, "dora", disabled=False)
    copy = copy_of(dora, second_node)
    assert signed_out(copy)  # enabled again, the user signs in again: no old session revives
    assert not signed_out(hugo)
    for client in (ann, dora, hugo, copy):
        client.close()


def world_domain_id(world: World, place: str) -> int:
    with Session(world.engine) as session:
        return session.execute(
            select(col(Domain.id)).where(col(Domain.name) == world.places[place].domain)
        ).scalar_one()
