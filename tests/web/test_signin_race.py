"""Sign-ins sent all at once, to one node or to two, get no more tries than the lockout allows."""

from __future__ import annotations

import threading

import httpx
from tests.web.console_world import PASSWORD, World, hidden_csrf

from abusedesk.web.throttle import MAX_FAILURES_PER_USER

GUESSES = 15


def ready_form(base_url: str) -> tuple[httpx.Client, str]:
    client = httpx.Client(base_url=base_url, follow_redirects=False, timeout=60)
    return client, hidden_csrf(client.get("/login").text)


def guess_at_once(base_urls: list[str], username: str, guesses: int) -> list[int]:
    """`guesses` wrong passwords for `username`, sent together, spread over `base_urls`."""
    forms = [ready_form(base_urls[i % len(base_urls)]) for i in range(guesses)]
    start = threading.Barrier(guesses)
    statuses: list[int] = []

    def guess(client: httpx.Client, csrf: str, n: int) -> None:
        start.wait()
        data = {"csrf": csrf, "username": username, "password": f"guess {n}", "next": "/"}
        statuses.append(client.post("/login", data=data).status_code)

    threads = [
        threading.Thread(target=guess, args=(client, csrf, n))
        for n, (client, csrf) in enumerate(forms)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    for client, _ in forms:
        client.close()
    return sorted(statuses)


def right_password(base_url: str, username: str) -> int:
    client, csrf = ready_form(base_url)
    try:
        data = {"csrf": csrf, "username": username, "password": PASSWORD, "next": "/"}
        return client.post("/login", data=data).status_code
    finally:
        client.close()


def test_parallel_wrong_passwords_get_no_more_tries_than_the_limit(
    world_with_passwords: World,
) -> None:
    world = world_with_passwords
    statuses = guess_at_once([world.base_url], "ann", GUESSES)
    assert statuses.count(401) == MAX_FAILURES_PER_USER
    assert statuses.count(429) == GUESSES - MAX_FAILURES_PER_USER
    assert right_password(world.base_url, "ann") == 429  # locked out: the right one waits too
    assert right_password(world.base_url, "sam") == 303


def test_the_lockout_holds_across_nodes(world_with_passwords: World, second_node: str) -> None:
    world = world_with_passwords
    statuses = guess_at_once([world.base_url, second_node], "dora", GUESSES)
    assert statuses.count(401) == MAX_FAILURES_PER_USER
    assert right_password(second_node, "dora") == 429
    assert right_password(world.base_url, "dora") == 429
