"""The mailbox page: red status, lift or educate with a note, delete refused while suspended."""

from __future__ import annotations

from sqlalchemy import select
from sqlmodel import Session, col
from tests.web.console_world import HOSTILE_EXCERPT, HOSTILE_SUBJECT, World, csrf_of

from abusedesk.store.tables import AuditEntry, Suspension


def test_a_domain_admin_sees_the_suspended_mailbox_in_red_with_its_evidence(world: World) -> None:
    page = world.client("dora").get("/mailboxes/alice@shop.example")
    assert page.status_code == 200
    html = page.text
    assert '<strong class="bad">Some Services Disabled</strong>' in html
    assert "Send Mail suspended since" in html
    assert "Rule &#39;soft-suspend&#39; fired" in html  # the decision, explained in words
    assert "aol.example" in html and "yahoo.example" in html
    # Report-derived text is escaped, never markup.
    assert HOSTILE_SUBJECT not in html and HOSTILE_EXCERPT not in html
    assert "&lt;script&gt;document.title=&#34;pwned&#34;&lt;/script&gt;Weekly offer" in html
    assert "<script>document" not in html
    assert "default-src 'none'" in page.headers["content-security-policy"]


def test_unchecking_the_send_suspension_lifts_it_with_the_outcome_and_audits(world: World) -> None:
    client = world.client("dora")
    response = client.post(
        "/mailboxes/alice@shop.example/services",
        data={"csrf": csrf_of("dora"), "outcome": "educated", "note": "customer cleaned the list"},
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/mailboxes/alice@shop.example"
    assert world.mailbox("alice@shop.example").can_send
    page = client.get("/mailboxes/alice@shop.example")
    assert "Sending restored for alice@shop.example (educated and lifted)." in page.text
    assert '<strong class="good">Active</strong>' in page.text
    with Session(world.engine) as session:
        suspension = session.execute(
            select(Suspension).where(col(Suspension.lifted_at).is_not(None))
        ).scalar_one()
        entry = session.execute(
            select(AuditEntry).where(col(AuditEntry.action) == "suspension.lift")
        ).scalar_one()
    assert (suspension.outcome, suspension.lifted_by) == ("educated", "dora")
    assert suspension.note == "customer cleaned the list"
    assert (entry.actor, entry.target, entry.origin) == ("dora", "alice@shop.example", "127.0.0.1")
    assert entry.note == "customer cleaned the list"


def test_a_lift_needs_a_note_and_a_still_checked_suspension_changes_nothing(world: World) -> None:
    client = world.client("dora")
    no_note = client.post(
        "/mailboxes/alice@shop.example/services",
        data={"csrf": csrf_of("dora"), "outcome": "lifted", "note": " "},
    )
    assert no_note.status_code == 303
    assert "a note is required" in client.get("/mailboxes/alice@shop.example").text
    still_checked = client.post(
        "/mailboxes/alice@shop.example/services",
        data={"csrf": csrf_of("dora"), "send_suspended": "1", "note": "x"},
    )
    assert still_checked.status_code == 303
    assert "Nothing changed" in client.get("/mailboxes/alice@shop.example").text
    assert not world.mailbox("alice@shop.example").can_send


def test_delete_is_refused_while_suspended_with_the_reason_then_allowed(world: World) -> None:
    client = world.client("ann")
    refused = client.post(
        "/mailboxes/orders@bakery.example/delete", data={"csrf": csrf_of("ann"), "note": "gone"}
    )
    assert refused.status_code == 303
    page = client.get("/mailboxes/orders@bakery.example").text
    assert "is soft-suspended: lift the suspension first, then delete the account" in page
    assert world.mailbox("orders@bakery.example").deleted_at is None
    client.post(
        "/mailboxes/orders@bakery.example/services",
        data={"csrf": csrf_of("ann"), "outcome": "lifted", "note": "closing it"},
    )
    deleted = client.post(
        "/mailboxes/orders@bakery.example/delete", data={"csrf": csrf_of("ann"), "note": "gone"}
    )
    assert deleted.status_code == 303
    mailbox = world.mailbox("orders@bakery.example")
    assert mailbox.deleted_at is not None and not mailbox.can_login


def test_another_domains_mailbox_is_not_found_exactly_like_a_missing_one(world: World) -> None:
    client = world.client("dora")
    other = client.get("/mailboxes/info@hikers.example")
    missing = client.get("/mailboxes/nobody@shop.example")
    assert other.status_code == missing.status_code == 404
    assert other.text.replace("info@hikers.example", "X") == missing.text.replace(
        "nobody@shop.example", "X"
    )
    before = world.audit_count()
    lift = client.post(
        "/mailboxes/info@hikers.example/services",
        data={"csrf": csrf_of("dora"), "outcome": "lifted", "note": "mine now"},
    )
    assert lift.status_code == 404
    assert not world.mailbox("info@hikers.example").can_send
    assert world.audit_count() == before


def test_a_form_without_the_sessions_csrf_token_changes_nothing(world: World) -> None:
    client = world.client("dora")
    forged = client.post(
        "/mailboxes/alice@shop.example/services",
        data={"csrf": "guessed", "outcome": "lifted", "note": "forged"},
    )
    assert forged.status_code == 403
    assert not world.mailbox("alice@shop.example").can_send


def test_find_mailboxes_lists_only_the_admins_own(world: World) -> None:
    page = world.client("ann").get("/mailboxes", params={"q": ""}).text
    assert "alice@shop.example" in page and "orders@bakery.example" in page
    assert "info@hikers.example" not in page
    found = world.client("dora").get("/mailboxes", params={"q": "ali"}).text
    assert "alice@shop.example" in found and "bob@shop.example" not in found
