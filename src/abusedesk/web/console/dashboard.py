"""The dashboard: what needs attention now, within the actor's scope.

Every figure is one indexed query: open suspensions and escalations, the
quarantine (staff only: a quarantined report is charged to nobody yet),
companies without a verified abuse contact, complaints per day over two
weeks and the top reporters of the last week.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVarTuple

from sqlalchemy import Select, exists, func, select
from sqlmodel import col

from abusedesk.access import Role
from abusedesk.access.scope import mailbox_scope
from abusedesk.store.tables import (
    Company,
    Complaint,
    Contact,
    Domain,
    Escalation,
    Mailbox,
    RawReport,
    Suspension,
)
from abusedesk.store.types import EscalationStatus, ReportStatus, utcnow
from abusedesk.web.console.endpoint import Call, Page
from abusedesk.web.console.visible import company_scope, escalation_scope

Ts = TypeVarTuple("Ts")

CHART_DAYS = 14
REPORTER_DAYS = 7
LIST_LIMIT = 10
CHART_HEIGHT = 80


@dataclass(frozen=True, slots=True)
class Bar:
    day: str
    count: int
    x: int
    height: int


def show_dashboard(call: Call) -> Page:
    session, actor = call.session, call.actor
    suspensions = list(
        session.execute(
            select(col(Mailbox.address), col(Suspension.started_at), col(Suspension.rule))
            .join(Mailbox, col(Mailbox.id) == col(Suspension.mailbox_id))
            .join(Domain, col(Domain.id) == col(Mailbox.domain_id))
            .where(col(Suspension.lifted_at).is_(None), mailbox_scope(actor))
            .order_by(col(Suspension.started_at).desc())
            .limit(LIST_LIMIT)
        ).all()
    )
    open_suspensions = session.execute(
        select(func.count())
        .select_from(Suspension)
        .join(Mailbox, col(Mailbox.id) == col(Suspension.mailbox_id))
        .join(Domain, col(Domain.id) == col(Mailbox.domain_id))
        .where(col(Suspension.lifted_at).is_(None), mailbox_scope(actor))
    ).scalar_one()
    open_escalations = session.execute(
        select(func.count())
        .select_from(Escalation)
        .where(col(Escalation.status) != EscalationStatus.RESOLVED.value, escalation_scope(actor))
    ).scalar_one()
    quarantined = None
    if actor.role is Role.STAFF:
        quarantined = session.execute(
            select(func.count())
            .select_from(RawReport)
            .where(col(RawReport.status) == ReportStatus.QUARANTINED.value)
        ).scalar_one()
    now = utcnow()
    return Page(
        "dashboard.html",
        {
            "suspensions": suspensions,
            "open_suspensions": open_suspensions,
            "open_escalations": open_escalations,
            "quarantined": quarantined,
            "without_contact": _without_contact(call),
            "bars": _complaints_per_day(call, now),
            "chart_height": CHART_HEIGHT,
            "reporters": _top_reporters(call, now),
            "reporter_days": REPORTER_DAYS,
        },
    )


def _without_contact(call: Call) -> list[tuple[int, str, bool]]:
    """Companies whose notices have nowhere verified to go: (id, name, has any contact)."""
    if call.actor.role is Role.DOMAIN_ADMIN:
        return []
    verified = exists().where(
        col(Contact.company_id) == col(Company.id),
        col(Contact.role) == "abuse",
        col(Contact.verified).is_(True),
    )
    any_contact = exists().where(
        col(Contact.company_id) == col(Company.id), col(Contact.role) == "abuse"
    )
    rows = call.session.execute(
        select(col(Company.id), col(Company.name), any_contact)
        .where(~verified, company_scope(call.actor))
        .order_by(col(Company.name))
        .limit(LIST_LIMIT * 5)
    ).all()
    return [(int(i), str(n), bool(a)) for i, n, a in rows]


def _complaints_per_day(call: Call, now: datetime) -> list[Bar]:
    start = (now - timedelta(days=CHART_DAYS - 1)).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    # date() is a function in SQLite and a type-cast in PostgreSQL; both give the UTC day.
    day = func.date(col(Complaint.occurred_at))
    query = _in_scope(
        call,
        select(day, func.count())
        .where(col(Complaint.occurred_at) >= start, col(Complaint.mailbox_id).is_not(None))
        .group_by(day),
    )
    counts = {str(d): int(n) for d, n in call.session.execute(query).all()}
    days = [(start + timedelta(days=i)).date().isoformat() for i in range(CHART_DAYS)]
    peak = max([counts.get(d, 0) for d in days] + [1])
    return [
        Bar(d, counts.get(d, 0), i * 22, round(CHART_HEIGHT * counts.get(d, 0) / peak))
        for i, d in enumerate(days)
    ]


def _top_reporters(call: Call, now: datetime) -> list[tuple[str, int]]:
    query = _in_scope(
        call,
        select(col(Complaint.reporter), func.count().label("n"))
        .where(
            col(Complaint.occurred_at) >= now - timedelta(days=REPORTER_DAYS),
            col(Complaint.mailbox_id).is_not(None),
        )
        .group_by(col(Complaint.reporter))
        .order_by(func.count().desc())
        .limit(LIST_LIMIT),
    )
    return [(str(r or "unknown"), int(n)) for r, n in call.session.execute(query).all()]


def _in_scope(call: Call, query: Select[*Ts]) -> Select[*Ts]:
    """Complaints of the actor's mailboxes (staff: all, without the join)."""
    if call.actor.role is Role.STAFF:
        return query
    return (
        query.join(Mailbox, col(Mailbox.id) == col(Complaint.mailbox_id))
        .join(Domain, col(Domain.id) == col(Mailbox.domain_id))
        .where(mailbox_scope(call.actor))
    )
