"""A console with cases in three places of scope, admins of each reach, and clients to call it.

Places: `shop` (shop.example, company Acme), `bakery` (bakery.example, also
Acme) and `hikers` (hikers.example, company Blue Mountain). Each place has a
suspended mailbox (six trusted complaints under the shipped rules), an open
escalation, a report and the company's abuse contact. Admins: `sam` (staff),
`ann` (company admin of Acme), `dora` (domain admin of shop.example) and
`hugo` (domain admin of hikers.example).
"""

from __future__ import annotations

import asyncio
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import httpx
import uvicorn
from sqlalchemy import Engine, func, select
from sqlmodel import Session, col
from starlette.applications import Starlette

from abusedesk.access import Role
from abusedesk.access.sessions import open_session
from abusedesk.access.users import add_user, get_user, issue_api_token
from abusedesk.act.escalate import open_escalation
from abusedesk.config import Settings, WebSettings
from abusedesk.decide.decide import decide_after_complaint
from abusedesk.decide.engine import PolicyEngine
from abusedesk.enforce.state import SendState
from abusedesk.metrics import Metrics
from abusedesk.record.complaints import record_synthetic_complaint
from abusedesk.service import web_server_config
from abusedesk.store.tables import (
    AuditEntry,
    Company,
    Contact,
    Domain,
    Mailbox,
    RawReport,
    Suspension,
)
from abusedesk.store.types import utcnow
from abusedesk.web.app import build_app
from abusedesk.web.can_send import CanSendApi
from abusedesk.web.console.mount import Console, build_console
from abusedesk.web.provisioning import ProvisioningApi
from abusedesk.web.session import COOKIE_NAME, SessionData

PASSWORD = "correct horse battery"
HOSTILE_SUBJECT = '<script>document.title="pwned"</script>Weekly offer'
HOSTILE_EXCERPT = "<img src=x onerror=\"document.title='pwned'\">Buy now"

PLACES = {
    "shop": ("alice@shop.example", "shop.example", "Acme Hosting Resellers"),
    "bakery": ("orders@bakery.example", "bakery.example", "Acme Hosting Resellers"),
    "hikers": ("info@hikers.example", "hikers.example", "Blue Mountain Web"),
}
ADMINS = {
    "sam": (Role.STAFF, None, None),
    "ann": (Role.COMPANY_ADMIN, "Acme Hosting Resellers", None),
    "dora": (Role.DOMAIN_ADMIN, None, "shop.example"),
    "hugo": (Role.DOMAIN_ADMIN, None, "hikers.example"),
}
SEES = {
    "sam": {"shop", "bakery", "hikers"},
    "ann": {"shop", "bakery"},
    "dora": {"shop"},
    "hugo": {"hikers"},
}


@dataclass
class Place:
    address: str
    domain: str
    company: str
    company_id: int = 0
    contact_id: int = 0
    escalation_id: int = 0
    report_id: int = 0
    suspension_id: int = 0


@dataclass
class World:
    engine: Engine
    console: Console
    app: Starlette
    places: dict[str, Place]
    tokens: dict[str, str] = field(default_factory=dict)
    quarantined_report: int = 0
    base_url: str = ""
    opened: list[httpx.Client] = field(default_factory=list)

    def client(self, username: str | None = None) -> httpx.Client:
        """A client signed in as `username`: a session opened in the database, as sign-in does."""
        client = httpx.Client(base_url=self.base_url, follow_redirects=False, timeout=30)
        if username is not None:
            with Session(self.engine) as db:
                token = open_session(db, get_user(db, username))
                db.commit()
            session = SessionData(csrf=f"csrf-{username}", token=token, issued_at=time.time())
            client.cookies.set(COOKIE_NAME, self.console.dispatcher.signer.dump(session))
        self.opened.append(client)
        return client

    def api(self, username: str) -> httpx.Client:
        client = httpx.Client(
            base_url=self.base_url,
            follow_redirects=False,
            timeout=30,
            headers={"Authorization": f"Bearer {self.tokens[username]}"},
        )
        self.opened.append(client)
        return client

    def close(self) -> None:
        for client in self.opened:
            client.close()

    def audit_count(self) -> int:
        with Session(self.engine) as session:
            return int(session.execute(select(func.count()).select_from(AuditEntry)).scalar_one())

    def mailbox(self, address: str) -> Mailbox:
        with Session(self.engine) as session:
            return session.execute(
                select(Mailbox).where(col(Mailbox.address) == address)
            ).scalar_one()


