"""Paging a scope's complaints: the windowed walk of a large scope matches the sorted small one."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, select
from sqlmodel import Session, col

from abusedesk.access import Role
from abusedesk.access.scope import load_actor
from abusedesk.access.users import add_user
from abusedesk.record.complaints import record_synthetic_complaint
from abusedesk.store.tables import Complaint, Mailbox
from abusedesk.web.console.complaint_pages import ComplaintFilter, complaint_page
from abusedesk.web.console.forms import Paging

START = datetime(2026, 11, 1, tzinfo=UTC)


def test_both_ways_give_the_same_pages_newest_first(directory_engine: Engine) -> None:
    rng = random.Random(3)
    with Session(directory_engine) as session:
        ids = dict(session.execute(select(col(Mailbox.address), col(Mailbox.id))).all())
        everyone = sorted(ids.values())
        for n in range(400):
            complaint = record_synthetic_complaint(
                session, rng.choice(everyone), START + timedelta(minutes=n)
            )
            complaint.reporter = rng.choice(["aol.example", "yahoo.example"])
        add_user(session, "dora", Role.DOMAIN_ADMIN, domain="shop.example")
        session.commit()
        actor = load_actor(session, "dora", "test")
        shop = {ids[a] for a in ids if a.endswith("@shop.example")}
        for wanted in (ComplaintFilter(), ComplaintFilter(reporter="aol.example")):
            expected = list(
                session.execute(
                    select(col(Complaint.id))
                    .where(col(Complaint.mailbox_id).in_(shop))
                    .where(
                        col(Complaint.reporter) == wanted.reporter
                        if wanted.reporter
                        else col(Complaint.id) > 0
                    )
                    .order_by(col(Complaint.id).desc())
                ).scalars()
            )
            assert len(expected) > 40
            for page in (1, 2, 3, 9):
                paging = Paging(page, size=10)
                small = complaint_page(session, actor, wanted, paging)
                large = complaint_page(
                    session, actor, wanted, paging, small_scope=5, first_window=16
                )
                want = expected[paging.offset : paging.offset + 10]
                assert small == large == (want, len(expected) > paging.offset + 10)
