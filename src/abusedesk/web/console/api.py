"""The JSON API (`/api/v1/…`): the console's operations for automation, scoped exactly alike.

Lists are newest first and paginated with `?page=N` (50 a page); a list
answer says whether a next page exists. A complaint's report text (subject,
evidence) reaches a reseller admin with the complainant redacted, as on the
console's pages.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlmodel import col

from abusedesk.access.scope import mailbox_in_scope, mailbox_scope
from abusedesk.act.lifecycle import delete_mailbox, lift_suspension
from abusedesk.act.suspend import active_suspension
from abusedesk.store.tables import Complaint, Domain, Escalation, Mailbox, Suspension
from abusedesk.store.types import LiftOutcome
from abusedesk.web.console.complaint_pages import ComplaintFilter, complaint_page
from abusedesk.web.console.endpoint import Call, Json
from abusedesk.web.console.escalations import escalation_window
from abusedesk.web.console.forms import Paging
from abusedesk.web.console.mailboxes import domain_and_company, mailbox_json
from abusedesk.web.console.shown import ShownComplaint, shown_complaints
from abusedesk.web.console.visible import suspension_in_scope


def list_suspensions(call: Call) -> Json:
    paging = Paging.of(call.query)
    rows, more = paging.window(
        call.session.execute(
            select(Suspension, col(Mailbox.address))
            .join(Mailbox, col(Mailbox.id) == col(Suspension.mailbox_id))
            .join(Domain, col(Domain.id) == col(Mailbox.domain_id))
            .where(col(Suspension.lifted_at).is_(None), mailbox_scope(call.actor))
            .order_by(col(Suspension.started_at).desc(), col(Suspension.id).desc())
            .offset(paging.offset)
            .limit(paging.size + 1)
        ).all()
    )
    return Json(
        {"suspensions": [suspension_json(s, a) for s, a in rows], "page": paging.page, "more": more}
    )


def show_suspension(call: Call) -> Json:
    suspension, address = suspension_in_scope(
        call.session, call.actor, call.params["suspension_id"]
    )
    return Json(suspension_json(suspension, address))


def show_mailbox(call: Call) -> Json:
    mailbox = mailbox_in_scope(call.session, call.actor, call.params["address"])
    assert mailbox.id is not None
    domain, company = domain_and_company(call.session, mailbox)
    suspension = active_suspension(call.session, mailbox.id)
    data = mailbox_json(mailbox, domain, company)
    data["suspension"] = suspension_json(suspension, mailbox.address) if suspension else None
    return Json(data)


def lift(call: Call) -> Json:
    outcome = call.body.get("outcome", LiftOutcome.LIFTED.value)
    note = call.body.get("note")
    if not isinstance(outcome, str) or not isinstance(note, str):
        raise ValueError("outcome and note must be strings; a note is required")
    suspension = lift_suspension(
        call.session,
        call.actor,
        call.params["address"],
        outcome,
        note,
        policy=call.deps.policy,
    )
    mailbox = call.session.get(Mailbox, suspension.mailbox_id)
    assert mailbox is not None
    return Json(suspension_json(suspension, mailbox.address))


def delete(call: Call) -> Json:
    note = call.body.get("note")
    if note is not None and not isinstance(note, str):
        raise ValueError("note must be a string")
    mailbox = delete_mailbox(call.session, call.actor, call.params["address"], note)
    return Json({"address": mailbox.address, "deleted": True})


def list_complaints(call: Call) -> Json:
    paging = Paging.of(call.query)
    mailbox_id = None
    if call.query.get("mailbox"):
        mailbox_id = mailbox_in_scope(call.session, call.actor, call.query["mailbox"]).id
    ids, more = complaint_page(call.session, call.actor, ComplaintFilter(mailbox_id), paging)
    rows: list[tuple[Complaint, str | None]] = [
        (complaint, str(address))
        for complaint, address in call.session.execute(
            select(Complaint, col(Mailbox.address))
            .join(Mailbox, col(Mailbox.id) == col(Complaint.mailbox_id))
            .where(col(Complaint.id).in_(ids))
            .order_by(col(Complaint.id).desc())
        ).all()
    ]
    shown = shown_complaints(call.session, call.actor, rows)
    listed = [complaint_json(c, a or "") for c, (_, a) in zip(shown, rows, strict=True)]
    return Json({"complaints": listed, "page": paging.page, "more": more})


def list_escalations(call: Call) -> Json:
    paging = Paging.of(call.query)
    rows, more = escalation_window(call, paging, call.query.get("status") or None)
    return Json(
        {"escalations": [escalation_json(e) for e in rows], "page": paging.page, "more": more}
    )


def suspension_json(suspension: Suspension, address: str) -> dict[str, Any]:
    return {
        "id": suspension.id,
        "mailbox": address,
        "service": suspension.service,
        "started_at": suspension.started_at.isoformat(),
        "rule": suspension.rule,
        "decision_id": suspension.decision_id,
        "complaint_ids": suspension.complaint_ids,
        "lifted_at": suspension.lifted_at.isoformat() if suspension.lifted_at else None,
        "lifted_by": suspension.lifted_by,
        "outcome": suspension.outcome,
        "note": suspension.note,
    }


def complaint_json(complaint: ShownComplaint, address: str) -> dict[str, Any]:
    return {
        "id": complaint.id,
        "mailbox": address,
        "report_id": complaint.raw_report_id,
        "kind": complaint.kind,
        "feedback_type": complaint.feedback_type,
        "reporter": complaint.reporter,
        "trusted": complaint.trusted,
        "occurred_at": complaint.occurred_at.isoformat(),
        "original_message_id": complaint.original_message_id,
        "original_subject": complaint.original_subject,
        "attribution_method": complaint.attribution_method,
        "attribution_evidence": complaint.attribution_evidence,
    }


def escalation_json(escalation: Escalation) -> dict[str, Any]:
    return {
        "id": escalation.id,
        "pattern": escalation.pattern,
        "scope": escalation.scope,
        "scope_key": escalation.scope_key,
        "status": escalation.status,
        "created_at": escalation.created_at.isoformat(),
        "decision_id": escalation.decision_id,
        "evidence": escalation.evidence,
        "resolved_by": escalation.resolved_by,
        "resolved_at": escalation.resolved_at.isoformat() if escalation.resolved_at else None,
        "note": escalation.note,
    }
