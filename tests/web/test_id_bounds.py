"""Every id in every route is bounded: a huge, negative or oddly written id is a 404, never a 500.

The cases come from the route table, so a new route with an id is covered at
once. Ids are INTEGER columns: 64 bits on SQLite and 32 on PostgreSQL, whose
driver refuses `2**31` outright; an id is written one way only (no sign,
space, leading zero or non-ASCII digit), so that one object has one URL.
"""

from __future__ import annotations

import json
import re

import pytest
from tests.web.console_world import World, csrf_of

from abusedesk.web.console.endpoint import Endpoint
from abusedesk.web.console.routes import ENDPOINTS

_PARAM = re.compile(r"\{(\w+)\}")
ODD_IDS = [
    "9" * 40,
    str(2**63),
    str(2**63 - 1),
    str(2**31),
    "0",
    "01",
    "-1",
    "+1",
    "1e3",
    "0x10",
    "1_0",
    "\u0661",  # ARABIC-INDIC DIGIT ONE: int() reads it as 1
    " 1",
    "%00",
]
WITH_IDS = [e for e in ENDPOINTS if any(p.endswith("_id") for p in _PARAM.findall(e.path))]
HUGE_ADDRESS = "a" * 5000 + "@shop.example"
WITH_ADDRESS = [e for e in ENDPOINTS if "{address}" in e.path]


def fill(endpoint: Endpoint, value: str) -> str:
    return _PARAM.sub(value, endpoint.path)


def ask(world: World, endpoint: Endpoint, path: str) -> tuple[int, str]:
    if endpoint.api:
        client = world.api("sam")
        response = (
            client.post(path, json=dict(endpoint.example))
            if endpoint.method == "POST"
            else client.get(path)
        )
    else:
        client = world.client("sam")
        data = {"csrf": csrf_of("sam"), **endpoint.example}
        response = client.post(path, data=data) if endpoint.method == "POST" else client.get(path)
    return response.status_code, response.text


def test_the_table_has_routes_with_ids() -> None:
    assert {"company", "contact-edit", "escalation", "report", "api-suspension"} <= {
        e.name for e in WITH_IDS
    }


@pytest.mark.parametrize("endpoint", WITH_IDS, ids=[e.name for e in WITH_IDS])
def test_an_odd_id_is_not_found(world: World, endpoint: Endpoint) -> None:
    before = world.audit_count()
    for value in ODD_IDS:
        status, text = ask(world, endpoint, fill(endpoint, value))
        assert status == 404, f"staff {endpoint.method} {fill(endpoint, value)}: {status}"
        assert "Traceback" not in text
        if endpoint.api:
            assert json.loads(text)["error"]
    assert world.audit_count() == before


@pytest.mark.parametrize("endpoint", WITH_ADDRESS, ids=[e.name for e in WITH_ADDRESS])
def test_a_huge_address_is_not_found(world: World, endpoint: Endpoint) -> None:
    status, _ = ask(world, endpoint, fill(endpoint, HUGE_ADDRESS))
    assert status == 404
