"""Candidates in the console and the API: staff review and charge them; resellers never see one."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlalchemy import select
from sqlmodel import Session, col
from tests.support.candidates import FORGED_REASON, record_candidate, unproven
from tests.support.reports import outsider_forgery
from tests.web.console_world import World, csrf_of, hidden_csrf

from abusedesk.store.tables import AuditEntry, Complaint

BOB = "bob@shop.example"
GUIDE = "guide@hikers.example"
STRANGER = "someone@elsewhere.example"
NOTE = "the relay1 log has this queue id from bob"


@dataclass(frozen=True)
class Candidates:
    bob: int
    """The report of an unproven complaint naming bob@shop.example (Acme, shop.example)."""
    guide: int
    """… naming guide@hikers.example (Blue Mountain)."""
    stranger: int
    """… naming an address that is not ours."""


@pytest.fixture
def candidates(world: World) -> Candidates:
    reports = [
        record_candidate(world.engine, outsider_forgery(n, address), unproven(address))[0]
        for n, address in ((1, BOB), (2, GUIDE), (3, STRANGER))
    ]
    return Candidates(*reports)


def complaint_of(world: World, report_id: int) -> Complaint:
    with Session(world.engine) as session:
        found: Complaint = session.execute(
            select(Complaint).where(col(Complaint.raw_report_id) == report_id)
        ).scalar_one()
    return found


def test_staff_review_candidates_with_reason_evidence_and_raw_report(
    world: World, candidates: Candidates
) -> None:
    client = world.client("sam")
    listed = client.get("/candidates")
    assert listed.status_code == 200
    html = listed.text
    for address, report_id in ((BOB, candidates.bob), (GUIDE, candidates.guide)):
        assert address in html and f'<a href="/reports/{report_id}">' in html
    assert "shop.example, Acme Hosting Resellers" in html
    assert f'{STRANGER} <span class="bad">(not hosted)</span>' in html
    assert FORGED_REASON in html
    assert f"names (Authenticated sender: {BOB}), below a hop only attacker.example" in html
    assert '<a href="/candidates">Candidates</a>' in html
    assert "No candidates." in client.get("/candidates", params={"state": "charged"}).text
    only_bob = client.get("/candidates", params={"mailbox": BOB.upper()}).text
    assert BOB in only_bob and GUIDE not in only_bob

    page = client.get(f"/reports/{candidates.bob}")
    assert page.status_code == 200
    html = page.text
    assert "<h2>Candidate for review</h2>" in html
    assert FORGED_REASON in html
    assert f'<form method="post" action="/reports/{candidates.bob}/charge"' in html
    assert f"Charge to {BOB}</button>" in html
    assert "Source-IP: 203.0.113.66" in html  # the raw report, to check the evidence against
    stranger = client.get(f"/reports/{candidates.stranger}").text
    assert "(not a mailbox of ours when recorded)" in stranger


@pytest.mark.parametrize("username", ["ann", "dora", "hugo"])
def test_reseller_admins_never_see_a_candidate(
    world: World, candidates: Candidates, username: str
) -> None:
    client = world.client(username)
    assert client.get("/candidates").status_code == 404
    for report_id in (candidates.bob, candidates.guide, candidates.stranger):
        assert client.get(f"/reports/{report_id}").status_code == 404
        assert client.get(f"/reports/{report_id}/raw").status_code == 404
    pages = [
        client.get(path).text
        for path in ("/", "/reports", "/audit", f"/mailboxes/{BOB}", f"/mailboxes/{GUIDE}")
    ]
    for html in pages:
        assert "You have won" not in html and FORGED_REASON not in html
        assert "attacker.example" not in html and '<a href="/candidates">' not in html
    api = world.api(username)
    assert api.get("/api/v1/candidates").status_code == 404
    listed = api.get("/api/v1/complaints").json()["complaints"]
    assert not {c["report_id"] for c in listed} & {candidates.bob, candidates.guide}


def test_staff_charge_a_candidate_on_its_report_page(world: World, candidates: Candidates) -> None:
    client = world.client("sam")
    page = client.get(f"/reports/{candidates.bob}").text
    response = client.post(
        f"/reports/{candidates.bob}/charge", data={"csrf": hidden_csrf(page), "note": NOTE}
    )
    assert response.status_code == 303
    assert response.headers["location"] == f"/reports/{candidates.bob}"
    html = client.get(f"/reports/{candidates.bob}").text
    assert f"Report {candidates.bob} charged by hand to {BOB}: it now counts." in html
    assert f">{BOB}</a> (staff)" in html  # "Charged to"
    assert f"charged by hand by sam (staff) from the candidate {BOB}" in html
    assert "Charged by hand: the evidence above says by whom and why" in html
    assert "processed" in html and "quarantined" not in html
    complaint = complaint_of(world, candidates.bob)
    assert complaint.attribution_method == "staff" and complaint.mailbox_id is not None
    assert world.mailbox(BOB).can_send  # one complaint is far from the limit

    again = client.post(
        f"/reports/{candidates.bob}/charge", data={"csrf": csrf_of("sam"), "note": NOTE}
    )
    assert again.status_code == 303
    assert (
        f"report {candidates.bob} is already charged to {BOB} (staff): there is nothing left"
        in client.get(f"/reports/{candidates.bob}").text
    )
    no_note = client.post(
        f"/reports/{candidates.guide}/charge", data={"csrf": csrf_of("sam"), "note": " "}
    )
    assert no_note.status_code == 303
    assert "a note is required" in client.get(f"/reports/{candidates.guide}").text
    assert complaint_of(world, candidates.guide).mailbox_id is None

    audit = client.get("/audit").text
    assert "complaint.charge" in audit and NOTE in audit
    # A charge now, it is the reseller's like any complaint of bob's; the candidate is not.
    dora = world.client("dora")
    shown = dora.get(f"/reports/{candidates.bob}")
    assert shown.status_code == 200 and "Candidate for review" not in shown.text
    assert "complaint.charge" in dora.get("/audit").text
    assert "complaint.charge" not in world.client("hugo").get("/audit").text


def test_the_api_lists_and_charges_candidates_for_staff_only(
    world: World, candidates: Candidates
) -> None:
    api = world.api("sam")
    listed = api.get("/api/v1/candidates").json()
    assert listed["page"] == 1 and listed["more"] is False
    rows = {row["report_id"]: row for row in listed["candidates"]}
    assert set(rows) == {candidates.bob, candidates.guide, candidates.stranger}
    bob = rows[candidates.bob]
    assert bob["candidate"]["mailbox"] == BOB and bob["candidate"]["hosted"] is True
    assert bob["candidate"]["company"] == "Acme Hosting Resellers"
    assert bob["unattributed_reason"] == FORGED_REASON and bob["charged_to"] is None
    assert bob["report_status"] == "quarantined"
    assert rows[candidates.stranger]["candidate"]["hosted"] is False

    before = world.audit_count()
    assert api.post(f"/api/v1/reports/{candidates.bob}/charge", json={}).status_code == 400
    empty = api.post(f"/api/v1/reports/{candidates.bob}/charge", json={"note": ""})
    assert empty.status_code == 400
    assert empty.json() == {"error": "a note is required: say why the candidate is charged"}
    for username in ("ann", "dora"):
        denied = world.api(username).post(
            f"/api/v1/reports/{candidates.bob}/charge", json={"note": NOTE}
        )
        assert denied.status_code == 404
    assert world.audit_count() == before and complaint_of(world, candidates.bob).mailbox_id is None

    charged = api.post(f"/api/v1/reports/{candidates.bob}/charge", json={"note": NOTE})
    assert charged.status_code == 200
    body = charged.json()
    assert (body["mailbox"], body["method"], body["report_id"]) == (BOB, "staff", candidates.bob)
    assert (body["suspended"], body["can_send"]) == (False, True)
    assert len(body["decision_ids"]) == 1
    again = api.post(f"/api/v1/reports/{candidates.bob}/charge", json={"note": NOTE})
    assert again.status_code == 409
    assert again.json()["error"].startswith(f"report {candidates.bob} is already charged")
    stranger = api.post(f"/api/v1/reports/{candidates.stranger}/charge", json={"note": NOTE})
    assert stranger.status_code == 409
    assert stranger.json()["error"] == (
        f"{STRANGER} is not a mailbox on our platform: there is nobody to charge for report "
        f"{candidates.stranger}"
    )
    with Session(world.engine) as session:
        [entry] = session.execute(
            select(AuditEntry).where(col(AuditEntry.action) == "complaint.charge")
        ).scalars()
    assert (entry.actor, entry.target, entry.origin, entry.note) == (
        "sam",
        BOB,
        "127.0.0.1",
        NOTE,
    )
    open_ = api.get("/api/v1/candidates").json()["candidates"]
    assert {row["report_id"] for row in open_} == {candidates.guide, candidates.stranger}
    charged_rows = api.get("/api/v1/candidates", params={"state": "charged"}).json()
    assert [row["charged_to"] for row in charged_rows["candidates"]] == [BOB]
    dora = world.api("dora").get("/api/v1/complaints", params={"mailbox": BOB}).json()
    assert [c["attribution_method"] for c in dora["complaints"]] == ["staff"]
