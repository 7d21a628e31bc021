"""Bodies are read only once the caller is known, and never past a bound (API, console, sign-in).

A client announces 600 MB and sends a few bytes: the answer must come at
once — 401 or a sign-in redirect for a caller who is not known, 413 for one
who is — and not after the server has waited for, read and decoded it all.
"""

from __future__ import annotations

import pytest
from tests.web.console_world import World, csrf_of, hidden_csrf
from tests.web.raw_http import announce_body, stream_body

from abusedesk.web.bodies import MAX_JSON_BYTES
from abusedesk.web.session import COOKIE_NAME

LIFT = "/api/v1/mailboxes/alice@shop.example/lift"
SERVICES = "/mailboxes/alice@shop.example/services"
JSON = {"Content-Type": "application/json"}
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def cookie_of(world: World, username: str) -> dict[str, str]:
    client = world.client(username)
    return {"Cookie": f"{COOKIE_NAME}={client.cookies[COOKIE_NAME]}"}


@pytest.mark.parametrize(
    ("path", "headers", "status"),
    [
        (LIFT, {**JSON, "Authorization": "Bearer adk_not-a-token"}, 401),
        (LIFT, JSON, 401),
        (SERVICES, FORM, 303),
        ("/logout", FORM, 303),
        ("/api/v1/accounts", {**JSON, "Authorization": "Bearer guess"}, 401),
    ],
    ids=["api-bad-token", "api-no-token", "console-signed-out", "logout-signed-out", "accounts"],
)
def test_an_unknown_caller_is_answered_without_reading_the_body(
    world: World, path: str, headers: dict[str, str], status: int
) -> None:
    answer = announce_body(world.base_url, path, headers)
    assert answer.status == status, answer
    assert answer.seconds < 3
    assert "connection: close" in answer.head.lower()


def test_an_ended_session_is_answered_without_reading_the_body(world: World) -> None:
    signed_in = world.client("dora")
    page = signed_in.get("/")
    signed_in.post("/logout", data={"csrf": hidden_csrf(page.text)})
    copy = {"Cookie": f"{COOKIE_NAME}={page.request.headers['cookie'].partition('=')[2]}"}
    answer = announce_body(world.base_url, SERVICES, {**FORM, **copy})
    assert answer.status == 303 and "location: /login" in answer.head.lower()
    assert answer.seconds < 3


@pytest.mark.parametrize(
    ("path", "who"),
    [(LIFT, "api"), (SERVICES, "console"), ("/login", "nobody")],
    ids=["api", "console", "sign-in"],
)
def test_a_known_caller_with_a_huge_body_gets_413_at_once(
    world: World, path: str, who: str
) -> None:
    headers = dict(JSON if who == "api" else FORM)
    if who == "api":
        headers["Authorization"] = f"Bearer {world.tokens['dora']}"
    elif who == "console":
        headers.update(cookie_of(world, "dora"))
    answer = announce_body(world.base_url, path, headers)
    assert answer.status == 413, answer
    assert answer.seconds < 3
    streamed, sent = stream_body(world.base_url, path, headers)
    assert streamed.status == 413, streamed
    assert sent < 4 * 1024 * 1024  # read up to the bound, then refused


def test_bodies_up_to_the_bound_are_read(world: World) -> None:
    body = b'{"outcome": "lifted", "note": "cleaned up"' + b" " * (MAX_JSON_BYTES - 100) + b"}"
    lifted = world.api("dora").post(LIFT, content=body, headers=JSON)
    assert lifted.status_code == 200 and lifted.json()["note"] == "cleaned up"


def test_bodies_no_handler_could_store_are_refused(world: World) -> None:
    api = world.api("dora")
    nested = api.post(LIFT, content=b"[" * 50_000, headers=JSON)
    assert nested.status_code == 400 and "JSON object" in nested.json()["error"]
    nul = api.post(LIFT, json={"outcome": "lifted", "note": "a\u0000b"})
    assert nul.status_code == 400 and "NUL" in nul.json()["error"]
    console = world.client("dora")
    form = {"csrf": csrf_of("dora"), "outcome": "lifted", "note": "a\x00b"}
    assert console.post(SERVICES, data=form).status_code == 400
    many = {"csrf": csrf_of("dora"), **{f"f{n}": "1" for n in range(100)}}
    assert console.post(SERVICES, data=many).status_code == 400
    assert not world.mailbox("alice@shop.example").can_send
