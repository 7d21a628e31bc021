"""The dashboard: what needs attention now, within the actor's scope.

Every figure is one indexed query: open suspensions and escalations, the
quarantine (staff only: a quarantined report is charged to nobody yet),
companies without a verified abuse contact, complaints per day over a
week and the top reporters of the last 24 hours.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVarTuple

from sqlalchemy import Select, exists, func, select
from sqlmodel import col

from abusedesk.access import Role
from abusedesk.access.scope import company_scope, escalation_scope, mailbox_scope
from abusedesk.record.decision_failures import failed_decisions
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

Ts = TypeVarTuple("Ts")

CHART_DAYS = 7
REPORTER_HOURS = 24
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
    failed_decisions_count: tuple[int, int] | None = None
    if actor.role is Role.STAFF:
        quarantined = session.execute(
            select(func.count())
            .select_from(RawReport)
            .where(col(RawReport.status) == ReportStatus.QUARANTINED.value)
        ).scalar_one()
        failed_decisions_count = failed_decisions(session)
    now = utcnow()
    return Page(
        "dashboard.html",
        {
            "suspensions": suspensions,
            "open_suspensions": open_suspensions,
            "open_escalations": open_escalations,
            "quarantined": quarantined,
            "failed_decisions": failed_decisions_count,
            "without_contact": _without_contact(call),
            "bars": _complaints_per_day(call, now),
            "chart_height": CHART_HEIGHT,
            "reporters": _top_reporters(call, now),
            "reporter_hours": REPORTER_HOURS,
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
    """One indexed range count per day: no row is read, only the time index (or, in a scope,
    its mailboxes' (mailbox, time) index)."""
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    starts = [today - timedelta(days=CHART_DAYS - 1 - i) for i in range(CHART_DAYS)]
    counts = []
    for start in starts:
        query = select(func.count()).where(
            col(Complaint.occurred_at) >= start,
            col(Complaint.occurred_at) < start + timedelta(days=1),
        )
        counts.append(int(call.session.execute(_in_scope(call, query)).scalar_one()))
    peak = max([*counts, 1])
    return [
        Bar(start.date().isoformat(), n, i * 22, round(CHART_HEIGHT * n / peak))
        for i, (start, n) in enumerate(zip(starts, counts, strict=True))
    ]


def _top_reporters(call: Call, now: datetime) -> list[tuple[str, int]]:
    # Grouping by an expression, not the column, keeps the planner on the (time, reporter)
    # index for the last day rather than walking the reporter index over all history.
    reporter = func.coalesce(col(Complaint.reporter), "")
    query = _in_scope(
        call,
        select(reporter, func.count())
        .where(col(Complaint.occurred_at) >= now - timedelta(hours=REPORTER_HOURS))
        .group_by(reporter)
        .order_by(func.count().desc())
        .limit(LIST_LIMIT),
    )
    return [(str(r or "unknown"), int(n)) for r, n in call.session.execute(query).all()]


def _in_scope(call: Call, query: Select[*Ts]) -> Select[*Ts]:
    """Complaints of the actor's mailboxes; staff count every complaint, attributed or not."""
    if call.actor.role is Role.STAFF:
        return query
    mailboxes = (
        select(col(Mailbox.id))
        .join(Domain, col(Domain.id) == col(Mailbox.domain_id))
        .where(mailbox_scope(call.actor))
    )
    return query.where(col(Complaint.mailbox_id).in_(mailboxes))