def csrf_of(username: str) -> str:
    return f"csrf-{username}"


def build_world(
    settings: Settings, engine: Engine, policy: PolicyEngine, *, passwords: bool = False
) -> World:
    now = utcnow()
    # Today, so that the dashboard's per-day chart shows every complaint in one bar.
    start = max(now - timedelta(hours=3), now.replace(hour=0, minute=1, second=0, microsecond=0))
    places = {name: Place(*values) for name, values in PLACES.items()}
    with Session(engine) as session:
        for index, place in enumerate(places.values()):
            mailbox = session.execute(
                select(Mailbox).where(col(Mailbox.address) == place.address)
            ).scalar_one()
            decisions = []
            for i in range(6):
                complaint = record_synthetic_complaint(
                    session, mailbox.id, start + timedelta(minutes=10 * i + index)
                )
                complaint.reporter = ("aol.example", "yahoo.example")[i % 2]
                complaint.original_subject = f"Weekly offer {i + 1}"
                complaint.original_message_id = f"<offer-{index}-{i}@{place.domain}>"
                complaint.attribution_method = "relay-received"
                complaint.attribution_evidence = (
                    "Received: from [192.168.1.20] (Authenticated sender: "
                    f"{place.address}) by relay1.out.hostingplatform.example (Postfix) "
                    f"with ESMTPSA id Q{index}{i:07X}"
                )
                if i == 0:
                    complaint.original_subject = HOSTILE_SUBJECT
                    complaint.original_excerpt = HOSTILE_EXCERPT
                    place.report_id = complaint.raw_report_id
                session.add(complaint)
                assert complaint.id is not None
                decisions += decide_after_complaint(session, complaint.id, policy)
            domain = session.execute(
                select(Domain).where(col(Domain.name) == place.domain)
            ).scalar_one()
            company = session.get(Company, domain.company_id)
            assert company is not None and company.id is not None
            place.company_id = company.id
            contact = session.execute(
                select(Contact).where(col(Contact.company_id) == company.id)
            ).scalar_one()
            assert contact.id is not None
            place.contact_id = contact.id
            suspending = next(d for d in decisions if d.actions)
            assert suspending.id is not None
            place.suspension_id = session.execute(
                select(col(Suspension.id)).where(col(Suspension.mailbox_id) == mailbox.id)
            ).scalar_one()
            evidence = {"mailbox": place.address, "ids": [], "counter": None}
            place.escalation_id, _ = open_escalation(
                session,
                "fraudulent-signups",
                "domain",
                place.domain,
                start,
                suspending.id,
                lambda evidence=evidence: evidence,
            )
        quarantined = RawReport(
            sha256="1" * 64,
            raw=b"From: someone@example.net\r\nSubject: <b>not a report</b>\r\n\r\nhello\r\n",
            size=60,
            received_at=datetime(2026, 11, 30, 9, 0, tzinfo=UTC),
            source="smtp",
            status="quarantined",
            reason="not a feedback report: no message/feedback-report part",
        )
        session.add(quarantined)
        for username, (role, company_name, domain_name) in ADMINS.items():
            add_user(
                session,
                username,
                role,
                company=company_name,
                domain=domain_name,
                password=PASSWORD if passwords else None,
            )
        session.flush()
        tokens = {username: issue_api_token(session, username) for username in ADMINS}
        session.commit()
        assert quarantined.id is not None
        quarantined_id = quarantined.id
    console = build_console(settings, engine, policy)
    # The whole web app, service routes included, so the matrix sees every route it serves.
    can_send = CanSendApi(SendState(), None)
    app = build_app(Metrics(), ProvisioningApi(engine, policy, None), console, can_send)
    return World(engine, console, app, places, tokens, quarantined_id)


def hidden_csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "no CSRF field in the page"
    return found.group(1)


@contextmanager
def serving(app: Starlette) -> Iterator[str]:
    """`app` served by uvicorn on a free loopback port, in a thread; yields its base URL.

    Served as `abusedesk serve` serves it (`web_server_config`), with the default settings.
    """
    server = uvicorn.Server(web_server_config(WebSettings(port=0), app))
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_until_complete, args=(server.serve(),), daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "the console did not start"
        time.sleep(0.01)
    host, port = server.servers[0].sockets[0].getsockname()[:2]
    try:
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
        loop.close()
