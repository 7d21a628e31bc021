"""Candidates for review: unproven complaints that name a mailbox, as staff see them.

Attribution charges a complaint only when the report proves that the provider
received the message from our relays. When it cannot (a forward through a third
party, an unconfirmed chain, a forgery) the complaint is recorded charged to
nobody, its raw report in the quarantine, and the mailbox its unproven evidence
names is kept as a *candidate*: it counts nowhere. Only platform staff review
candidates — a candidate is not a charge, and is often an innocent mailbox that
an outsider named — and may charge one by hand (`act/charge.py`).
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
from abusedesk.access.scope import Actor
from abusedesk.errors import RefusedError
from abusedesk.store.addresses import normalize_address
from abusedesk.store.tables import Company, Complaint, Domain, Mailbox, RawReport


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
        require_staff(actor, "review candidates")
    query = _candidates()
    # Candidates are few beside all complaints: they are found through their own index
    # and sorted, never by walking every complaint newest first (the primary key's order,
    # which `id + 0` keeps the database from choosing) or every complaint charged to
    # nobody (the mailbox index, which `mailbox_id + 0` keeps it from choosing).
    charged_to: Any = col(Complaint.mailbox_id) + 0
    if state is CandidateState.OPEN:
        query = query.where(charged_to.is_(None))
    elif state is CandidateState.CHARGED:
        query = query.where(charged_to.is_not(None))
    if mailbox:
        query = query.where(col(Complaint.candidate_mailbox) == normalize_address(mailbox))
    newest_first = (col(Complaint.id) + 0).desc()
    rows = session.execute(query.order_by(newest_first).offset(offset).limit(limit)).all()
    return [_view(*row) for row in rows]


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
        # Not `IS NOT NULL`, which SQLite does not look up in an index; no address is empty.
        .where(col(Complaint.candidate_mailbox) > "")
    )


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


def require_staff(actor: Actor, doing: str) -> None:
    """Refuse anyone but platform staff: candidates are not charges, and not resellers' to see."""
    if actor.role is not Role.STAFF:
        raise RefusedError(
            f"only platform staff may {doing}: {actor.username} is a {actor.role.value}"
        )
