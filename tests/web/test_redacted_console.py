"""Reseller admins never see the complainant in the console or the API; staff see the report raw.

Six reports whose originals name Jane Doe in every spelling we know are
processed by the real worker and charged to alice@shop.example; their
evidence also quotes the provider's hop with its `for <…>`. A domain admin
(dora) and a company admin (ann) read the mailbox page, the report list, each
report and its raw text, and the complaints API: none of it holds a trace of
her, judged by `traces.spellings_found`. Staff (sam) read the same report raw.
"""

from __future__ import annotations

import shutil

import pytest
from playwright.sync_api import sync_playwright
from sqlalchemy import select
from sqlmodel import Session, col
from tests.notify.complainant_reports import COMPLAINANT, SENDER, WORDS, complainant_reports
from tests.notify.traces import spellings_found
from tests.web.console_world import World

from abusedesk.config import Settings
from abusedesk.decide import policy_engine
from abusedesk.ingest.spool import IncomingReport, store_reports
from abusedesk.notify.redaction import MARKER
from abusedesk.pipeline.worker import ReportWorker
from abusedesk.store.tables import Complaint
from abusedesk.store.types import ReportSource
from abusedesk.web.session import COOKIE_NAME

RESELLERS = ("dora", "ann")
PROVIDER_HOP = (
    "; the provider's hop: Received: from relay1.out.hostingplatform.example "
    "(relay1.out.hostingplatform.example [198.51.100.5]) by mta7.mail.yahoo.example "
    "with ESMTPS id y1 for <jane.doe@yahoo.example>"
)
CHROMIUM = "/usr/bin/chromium"


def charge_the_reports(world: World, settings: Settings) -> list[int]:
    """The six reports, processed; their complaints' evidence quoting the provider's hop."""
    ids = store_reports(
        world.engine,
        [
            IncomingReport(raw=raw, source=ReportSource.FILE, trusted=True, trust_reason="test")
            for raw in complainant_reports()
        ],
    )
    ReportWorker(world.engine, settings, policy=policy_engine(settings)).run_until_idle()
    with Session(world.engine) as session:
        complaints = list(
            session.execute(
                select(Complaint).where(col(Complaint.raw_report_id).in_(ids))
            ).scalars()
        )
        assert len(complaints) == 6 and all(c.mailbox_id for c in complaints)
        for complaint in complaints:
            complaint.attribution_evidence = (complaint.attribution_evidence or "") + PROVIDER_HOP
        session.commit()
    return ids


def what_a_reseller_reads(world: World, username: str, report_ids: list[int]) -> dict[str, str]:
    pages = {
        "/mailboxes/alice@shop.example": "",
        "/reports?mailbox=alice@shop.example": "",
        **{f"/reports/{i}": "" for i in report_ids},
        **{f"/reports/{i}/raw": "" for i in report_ids},
    }
    client = world.client(username)
    for path in pages:
        answer = client.get(path)
        assert answer.status_code == 200, path
        pages[path] = answer.text
    api = world.api(username)
    for path in ("/api/v1/complaints", "/api/v1/complaints?mailbox=alice@shop.example"):
        answer = api.get(path)
        assert answer.status_code == 200, path
        pages[path] = answer.text
    return pages


@pytest.mark.parametrize("username", RESELLERS)
def test_a_reseller_admin_sees_no_trace_of_the_complainant(
    world: World, settings: Settings, username: str
) -> None:
    report_ids = charge_the_reports(world, settings)
    pages = what_a_reseller_reads(world, username, report_ids)
    for path, content in pages.items():
        assert spellings_found(content, COMPLAINANT, words=WORDS) == [], path
    # What they may see is all there: the sender, the evidence, the marked samples.
    mailbox = pages["/mailboxes/alice@shop.example"]
    assert "Offer 1 for " + MARKER in mailbox and "Deal 2 for " + MARKER in mailbox
    assert "Hi [recipient]," in mailbox and f"for &lt;{MARKER}&gt;" in mailbox
    assert "(Authenticated sender: alice@shop.example)" in mailbox
    raw = pages[f"/reports/{report_ids[0]}/raw"]
    assert f"Original-Rcpt-To: <{MARKER}>" in raw and f"(Authenticated sender: {SENDER})" in raw
    complaints = [
        c
        for c in world.api(username).get("/api/v1/complaints").json()["complaints"]
        if c["report_id"] in report_ids
    ]
    assert {c["original_subject"] for c in complaints} >= {f"Offer 1 for {MARKER}"}
    assert all(c["mailbox"] == SENDER for c in complaints)


def test_staff_read_the_report_as_it_came(world: World, settings: Settings) -> None:
    report_ids = charge_the_reports(world, settings)
    staff = world.client("sam")
    raw = staff.get(f"/reports/{report_ids[0]}/raw").text
    assert f"Original-Rcpt-To: <{COMPLAINANT}>" in raw
    assert "Hi jane.doe," in raw
    assert "jane.doe@yahoo.example" in staff.get("/mailboxes/alice@shop.example").text
    assert f"for &lt;{COMPLAINANT}&gt;" in staff.get(f"/reports/{report_ids[0]}").text
    subjects = {
        c["original_subject"]
        for c in world.api("sam").get("/api/v1/complaints").json()["complaints"]
    }
    assert f"Offer 1 for {COMPLAINANT}" in subjects


@pytest.mark.slow
@pytest.mark.skipif(not shutil.which(CHROMIUM), reason="needs Debian's chromium")
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_mailbox_page_a_domain_admin_sees_in_the_browser_names_no_complainant(
    world: World, settings: Settings
) -> None:
    report_ids = charge_the_reports(world, settings)
    # The cookie of a real session, opened in the database as sign-in opens it.
    cookie = world.client("dora").cookies[COOKIE_NAME]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
            headless=True,
        )
        try:
            context = browser.new_context()
            context.add_cookies([{"name": COOKIE_NAME, "value": cookie, "url": world.base_url}])
            page = context.new_page()
            shown = {}
            for path in ("/mailboxes/alice@shop.example", f"/reports/{report_ids[0]}"):
                page.goto(world.base_url + path)
                shown[path] = page.inner_text("body")
        finally:
            browser.close()
    for path, text in shown.items():
        # What the browser renders: references decoded, as the reseller reads it.
        assert spellings_found(text, COMPLAINANT, words=WORDS) == [], path
    assert "Hi [recipient]," in shown["/mailboxes/alice@shop.example"]
