"""Charge an unproven complaint to its candidate by hand: staff's decision, audited.

From then on the complaint is like any other: it counts for its mailbox,
domain and company (its hourly bucket too), the rules decide it as a new
complaint at its own time (it may suspend and notify), its raw report leaves
the quarantine, and the audit trail says who charged it, from which candidate
and why. Refused, with the reason, for anyone but staff, for a complaint
already charged or without a candidate, for a candidate that is not (or no
longer) a mailbox of ours, and while the report waits to be processed again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlmodel import Session, col

from abusedesk.access.audit import AuditAction, record_audit
from abusedesk.access.scope import Actor
from abusedesk.act.candidates import require_staff
from abusedesk.act.lifecycle import MAX_NOTE
from abusedesk.attribute.attribution import AttributionMethod
from abusedesk.decide.decide import decide_recorded_complaint
from abusedesk.decide.engine import PolicyEngine
from abusedesk.decide.locks import lock_batch
from abusedesk.errors import NotFoundError, RefusedError, UsageError
from abusedesk.record.buckets import counted, move_complaint
from abusedesk.store.tables import Complaint, Mailbox, RawReport
from abusedesk.store.types import ReportStatus, utcnow


@dataclass(frozen=True, slots=True)
class ChargedCandidate:
    """What charging a candidate by hand did."""

    complaint_id: int
    report_id: int
    mailbox: str
    decision_ids: tuple[int, ...]
    actions: tuple[dict[str, Any], ...]
    """The actions the rules took on the complaint (a suspension, a notice, …)."""
    can_send: bool
    """Whether the mailbox may still send afterwards."""

    @property
    def suspended(self) -> bool:
        """Whether the rules suspended the mailbox on this complaint."""
        return any(a.get("action") == "suspend" and a.get("status") == "done" for a in self.actions)

    def as_json(self) -> dict[str, Any]:
        return {
            "complaint_id": self.complaint_id,
            "report_id": self.report_id,
            "mailbox": self.mailbox,
            "method": AttributionMethod.STAFF.value,
            "decision_ids": list(self.decision_ids),
            "actions": list(self.actions),
            "suspended": self.suspended,
            "can_send": self.can_send,
        }


def charge_candidate(
    session: Session,
    actor: Actor,
    report_id: int,
    note: str,
    *,
    policy: PolicyEngine | None = None,
) -> ChargedCandidate:
    """Charge the candidate of report `report_id`'s complaint to its mailbox, by hand.

    Only staff may; the note (why) is required. Refused when the complaint is
    already charged, names no candidate, or its candidate is not hosted (or is
    deleted), and while its report waits to be processed again.
    """
    require_staff(actor, "charge a candidate by hand")
    why = _reviewer_note(note)
    first = _complaint_of_report(session, report_id)
    # Locked as the worker locks what it records: the report's dedupe key, then the
    # mailbox with its domain and company (decide/locks.py), so a decision of a
    # concurrent worker and this one count each other's complaints.
    named = [first.candidate_mailbox] if first.candidate_mailbox else []
    lock_batch(session, named, [first.dedupe_key])
    complaint = session.execute(
        select(Complaint)
        .where(col(Complaint.id) == first.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one()
    raw = session.execute(
        select(RawReport)
        .where(col(RawReport.id) == report_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one()
    mailbox = _chargeable(session, complaint, raw)
    assert mailbox.id is not None and complaint.id is not None
    candidate = complaint.candidate_mailbox
    before = counted(complaint)
    complaint.mailbox_id = mailbox.id
    complaint.domain_id = mailbox.domain_id
    complaint.candidate_mailbox_id = mailbox.id
    complaint.attribution_method = AttributionMethod.STAFF.value
    complaint.attribution_confidence = None  # a person's judgement, not a level of evidence
    complaint.queue_id = None
    complaint.attribution_evidence = (
        f"charged by hand by {actor.username} (staff) from the candidate {candidate}. "
        f"The report did not prove it: {complaint.unattributed_reason or 'no reason recorded'}. "
        f"What named the candidate: {complaint.candidate_evidence or 'not recorded'}. "
        f"Why it was charged: {why}"
    )
    session.add(complaint)
    move_complaint(session, before, counted(complaint))
    quarantine_reason = raw.reason
    raw.status = ReportStatus.PROCESSED.value
    raw.reason = f"charged by hand to {mailbox.address} by {actor.username}"
    raw.processed_at = utcnow()
    session.add(raw)
    session.flush()
    decisions = decide_recorded_complaint(session, complaint, policy) if policy else []
    actions = tuple(action for decision in decisions for action in decision.actions)
    decision_ids = tuple(decision.id for decision in decisions if decision.id is not None)
    record_audit(
        session,
        actor,
        AuditAction.COMPLAINT_CHARGE,
        "mailbox",
        mailbox.address,
        note=why,
        detail={
            "report_id": report_id,
            "complaint_id": complaint.id,
            "candidate": candidate,
            "unattributed_reason": complaint.unattributed_reason,
            "quarantine_reason": quarantine_reason,
            "decision_ids": list(decision_ids),
            "actions": [f"{a.get('action')}: {a.get('status')}" for a in actions],
        },
    )
    session.refresh(mailbox)
    return ChargedCandidate(
        complaint.id, report_id, mailbox.address, decision_ids, actions, mailbox.can_send
    )


def _chargeable(session: Session, complaint: Complaint, raw: RawReport) -> Mailbox:
    """The candidate's mailbox, or why this complaint cannot be charged by hand."""
    report = f"report {raw.id}"
    if complaint.mailbox_id is not None:
        charged = session.get(Mailbox, complaint.mailbox_id)
        method = complaint.attribution_method or "unknown method"
        raise RefusedError(
            f"{report} is already charged to {charged.address if charged else 'a mailbox'} "
            f"({method}): there is nothing left to charge"
        )
    if complaint.candidate_mailbox is None:
        raise RefusedError(
            f"{report} names no candidate to charge "
            f"({complaint.unattributed_reason or 'no evidence named a mailbox'})"
        )
    if raw.status == ReportStatus.PENDING.value:
        raise RefusedError(
            f"{report} is queued to be processed again: charge it once processing has settled it"
        )
    mailbox = _candidate_mailbox(session, complaint)
    if mailbox is None:
        raise RefusedError(
            f"{complaint.candidate_mailbox} is not a mailbox on our platform: there is nobody "
            f"to charge for {report}"
        )
    if mailbox.deleted_at is not None:
        raise RefusedError(f"{mailbox.address} is deleted: {report} cannot be charged to it")
    return mailbox


def _candidate_mailbox(session: Session, complaint: Complaint) -> Mailbox | None:
    if complaint.candidate_mailbox_id is not None:
        return session.get(Mailbox, complaint.candidate_mailbox_id)
    return session.execute(
        select(Mailbox).where(col(Mailbox.address) == complaint.candidate_mailbox)
    ).scalar_one_or_none()


def _complaint_of_report(session: Session, report_id: int) -> Complaint:
    if session.get(RawReport, report_id) is None:
        raise NotFoundError(f"no report {report_id}")
    complaint: Complaint | None = session.execute(
        select(Complaint).where(col(Complaint.raw_report_id) == report_id)
    ).scalar_one_or_none()
    if complaint is None:
        raise RefusedError(f"report {report_id} recorded no complaint: there is nothing to charge")
    return complaint


def _reviewer_note(note: str | None) -> str:
    text = (note or "").strip()
    if not text:
        raise UsageError("a note is required: say why the candidate is charged")
    if len(text) > MAX_NOTE:
        raise UsageError(f"the note is too long ({len(text)} characters, at most {MAX_NOTE})")
    return text
