"""Every route × every role × an object in and out of its scope, generated from the route table.

The cases come from `ENDPOINTS`, so a new page or API operation is covered
the moment it is added; a route that is not in the table (and not one of
the few public ones) fails `test_every_route_is_in_the_table_or_public`.
Out of scope must answer 404 exactly like a missing object, change nothing,
audit nothing, and no list may show another scope's mailboxes or domains.
"""

from __future__ import annotations

import re

import pytest
from starlette.routing import Mount, Route
from tests.web.console_world import ADMINS, PLACES, SEES, Place, World, csrf_of

from abusedesk.access import Role
from abusedesk.web.console.endpoint import Audience, Endpoint, Target
from abusedesk.web.console.mount import PUBLIC_PATHS
from abusedesk.web.console.routes import ENDPOINTS

INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
SERVICE_ROUTES = {
    "/metrics",
    "/healthz",
    "/api/v1/accounts",
    "/api/v1/mailboxes/{address}/can-send",
}
"""The web port's routes that are not the console's: metrics, health, provisioning, and
can-send; the last two take the service token (tests/web/test_provisioning.py,
tests/enforce/), never an admin's."""


def audience_admits(audience: Audience, role: Role) -> bool:
    if audience is Audience.ANY:
        return True
    if audience is Audience.COMPANY:
        return role in {Role.STAFF, Role.COMPANY_ADMIN}
    return role is Role.STAFF


def path_for(endpoint: Endpoint, place: Place) -> str:
    values = {
        "address": place.address,
        "escalation_id": str(place.escalation_id),
        "report_id": str(place.report_id),
        "company_id": str(place.company_id),
        "contact_id": str(place.contact_id),
        "suspension_id": str(place.suspension_id),
    }
    path = endpoint.path
    for name, value in values.items():
        path = path.replace("{" + name + "}", value)
    assert "{" not in path, f"the matrix does not know how to fill {endpoint.path}"
    return path


def visible(username: str, place: str, target: Target) -> bool:
    if target is Target.NONE:
        return True
    if target in {Target.COMPANY, Target.CONTACT}:
        role = ADMINS[username][0]
        if role is Role.COMPANY_ADMIN:
            return PLACES[place][2] == ADMINS[username][1]
    return place in SEES[username]


def call(world: World, endpoint: Endpoint, username: str | None, path: str) -> tuple[int, str]:
    if endpoint.api:
        client = world.api(username) if username else world.client(None)
        if endpoint.method == "POST":
            response = client.post(path, json=dict(endpoint.example))
        else:
            response = client.get(path)
    else:
        client = world.client(username)
        if endpoint.method == "POST":
            form = {"csrf": csrf_of(username or "nobody"), **endpoint.example}
            response = client.post(path, data=form)
        else:
            response = client.get(path)
    return response.status_code, response.text


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=[e.name for e in ENDPOINTS])
def test_route_answers_each_role_within_its_scope_only(world: World, endpoint: Endpoint) -> None:
    places = ["shop"] if endpoint.target is Target.NONE else list(PLACES)
    cases = []
    for username in ADMINS:
        for place in places:
            admitted = audience_admits(endpoint.audience, ADMINS[username][0])
            cases.append((username, place, admitted and visible(username, place, endpoint.target)))
    cases.sort(key=lambda case: case[2])  # the refusals first: the allowed calls change state
    for place in places:
        path = path_for(endpoint, world.places[place])
        status, _ = call(world, endpoint, None, path)
        assert status == (401 if endpoint.api else 303), f"anonymous {endpoint.method} {path}"
    for username, place, allowed in cases:
        path = path_for(endpoint, world.places[place])
        before = world.audit_count()
        status, text = call(world, endpoint, username, path)
        where = f"{username} {endpoint.method} {path}"
        if not allowed:
            assert status == 404, f"{where}: {status}, expected 404"
            assert world.audit_count() == before, f"{where}: a refused call was audited"
            continue
        if endpoint.method == "GET":
            assert status == 200, f"{where}: {status}"
        elif endpoint.api:
            assert status in {200, 409}, f"{where}: {status} {text[:200]}"
        else:
            assert status == 303, f"{where}: {status}"
        if endpoint.method == "GET" and not endpoint.api and "<html" in text:
            # The CSP allows no inline script or style: a page must not need any.
            assert not INLINE_SCRIPT.search(text), f"{where} has an inline script"
            assert " style=" not in text and " onclick=" not in text, where
        if endpoint.method == "GET":
            for other, (address, domain, _company) in PLACES.items():
                if other not in SEES[username]:
                    assert address not in text, f"{where} shows {address}"
                    assert domain not in text, f"{where} shows {domain}"


def test_every_route_is_in_the_table_or_public(world: World) -> None:
    table = {(e.path, e.method) for e in ENDPOINTS}
    for route in world.app.routes:
        if isinstance(route, Mount):
            assert route.path in PUBLIC_PATHS, f"mount {route.path} is not covered"
            continue
        assert isinstance(route, Route)
        for method in (route.methods or set()) - {"HEAD"}:
            covered = (route.path, method) in table
            assert covered or route.path in PUBLIC_PATHS or route.path in SERVICE_ROUTES, (
                f"{method} {route.path} is neither in the route table nor public"
            )


def test_the_api_ignores_the_console_cookie(world: World) -> None:
    client = world.client("sam")
    assert client.get("/api/v1/suspensions").status_code == 401
    assert client.post("/api/v1/mailboxes/alice@shop.example/lift", json={}).status_code == 401
