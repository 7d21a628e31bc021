"""Escalations: repeated suspensions and fraudulent-signup patterns, and what admins do about them.

Acknowledging, resolving and bulk-suspending are audited. A bulk suspension
is recorded like one the rules made: a `Decision` (event `manual`, the admin
and the escalation as its facts) and a `Suspension` per listed account, so
the mailbox page explains it, the rules see a `suspension` event (repeated
suspensions count it) and a later lift ends it the usual way.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlmodel import col

from abusedesk.access.audit import record_audit
from abusedesk.access.scope import escalation_scope, mailbox_in_scope
from abusedesk.act.suspend import soft_suspend
from abusedesk.decide.decide import decide_event
from abusedesk.decide.events import suspension_event
from abusedesk.decide.locks import lock_mailbox
from abusedesk.errors import NotFoundError, RefusedError, UsageError
from abusedesk.store.tables import Complaint, Decision, Escalation, Mailbox, Suspension
from abusedesk.store.types import EscalationStatus, utcnow
from abusedesk.web.console.endpoint import Call, Page, Redirect
from abusedesk.web.console.forms import Paging, act, field
from abusedesk.web.console.visible import escalation_in_scope

STATUSES = [s.value for s in EscalationStatus]


def escalation_window(
    call: Call, paging: Paging, status: str | None
) -> tuple[list[Escalation], bool]:
    """One page of the actor's escalations (of one status, or all), newest first; and more?"""
    query = select(Escalation).where(escalation_scope(call.actor))
    if status is not None:
        query = query.where(col(Escalation.status) == status)
    return paging.window(
        list(
            call.session.execute(
                query.order_by(col(Escalation.created_at).desc(), col(Escalation.id).desc())
                .offset(paging.offset)
                .limit(paging.size + 1)
            ).scalars()
        )
    )


def list_escalations(call: Call) -> Page:
    status = call.query.get("status", "open")
    paging = Paging.of(call.query)
    rows, more = escalation_window(call, paging, status if status in STATUSES else None)
    return Page(
        "escalations.html",
        {"rows": rows, "status": status, "statuses": STATUSES, "paging": paging, "more": more},
    )


def show_escalation(call: Call) -> Page:
    escalation = escalation_in_scope(call.session, call.actor, call.params["escalation_id"])
    return Page(
        "escalation.html",
        {"escalation": escalation, "accounts": _accounts(call, escalation)},
    )


def _accounts(call: Call, escalation: Escalation) -> list[Mailbox]:
    """The accounts an escalation lists that the actor may see, in the order of its evidence."""
    addresses = _listed_addresses(call, escalation)
    found = []
    for address in addresses:
        try:
            found.append(mailbox_in_scope(call.session, call.actor, address))
        except NotFoundError:
            continue
    return found


def _listed_addresses(call: Call, escalation: Escalation) -> list[str]:
    evidence: dict[str, Any] = escalation.evidence or {}
    addresses: list[str] = []
    if escalation.scope == "mailbox":
        addresses.append(escalation.scope_key)
    if isinstance(evidence.get("mailbox"), str):
        addresses.append(evidence["mailbox"])
    ids = [i for i in evidence.get("ids", []) if isinstance(i, int)][:500]
    kind = _counted(call, evidence.get("counter"))
    rows: Any = None
    if kind == "signup":
        rows = select(col(Mailbox.address)).where(col(Mailbox.id).in_(ids))
    elif kind in {"suspension", "lift"}:
        rows = (
            select(col(Mailbox.address))
            .join(Suspension, col(Suspension.mailbox_id) == col(Mailbox.id))
            .where(col(Suspension.id).in_(ids))
        )
    elif kind == "complaint":
        rows = (
            select(col(Mailbox.address))
            .join(Complaint, col(Complaint.mailbox_id) == col(Mailbox.id))
            .where(col(Complaint.id).in_(ids))
        )
    if ids and rows is not None:
        addresses.extend(call.session.execute(rows).scalars())
    return list(dict.fromkeys(addresses))


def _counted(call: Call, counter: object) -> str | None:
    """What the escalation's evidence ids are rows of: the kind its counter counts."""
    if not isinstance(counter, str) or call.deps.policy is None:
        return None
    found = call.deps.policy.ruleset.counters.get(counter)
    return found.count.value if found is not None else None


def _url(escalation: Escalation) -> str:
    return f"/escalations/{escalation.id}"


def acknowledge(call: Call) -> Redirect:
    escalation = escalation_in_scope(call.session, call.actor, call.params["escalation_id"])

    def run() -> str:
        if escalation.status != EscalationStatus.OPEN.value:
            raise RefusedError(f"escalation {escalation.id} is {escalation.status}, not open")
        escalation.status = EscalationStatus.ACKNOWLEDGED.value
        call.session.add(escalation)
        record_audit(
            call.session,
            call.actor,
            "escalation.acknowledge",
            "escalation",
            str(escalation.id),
            note=field(call.body, "note") or None,
        )
        return f"Escalation {escalation.id} acknowledged."

    return act(call, _url(escalation), run)


def resolve(call: Call) -> Redirect:
    escalation = escalation_in_scope(call.session, call.actor, call.params["escalation_id"])

    def run() -> str:
        note = field(call.body, "note")
        if not note:
            raise UsageError("a note is required: say how it was resolved")
        if escalation.status == EscalationStatus.RESOLVED.value:
            raise RefusedError(f"escalation {escalation.id} is already resolved")
        escalation.status = EscalationStatus.RESOLVED.value
        escalation.resolved_by = call.actor.username
        escalation.resolved_at = utcnow()
        escalation.note = note
        call.session.add(escalation)
        record_audit(
            call.session,
            call.actor,
            "escalation.resolve",
            "escalation",
            str(escalation.id),
            note=note,
        )
        return f"Escalation {escalation.id} resolved."

    return act(call, _url(escalation), run)


def suspend_listed(call: Call) -> Redirect:
    escalation = escalation_in_scope(call.session, call.actor, call.params["escalation_id"])

    def run() -> str:
        note = field(call.body, "note")
        if not note:
            raise UsageError("a note is required: say why these accounts are suspended")
        accounts = [m for m in _accounts(call, escalation) if m.deleted_at is None]
        if not accounts:
            raise RefusedError("the escalation lists no account you can suspend")
        now = utcnow()
        suspended = []
        for mailbox in accounts:
            assert mailbox.id is not None
            lock_mailbox(call.session, mailbox.id)
            decision = Decision(
                event="manual",
                mailbox_id=mailbox.id,
                occurred_at=now,
                facts={"admin": call.actor.username, "escalation": escalation.id, "note": note},
                fired=[{"rule": f"manual: {call.actor.username}", "values": {}}],
                actions=[{"rule": "manual", "action": "suspend", "status": "done"}],
                rules_path="(console)",
            )
            call.session.add(decision)
            call.session.flush()
            assert decision.id is not None
            created, _existing = soft_suspend(
                call.session, mailbox.id, now, decision.id, f"escalation {escalation.id}", []
            )
            if created is None:
                call.session.delete(decision)
                continue
            suspended.append(mailbox.address)
            if call.deps.policy is not None:  # the rules see it like any suspension
                decide_event(call.session, call.deps.policy, suspension_event(created))
            record_audit(
                call.session,
                call.actor,
                "mailbox.suspend",
                "mailbox",
                mailbox.address,
                note=note,
                detail={"escalation": escalation.id},
            )
        if not suspended:
            return "Every listed account was already suspended."
        return f"Sending suspended for {len(suspended)} account(s): {', '.join(suspended)}."

    return act(call, _url(escalation), run)
