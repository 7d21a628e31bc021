"""The other pages: dashboard, escalations, reports, policy, companies and the audit log."""

from __future__ import annotations

from sqlalchemy import select
from sqlmodel import Session, col
from tests.web.console_world import World, csrf_of

from abusedesk.store.tables import (
    AuditEntry,
    Complaint,
    Contact,
    Escalation,
    PolicyParam,
    RawReport,
)


def test_the_dashboard_counts_what_needs_attention_within_scope(world: World) -> None:
    staff = world.client("sam").get("/").text
    assert '<div class="figure" id="open-suspensions">3</div>' in staff
    assert '<div class="figure" id="open-escalations">3</div>' in staff
    assert '<div class="figure" id="quarantined">1</div>' in staff
    # Imported contacts are not verified yet: every company is warned about, Nocontact too.
    assert "Nocontact Ltd</a> (no abuse contact)" in staff
    assert "Acme Hosting Resellers</a> (contact not verified)" in staff
    assert "<title>" in staff and "18</text>" in staff  # today's bar: 18 complaints
    assert "<td>aol.example</td><td>9</td>" in staff
    domain = world.client("dora").get("/").text
    assert '<div class="figure" id="open-suspensions">1</div>' in domain
    assert 'id="quarantined"' not in domain and "Nocontact" not in domain


def test_escalations_acknowledge_resolve_and_bulk_suspend(world: World) -> None:
    client = world.client("ann")
    place = world.places["bakery"]
    url = f"/escalations/{place.escalation_id}"
    page = client.get(url).text
    assert "orders@bakery.example" in page and "fraudulent-signups" in page
    client.post(f"{url}/acknowledge", data={"csrf": csrf_of("ann"), "note": "on it"})
    client.post(
        "/mailboxes/orders@bakery.example/services",
        data={"csrf": csrf_of("ann"), "outcome": "lifted", "note": "false alarm?"},
    )
    assert world.mailbox("orders@bakery.example").can_send
    client.post(f"{url}/suspend", data={"csrf": csrf_of("ann"), "note": "it is fraud after all"})
    assert not world.mailbox("orders@bakery.example").can_send
    shown = client.get("/mailboxes/orders@bakery.example").text
    assert "by rule “escalation " in shown
    assert "Rule &#39;manual: ann&#39; fired" in shown
    unresolved = client.post(f"{url}/resolve", data={"csrf": csrf_of("ann"), "note": ""})
    assert unresolved.status_code == 303
    assert "a note is required" in client.get(url).text
    client.post(f"{url}/resolve", data={"csrf": csrf_of("ann"), "note": "accounts closed"})
    with Session(world.engine) as session:
        escalation = session.get(Escalation, place.escalation_id)
        actions = session.execute(
            select(col(AuditEntry.action)).where(col(AuditEntry.actor) == "ann")
        ).scalars()
        assert escalation is not None
        assert (escalation.status, escalation.resolved_by) == ("resolved", "ann")
        assert sorted(actions) == [
            "escalation.acknowledge",
            "escalation.resolve",
            "mailbox.suspend",
            "suspension.lift",
        ]
    assert "?status=open" in client.get("/escalations").text


def test_reports_search_the_raw_text_and_reprocessing(world: World) -> None:
    staff = world.client("sam")
    quarantined = staff.get("/reports", params={"status": "quarantined"}).text
    assert "not a feedback report: no message/feedback-report part" in quarantined
    by_mailbox = world.client("dora").get("/reports", params={"mailbox": "Alice@Shop.example"})
    assert by_mailbox.text.count('<td><a href="/mailboxes/alice%40shop.example">') == 6
    by_reporter = staff.get("/reports", params={"reporter": "yahoo.example"}).text
    assert by_reporter.count("yahoo.example</td>") == 9
    report = world.quarantined_report
    page = staff.get(f"/reports/{report}").text
    assert "Subject: &lt;b&gt;not a report&lt;/b&gt;" in page
    raw = staff.get(f"/reports/{report}/raw")
    assert raw.headers["content-type"].startswith("text/plain")
    assert "Subject: <b>not a report</b>" in raw.text
    assert world.client("dora").get(f"/reports/{report}").status_code == 404
    staff.post(f"/reports/{report}/reprocess", data={"csrf": csrf_of("sam"), "note": "fixed"})
    with Session(world.engine) as session:
        stored = session.get(RawReport, report)
        assert stored is not None and (stored.status, stored.reason) == ("pending", None)
    again = staff.post(f"/reports/{report}/reprocess", data={"csrf": csrf_of("sam")})
    assert again.status_code == 303
    assert "only a quarantined one is reprocessed" in staff.get(f"/reports/{report}").text


