"""The console in a real browser: Debian's Chromium, headless, driven by Playwright.

A domain admin signs in, sees the red status, lifts the suspension with a
note and finds it in the audit log; another domain's mailbox is a 404; a
report whose subject carries a script renders as inert text. With
`ABUSEDESK_SCREENSHOTS=DIR` the main pages are saved there as PNGs (the
README shows the ones in docs/screenshots/).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright
from tests.web.console_world import HOSTILE_SUBJECT, PASSWORD, World

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not shutil.which(CHROMIUM), reason="needs Debian's chromium (scripts/setup)"
    ),
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield launched
        launched.close()


@pytest.fixture
def screenshots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("ABUSEDESK_SCREENSHOTS", tmp_path))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def signed_in(browser: Browser, world: World, username: str) -> Page:
    page = browser.new_page(viewport={"width": 1366, "height": 900})
    page.goto(f"{world.base_url}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page.locator(".who")).to_contain_text(username)
    return page


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_domain_admin_lifts_a_suspension_in_the_browser(
    browser: Browser, world_with_passwords: World, screenshots: Path
) -> None:
    world = world_with_passwords
    anonymous = browser.new_page(viewport={"width": 1366, "height": 900})
    anonymous.goto(f"{world.base_url}/mailboxes/alice@shop.example")
    expect(anonymous.locator("h1")).to_have_text("Sign in")
    anonymous.screenshot(path=str(screenshots / "sign-in.png"))
    anonymous.close()

    page = signed_in(browser, world, "dora")
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda message: errors.append(message.text))
    page.goto(f"{world.base_url}/mailboxes/alice@shop.example")
    status = page.locator("#status strong")
    expect(status).to_have_text("Some Services Disabled")
    assert status.evaluate("e => getComputedStyle(e).color") == "rgb(192, 57, 43)"
    # The hostile subject is text on the page, and its script never ran.
    expect(page.locator(".subject").filter(has_text="document.title")).to_have_text(HOSTILE_SUBJECT)
    assert page.title() != "pwned" and "pwned" not in page.title()
    assert page.locator("img[src=x]").count() == 0
    page.screenshot(path=str(screenshots / "mailbox-suspended.png"), full_page=True)

    # Deleting is refused while suspended (after the script's confirmation dialog).
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("form.delete button")
    expect(page.locator(".flash-error")).to_contain_text("lift the suspension first")

    page.uncheck("#send-suspended")
    page.check("input[name=outcome][value=educated]")
    page.fill("textarea[name=note]", "Customer removed the purchased list; explained the AUP.")
    page.click("fieldset.lift button")
    expect(page.locator(".flash-ok")).to_have_text(
        "Sending restored for alice@shop.example (educated and lifted)."
    )
    expect(page.locator("#status strong")).to_have_text("Active")
    assert world.mailbox("alice@shop.example").can_send
    page.screenshot(path=str(screenshots / "mailbox-lifted.png"), full_page=True)

    page.goto(f"{world.base_url}/audit")
    row = page.locator("table.audit tbody tr").first
    expect(row).to_contain_text("suspension.lift")
    expect(row).to_contain_text("Customer removed the purchased list")
    page.screenshot(path=str(screenshots / "audit-log.png"), full_page=True)

    response = page.goto(f"{world.base_url}/mailboxes/info@hikers.example")
    assert response is not None and response.status == 404
    expect(page.locator("h1")).to_have_text("Not found")
    # The CSP forbids inline script: nothing on our pages was blocked, no script error.
    assert not [e for e in errors if "Content Security Policy" in e or "pwned" in e], errors
    page.close()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_staff_pages_in_the_browser(
    browser: Browser, world_with_passwords: World, screenshots: Path
) -> None:
    world = world_with_passwords
    page = signed_in(browser, world, "sam")
    expect(page.locator("#open-suspensions")).to_have_text("3")
    assert page.locator("svg.chart rect").count() == 7
    page.screenshot(path=str(screenshots / "dashboard.png"), full_page=True)
    page.goto(f"{world.base_url}/escalations/{world.places['hikers'].escalation_id}")
    expect(page.locator("#escalation-status")).to_have_text("open")
    page.screenshot(path=str(screenshots / "escalation.png"), full_page=True)
    page.goto(f"{world.base_url}/reports?status=quarantined")
    expect(page.locator("td .bad")).to_contain_text("not a feedback report")
    page.screenshot(path=str(screenshots / "reports.png"), full_page=True)
    page.goto(f"{world.base_url}/companies/{world.places['shop'].company_id}")
    page.screenshot(path=str(screenshots / "company.png"), full_page=True)
    page.goto(f"{world.base_url}/policy")
    expect(page.locator("h1")).to_have_text("Policy")
    page.screenshot(path=str(screenshots / "policy.png"))
    page.close()
