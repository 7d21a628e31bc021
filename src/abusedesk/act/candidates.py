"""Candidates for review: unproven complaints that name a mailbox, and charging one by hand.

Attribution charges a complaint only when the report proves that the provider
received the message from our relays. When it cannot (a forward through a third
party, an unconfirmed chain, a forgery) the complaint is recorded charged to
nobody, its raw report in the quarantine, and the mailbox its unproven evidence
names is kept as a *candidate*: it counts nowhere. Only platform staff review
candidates — a candidate is not a charge, and is often an innocent mailbox that
an outsider named — and may charge one by hand. From then on the complaint is
like any other: it counts for its mailbox, domain and company, the rules decide
it as a new complaint (it may suspend), its report leaves the quarantine, and
the audit trail says who charged it, from which candidate and why.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import aliased
from sqlmodel import Session, col

from abusedesk.access import Role
from abusedesk.access.audit import AuditAction, record_audit
from abusedesk.access.scope import Actor
from abusedesk.accounts.csv_reader import normalize_address
from abusedesk.act.lifecycle import MAX_NOTE
from abusedesk.attribute.attribution import AttributionMethod
from abusedesk.decide.decide import decide_recorded_complaint
from abusedesk.decide.engine import PolicyEngine
from abusedesk.decide.locks import lock_batch
from abusedesk.errors import NotFoundError, RefusedError, UsageError
from abusedesk.record.buckets import counted, move_complaint
from abusedesk.store.tables import Company, Complaint, Domain, Mailbox, RawReport
from abusedesk.store.types import ReportStatus, utcnow


class CandidateState(StrEnum):
    OPEN = "open"
    """Charged to nobody yet: waiting for review."""
    CHARGED = "charged"
    """Charged by hand."""
    ALL = "all"


@dataclass(frozen=True, slots=True)
class CandidateView:
    """An unproven complaint with its candidate, as a reviewer sees it."""

    complaint_id: int
    report_id: int
    report_status: str
    occurred_at: datetime
    kind: str
    feedback_type: str | None
    reporter: str | None
    trusted: bool
    source_ip: str | None
    original_subject: str | None
    original_message_id: str | None
    candidate: str
    evidence: str | None
    """What named the candidate."""
    reason: str | None
    """Why the report did not prove it."""
    hosted: bool
    """Whether the candidate is one of our mailboxes now (only a hosted one can be charged)."""
    domain: str | None
    company: str | None
    charged_to: str | None
    """The mailbox it was charged to by hand; None while open."""

    def as_json(self) -> dict[str, Any]:
        return {
            "complaint_id": self.complaint_id,
            "report_id": self.report_id,
            "report_status": self.report_status,
            "occurred_at": self.occurred_at.isoformat(),
            "kind": self.kind,
            "feedback_type": self.feedback_type,
            "reporter": self.reporter,
            "trusted": self.trusted,
            "source_ip": self.source_ip,
            "original_subject": self.original_subject,
            "original_message_id": self.original_message_id,
            "candidate": {
                "mailbox": self.candidate,
                "evidence": self.evidence,
                "hosted": self.hosted,
                "domain": self.domain,
                "company": self.company,
            },
            "unattributed_reason": self.reason,
            "charged_to": self.charged_to,
        }


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


_CANDIDATE = aliased(Mailbox)
_CHARGED = aliased(Mailbox)


def list_candidates(
    session: Session,
    *,
    actor: Actor | None = None,
    state: CandidateState = CandidateState.OPEN,
    mailbox: str | None = None,
    offset: int = 0,
    limit: int = 50,
) -> list[CandidateView]:
    """Complaints with a candidate, newest first; only for staff (None: the operator's CLI)."""
    if actor is not None:
        _require_staff(actor, "review candidates")
    query = _candidates()
    if state is CandidateState.OPEN:
        query = query.where(col(Complaint.mailbox_id).is_(None))
    elif state is CandidateState.CHARGED:
        query = query.where(col(Complaint.mailbox_id).is_not(None))
    if mailbox:
        query = query.where(col(Complaint.candidate_mailbox) == normalize_address(mailbox))
    rows = session.execute(
        query.order_by(col(Complaint.id).desc()).offset(offset).limit(limit)
    ).all()
    return [_view(*row) for row in rows]


def candidate_of_report(session: Session, actor: Actor, report_id: int) -> CandidateView | None:
    """The candidate of one report's complaint, open or charged, if it has one (staff only)."""
    _require_staff(actor, "review candidates")
    row = session.execute(_candidates().where(col(Complaint.raw_report_id) == report_id)).first()
    return _view(*row) if row is not None else None


def _candidates() -> Select[*tuple[Any, ...]]:
    """Every complaint with a candidate, with what a reviewer needs beside it."""
    return (
        select(
            Complaint,
            col(RawReport.status),
            col(_CANDIDATE.address),
            col(Domain.name),
            col(Company.name),
            col(_CHARGED.address),
        )
        .join(RawReport, col(RawReport.id) == col(Complaint.raw_report_id))
        # By address, not by the id stored at recording: a mailbox imported since is hosted.
        .join(_CANDIDATE, col(_CANDIDATE.address) == col(Complaint.candidate_mailbox), isouter=True)
        .join(Domain, col(Domain.id) == col(_CANDIDATE.domain_id), isouter=True)
        .join(Company, col(Company.id) == col(Domain.company_id), isouter=True)
        .join(_CHARGED, col(_CHARGED.id) == col(Complaint.mailbox_id), isouter=True)
        .where(col(Complaint.candidate_mailbox).is_not(None))
    )


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
    _require_staff(actor, "charge a candidate by hand")
    why = _reviewer_note(note)
    first = _complaint_of_report(session, report_id)
    # Locked as the worker locks what it records: the report's dedupe key, then the
    # mailbox with its domain and company (decide/locks.py), so a decision of a
    # concurrent worker and this one count each other's complaints.
    lock_batch(session, [first.candidate_mailbox or ""], [first.dedupe_key])
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


def _view(
    complaint: Complaint,
    status: str,
    hosted: str | None,
    domain: str | None,
    company: str | None,
    charged_to: str | None,
) -> CandidateView:
    assert complaint.id is not None and complaint.candidate_mailbox is not None
    return CandidateView(
        complaint_id=complaint.id,
        report_id=complaint.raw_report_id,
        report_status=status,
        occurred_at=complaint.occurred_at,
        kind=complaint.kind,
        feedback_type=complaint.feedback_type,
        reporter=complaint.reporter,
        trusted=complaint.trusted,
        source_ip=complaint.source_ip,
        original_subject=complaint.original_subject,
        original_message_id=complaint.original_message_id,
        candidate=complaint.candidate_mailbox,
        evidence=complaint.candidate_evidence,
        reason=complaint.unattributed_reason,
        hosted=hosted is not None,
        domain=domain,
        company=company,
        charged_to=charged_to,
    )


def _require_staff(actor: Actor, doing: str) -> None:
    if actor.role is not Role.STAFF:
        raise RefusedError(
            f"only platform staff may {doing}: {actor.username} is a {actor.role.value}"
        )


def _reviewer_note(note: str | None) -> str:
    text = (note or "").strip()
    if not text:
        raise UsageError("a note is required: say why the candidate is charged")
    if len(text) > MAX_NOTE:
        raise UsageError(f"the note is too long ({len(text)} characters, at most {MAX_NOTE})")
    return text
