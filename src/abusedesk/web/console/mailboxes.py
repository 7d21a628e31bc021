"""The mailbox pages: find a mailbox, and the "Edit Mailbox" view with lift, educate and delete.

The Edit Mailbox view lists the mailbox's complaints with their evidence and
sample text; a reseller admin sees them with the complainant redacted (`shown`).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlmodel import Session, col

from abusedesk.access.scope import mailbox_in_scope, mailbox_scope
from abusedesk.act.lifecycle import delete_mailbox, lift_suspension
from abusedesk.act.suspend import active_suspension
from abusedesk.decide.explain import explain_decision
from abusedesk.store.tables import Company, Complaint, Decision, Domain, Mailbox, Suspension
from abusedesk.store.types import LiftOutcome
from abusedesk.web.console.endpoint import Call, Page, Redirect
from abusedesk.web.console.forms import Paging, act, field, path_part
from abusedesk.web.console.shown import shown_complaints

COMPLAINTS_PER_PAGE = 25
SEARCH_LIMIT = 50


def mailbox_url(address: str) -> str:
    return f"/mailboxes/{path_part(address)}"


def find_mailboxes(call: Call) -> Page:
    wanted = call.query.get("q", "").strip().lower()
    query = (
        select(
            col(Mailbox.address),
            col(Domain.name),
            col(Mailbox.can_send),
            col(Mailbox.deleted_at),
        )
        .join(Domain, col(Domain.id) == col(Mailbox.domain_id))
        .where(mailbox_scope(call.actor))
        .order_by(col(Mailbox.address))
        .limit(SEARCH_LIMIT)
    )
    if wanted:
        # A range on the unique address index: a prefix search that reads only what matches.
        query = query.where(
            col(Mailbox.address) >= wanted, col(Mailbox.address) < wanted + "\uffff"
        )
    rows = call.session.execute(query).all()
    return Page("mailboxes.html", {"q": wanted, "rows": rows, "limit": SEARCH_LIMIT})


def domain_and_company(session: Session, mailbox: Mailbox) -> tuple[str, str]:
    """The names of the mailbox's domain and company (the API and the page both show them)."""
    domain, company = session.execute(
        select(col(Domain.name), col(Company.name))
        .join(Company, col(Company.id) == col(Domain.company_id))
        .where(col(Domain.id) == mailbox.domain_id)
    ).one()
    return str(domain), str(company)


def show_mailbox(call: Call) -> Page:
    mailbox = mailbox_in_scope(call.session, call.actor, call.params["address"])
    assert mailbox.id is not None
    domain, company = domain_and_company(call.session, mailbox)
    suspension = active_suspension(call.session, mailbox.id)
    paging = Paging.of(call.query, COMPLAINTS_PER_PAGE)
    complaints, more = paging.window(
        list(
            call.session.execute(
                select(Complaint)
                .where(col(Complaint.mailbox_id) == mailbox.id)
                .order_by(col(Complaint.occurred_at).desc(), col(Complaint.id).desc())
                .offset(paging.offset)
                .limit(paging.size + 1)
            ).scalars()
        )
    )
    history = list(
        call.session.execute(
            select(Suspension)
            .where(col(Suspension.mailbox_id) == mailbox.id)
            .order_by(col(Suspension.started_at).desc())
            .limit(20)
        ).scalars()
    )
    return Page(
        "mailbox.html",
        {
            "mailbox": mailbox,
            "domain": domain,
            "company": company,
            "suspension": suspension,
            "explanation": _explanation(call, suspension, mailbox.address),
            "complaints": shown_complaints(
                call.session, call.actor, [(c, mailbox.address) for c in complaints]
            ),
            "paging": paging,
            "more": more,
            "history": history,
            "outcomes": [LiftOutcome.LIFTED, LiftOutcome.EDUCATED],
            "url": mailbox_url(mailbox.address),
        },
    )


def _explanation(call: Call, suspension: Suspension | None, address: str) -> list[str]:
    if suspension is None or suspension.decision_id is None:
        return []
    decision = call.session.get(Decision, suspension.decision_id)
    return explain_decision(decision, address) if decision is not None else []


def save_services(call: Call) -> Redirect:
    """The services form: unchecking "Send Mail suspended" lifts the suspension with an outcome."""
    mailbox = mailbox_in_scope(call.session, call.actor, call.params["address"])
    url = mailbox_url(mailbox.address)
    if field(call.body, "send_suspended"):
        return Redirect(url, "Nothing changed: the Send Mail suspension is still checked.", "info")

    def lift() -> str:
        outcome = field(call.body, "outcome") or LiftOutcome.LIFTED.value
        lift_suspension(
            call.session,
            call.actor,
            mailbox.address,
            outcome,
            field(call.body, "note"),
            policy=call.deps.policy,
        )
        how = "educated and lifted" if outcome == LiftOutcome.EDUCATED else "lifted"
        return f"Sending restored for {mailbox.address} ({how})."

    return act(call, url, lift)


def delete_account(call: Call) -> Redirect:
    mailbox = mailbox_in_scope(call.session, call.actor, call.params["address"])
    url = mailbox_url(mailbox.address)

    def delete() -> str:
        delete_mailbox(call.session, call.actor, mailbox.address, field(call.body, "note") or None)
        return f"{mailbox.address} is deleted: every service is off."

    return act(call, url, delete)


def mailbox_json(mailbox: Mailbox, domain: str, company: str) -> dict[str, Any]:
    return {
        "address": mailbox.address,
        "domain": domain,
        "company": company,
        "services": {
            "send": mailbox.can_send,
            "receive": mailbox.can_receive,
            "login": mailbox.can_login,
        },
        "deleted_at": mailbox.deleted_at.isoformat() if mailbox.deleted_at else None,
        "created_at": mailbox.created_at.isoformat() if mailbox.created_at else None,
    }
