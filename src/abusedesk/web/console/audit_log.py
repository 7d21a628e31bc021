"""The audit log: who did what, filterable by actor, action and target.

Staff see every entry. A company or domain admin sees the entries about the
mailboxes, domains, companies and escalations in their scope, and their own.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from sqlalchemy import ColumnElement, String, and_, cast, or_, select, true
from sqlmodel import col

from abusedesk.access import Role
from abusedesk.access.scope import (
    Actor,
    company_scope,
    domain_scope,
    escalation_scope,
    mailbox_scope,
)
from abusedesk.store.tables import AuditEntry, Company, Domain, Escalation, Mailbox
from abusedesk.web.console.endpoint import Call, Page
from abusedesk.web.console.forms import Paging

FILTERS = ("actor", "action", "target")


def audit_scope(actor: Actor) -> ColumnElement[bool]:
    if actor.role is Role.STAFF:
        return true()
    mailboxes = (
        select(col(Mailbox.address))
        .join(Domain, col(Domain.id) == col(Mailbox.domain_id))
        .where(mailbox_scope(actor))
    )
    escalations = select(cast(col(Escalation.id), String)).where(escalation_scope(actor))
    return or_(
        col(AuditEntry.actor) == actor.username,
        and_(col(AuditEntry.target_type) == "mailbox", col(AuditEntry.target).in_(mailboxes)),
        and_(
            col(AuditEntry.target_type) == "domain",
            col(AuditEntry.target).in_(select(col(Domain.name)).where(domain_scope(actor))),
        ),
        and_(
            col(AuditEntry.target_type) == "company",
            col(AuditEntry.target).in_(select(col(Company.name)).where(company_scope(actor))),
        ),
        and_(col(AuditEntry.target_type) == "escalation", col(AuditEntry.target).in_(escalations)),
    )


def show_audit(call: Call) -> Page:
    wanted = {name: call.query.get(name, "").strip() for name in FILTERS}
    paging = Paging.of(call.query)
    query: Any = select(AuditEntry).where(audit_scope(call.actor))
    if wanted["actor"]:
        query = query.where(col(AuditEntry.actor) == wanted["actor"])
    if wanted["action"]:
        query = query.where(col(AuditEntry.action) == wanted["action"])
    if wanted["target"]:
        query = query.where(
            col(AuditEntry.target).in_({wanted["target"], wanted["target"].lower()})
        )
    rows, more = paging.window(
        list(
            call.session.execute(
                query.order_by(col(AuditEntry.at).desc(), col(AuditEntry.id).desc())
                .offset(paging.offset)
                .limit(paging.size + 1)
            ).scalars()
        )
    )
    return Page(
        "audit.html",
        {
            "rows": rows,
            "wanted": wanted,
            "paging": paging,
            "more": more,
            "query_string": urlencode({k: v for k, v in wanted.items() if v}),
        },
    )