def test_the_policy_page_shows_the_running_rules(world: World) -> None:
    page = world.client("sam").get("/policy").text
    assert "complaints_24h" in page and "(running)" in page
    assert "the default policy packaged with abusedesk" in page  # no [rules] path configured
    assert "No shadow-mode decisions recorded." in page
    replay = world.client("sam").get("/policy/replay", params={"since": "1d"}).text
    assert "Nothing was carried out" in replay
    bad = world.client("sam").get("/policy/replay", params={"since": "forever"})
    assert bad.status_code == 409 and "a duration like 24h or 7d" in bad.text


def test_company_contacts_and_params(world: World) -> None:
    client = world.client("ann")
    place = world.places["shop"]
    url = f"/companies/{place.company_id}"
    client.post(
        f"{url}/contacts",
        data={"csrf": csrf_of("ann"), "email": "abuse@shop.example", "domain": "shop.example"},
    )
    bad = client.post(f"{url}/contacts", data={"csrf": csrf_of("ann"), "email": "not-an-address"})
    assert bad.status_code == 303
    assert "is not an email address" in client.get(url).text
    client.post(
        f"/contacts/{place.contact_id}",
        data={"csrf": csrf_of("ann"), "email": "abuse@acme-resellers.example", "verified": "1"},
    )
    # Params are staff's: a company admin is answered as if the form did not exist.
    assert (
        client.post(
            f"{url}/params", data={"csrf": csrf_of("ann"), "name": "complaint_limit", "value": "50"}
        ).status_code
        == 404
    )
    staff = world.client("sam")
    staff.post(
        f"{url}/params",
        data={
            "csrf": csrf_of("sam"),
            "name": "complaint_limit",
            "value": "8",
            "domain": "shop.example",
        },
    )
    typo = staff.post(
        f"{url}/params", data={"csrf": csrf_of("sam"), "name": "complaint_limit", "value": "lots"}
    )
    assert typo.status_code == 303
    assert "is not" in staff.get(url).text
    with Session(world.engine) as session:
        contacts = session.execute(
            select(col(Contact.email), col(Contact.verified)).where(
                col(Contact.company_id) == place.company_id
            )
        ).all()
        params = session.execute(select(PolicyParam)).scalars().all()
    assert sorted(contacts) == [
        ("abuse@acme-resellers.example", True),
        ("abuse@shop.example", False),
    ]
    assert [(p.scope, p.scope_key, p.value, p.updated_by) for p in params] == [
        ("domain", "shop.example", "8", "sam")
    ]
    dashboard = client.get("/").text
    assert "Acme Hosting Resellers" not in dashboard  # now it has a verified contact


def test_the_audit_log_is_filtered_and_scoped(world: World) -> None:
    world.client("dora").post(
        "/mailboxes/alice@shop.example/services",
        data={"csrf": csrf_of("dora"), "outcome": "lifted", "note": "ok"},
    )
    world.client("hugo").post(
        "/mailboxes/info@hikers.example/services",
        data={"csrf": csrf_of("hugo"), "outcome": "lifted", "note": "fine"},
    )
    staff = world.client("sam").get("/audit", params={"action": "suspension.lift"}).text
    assert "alice@shop.example" in staff and "info@hikers.example" in staff
    mine = world.client("dora").get("/audit").text
    assert "alice@shop.example" in mine and "info@hikers.example" not in mine
    company = world.client("ann").get("/audit", params={"actor": "dora"}).text
    assert "alice@shop.example" in company


def test_the_dashboard_shows_staff_the_complaints_whose_decision_failed(world: World) -> None:
    with Session(world.engine) as session:
        complaints = session.execute(select(Complaint).limit(3)).scalars().all()
        for complaint, attempts in zip(complaints, (1, 5, 5), strict=True):
            complaint.decision_error = "RuntimeError: the rules engine fell over"
            complaint.decision_attempts = attempts
            session.add(complaint)
        session.commit()

    staff = world.client("sam").get("/").text
    assert '<div class="figure" id="failed-decisions">2</div>' in staff
    assert "(1 more being retried)" in staff
    assert 'id="failed-decisions"' not in world.client("dora").get("/").text
