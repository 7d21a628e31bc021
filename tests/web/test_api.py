"""The JSON API: per-user tokens, the console's scope, lift and delete, and its OpenAPI document."""

from __future__ import annotations

from sqlalchemy import select
from sqlmodel import Session, col
from tests.web.console_world import World

from abusedesk.store.tables import AuditEntry
from abusedesk.web.console.routes import API


def test_lists_are_scoped_to_the_tokens_user(world: World) -> None:
    staff = world.api("sam").get("/api/v1/suspensions").json()
    company = world.api("ann").get("/api/v1/suspensions").json()
    domain = world.api("dora").get("/api/v1/suspensions").json()
    assert {s["mailbox"] for s in staff["suspensions"]} == {
        "alice@shop.example",
        "orders@bakery.example",
        "info@hikers.example",
    }
    assert {s["mailbox"] for s in company["suspensions"]} == {
        "alice@shop.example",
        "orders@bakery.example",
    }
    assert [s["mailbox"] for s in domain["suspensions"]] == ["alice@shop.example"]
    assert domain["suspensions"][0]["rule"] == "soft-suspend" and domain["more"] is False
    one = world.api("dora").get(f"/api/v1/suspensions/{domain['suspensions'][0]['id']}").json()
    assert one == domain["suspensions"][0]
    complaints = world.api("dora").get("/api/v1/complaints").json()["complaints"]
    assert len(complaints) == 6 and {c["mailbox"] for c in complaints} == {"alice@shop.example"}
    escalations = world.api("hugo").get("/api/v1/escalations").json()["escalations"]
    assert [e["scope_key"] for e in escalations] == ["hikers.example"]


def test_lift_then_delete_through_the_api(world: World) -> None:
    api = world.api("dora")
    refused = api.post("/api/v1/mailboxes/alice@shop.example/delete", json={"note": "bye"})
    assert refused.status_code == 409
    assert "lift the suspension first" in refused.json()["error"]
    no_note = api.post("/api/v1/mailboxes/alice@shop.example/lift", json={"outcome": "lifted"})
    assert no_note.status_code == 400
    lifted = api.post(
        "/api/v1/mailboxes/alice@shop.example/lift",
        json={"outcome": "educated", "note": "customer fixed the list"},
    )
    assert lifted.status_code == 200
    assert lifted.json()["outcome"] == "educated" and lifted.json()["lifted_by"] == "dora"
    shown = api.get("/api/v1/mailboxes/ALICE@shop.example").json()
    assert shown["services"]["send"] is True and shown["suspension"] is None
    again = api.post("/api/v1/mailboxes/alice@shop.example/lift", json={"note": "again"})
    assert again.status_code == 409
    deleted = api.post("/api/v1/mailboxes/alice@shop.example/delete", json={"note": "bye"})
    assert deleted.json() == {"address": "alice@shop.example", "deleted": True}
    with Session(world.engine) as session:
        actions = session.execute(
            select(col(AuditEntry.action), col(AuditEntry.origin)).where(
                col(AuditEntry.actor) == "dora"
            )
        ).all()
    assert sorted(a for a, _ in actions) == ["mailbox.delete", "suspension.lift"]


def test_out_of_scope_bad_tokens_and_bad_bodies(world: World) -> None:
    api = world.api("dora")
    other = api.get("/api/v1/mailboxes/info@hikers.example")
    missing = api.get("/api/v1/mailboxes/nobody@hikers.example")
    assert other.status_code == missing.status_code == 404
    assert other.json()["error"].replace("info", "X") == missing.json()["error"].replace(
        "nobody", "X"
    )
    lift = api.post("/api/v1/mailboxes/info@hikers.example/lift", json={"note": "mine"})
    assert lift.status_code == 404
    assert not world.mailbox("info@hikers.example").can_send
    unknown = api.post("/api/v1/mailboxes/alice@shop.example/lift", json={"admin": True})
    assert unknown.status_code == 400 and "unknown fields: admin" in unknown.json()["error"]
    not_json = api.post(
        "/api/v1/mailboxes/alice@shop.example/lift",
        content=b"note=x",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert not_json.status_code == 400
    forged = world.client().get(
        "/api/v1/suspensions", headers={"Authorization": "Bearer adk_not-a-token"}
    )
    assert forged.status_code == 401


def test_openapi_describes_every_api_operation(world: World) -> None:
    document = world.client().get("/api/v1/openapi.json").json()
    assert document["openapi"].startswith("3.1")
    operations = {
        (path, method.upper()) for path, item in document["paths"].items() for method in item
    }
    assert operations == {(e.path, e.method) for e in API}
    lift = document["paths"]["/api/v1/mailboxes/{address}/lift"]["post"]
    assert lift["parameters"][0]["name"] == "address"
    schema = lift["requestBody"]["content"]["application/json"]["schema"]
    assert set(schema["properties"]) == {"outcome", "note"}
    assert document["components"]["securitySchemes"]["token"]["scheme"] == "bearer"
