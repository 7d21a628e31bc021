"""Compose the notices a decision asks for: recipients, samples or evidence, rendered templates.

`NoticeComposer` is built once at start-up from `[notices]` (its templates are
checked then) and handed to the policy engine, so notices are written in the
transaction of the decision that caused them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlmodel import Session, col

from abusedesk.config import NoticesSettings
from abusedesk.notify.context import EvidenceItem, NoticeContext, describe_window
from abusedesk.notify.outbox import NoticeDraft, enqueue
from abusedesk.notify.recipients import Recipient, abuse_recipient
from abusedesk.notify.redaction import NO_REDACTION, Redactor, stored_redactors
from abusedesk.notify.samples import choose_samples
from abusedesk.notify.templates import NoticeTemplates
from abusedesk.notify.text import one_line
from abusedesk.store.tables import Complaint, Mailbox, Notice, Suspension

EVIDENCE_SHOWN = 50


@dataclass(frozen=True, slots=True)
class NoticeRequest:
    """What one notify action of a decision asks for, with what the decision knows."""

    template: str
    to: str
    samples: int
    decision_id: int
    event_at: datetime
    rule: str
    rule_description: str
    mailbox: str
    domain: str
    company: str
    domain_id: int
    company_id: int
    counter: str | None = None
    count: int | None = None
    window_seconds: float | None = None
    suspension_id: int | None = None
    complaint_ids: tuple[int, ...] = ()
    pattern: str | None = None
    scope: str | None = None
    scope_key: str | None = None
    escalation_id: int | None = None
    evidence_kind: str | None = None
    evidence_ids: tuple[int, ...] = ()


class NoticeComposer:
    def __init__(self, settings: NoticesSettings, templates: NoticeTemplates) -> None:
        self.settings = settings
        self.templates = templates

    @classmethod
    def from_settings(cls, settings: NoticesSettings) -> NoticeComposer:
        """The composer for `[notices]`; ConfigError when a template does not render."""
        templates = NoticeTemplates(settings.templates_dir)
        templates.check()
        return cls(settings, templates)

    def queue(self, session: Session, request: NoticeRequest) -> tuple[Notice, bool]:
        """Render the request's notice and queue it, once per decision, template and recipient."""
        recipient = self._recipient(session, request)
        context = self._context(session, request, recipient)
        rendered = self.templates.render(context)
        key = f"decision-{request.decision_id}:{request.template}:{recipient.address}"
        draft = NoticeDraft(
            idempotency_key=key,
            decision_id=request.decision_id,
            template=request.template,
            recipient=recipient.address,
            fallback=recipient.fallback,
            subject=rendered.subject,
            body_text=rendered.text,
            body_html=rendered.html,
        )
        return enqueue(session, draft, self.settings.from_address)

    def _recipient(self, session: Session, request: NoticeRequest) -> Recipient:
        platform = self.settings.platform_abuse_address
        if request.to == "platform-abuse":
            return Recipient(platform)
        return abuse_recipient(session, request.company_id, request.domain_id, platform)

    def _context(
        self, session: Session, request: NoticeRequest, recipient: Recipient
    ) -> NoticeContext:
        limit = min(request.samples, self.settings.max_samples)
        suspended_at = None
        if request.suspension_id is not None:
            suspension = session.get(Suspension, request.suspension_id)
            suspended_at = suspension.started_at if suspension else None
        return NoticeContext(
            template=request.template,
            company=one_line(request.company),
            domain=request.domain,
            mailbox=request.mailbox,
            recipient=recipient.address,
            fallback=recipient.fallback,
            platform_abuse_address=self.settings.platform_abuse_address,
            rule=request.rule,
            rule_description=request.rule_description,
            event_at=request.event_at,
            decision_id=request.decision_id,
            counter=request.counter,
            count=request.count,
            window=describe_window(request.window_seconds),
            suspension_id=request.suspension_id,
            suspended_at=suspended_at,
            samples=choose_samples(session, request.complaint_ids, limit),
            complaint_total=len(request.complaint_ids),
            pattern=request.pattern,
            scope=request.scope,
            scope_key=request.scope_key,
            escalation_id=request.escalation_id,
            evidence=evidence_items(session, request.evidence_kind, request.evidence_ids),
        )


def evidence_items(
    session: Session, kind: str | None, ids: Sequence[int]
) -> tuple[EvidenceItem, ...]:
    """The rows behind an escalation, in words, newest first."""
    wanted = list(ids)[:EVIDENCE_SHOWN]
    if not wanted:
        return ()
    if kind in ("suspension", "lift"):
        rows = session.execute(
            select(Suspension, col(Mailbox.address))
            .join(Mailbox, col(Mailbox.id) == col(Suspension.mailbox_id))
            .where(col(Suspension.id).in_(wanted))
            .order_by(col(Suspension.started_at).desc())
        ).all()
        return tuple(_suspension_item(s, address) for s, address in rows)
    if kind == "complaint":
        found = session.execute(
            select(Complaint, col(Mailbox.address))
            .join(Mailbox, col(Mailbox.id) == col(Complaint.mailbox_id))
            .where(col(Complaint.id).in_(wanted))
            .order_by(col(Complaint.occurred_at).desc())
        ).all()
        redactors = stored_redactors(session, {c.raw_report_id: a for c, a in found})
        return tuple(
            _complaint_item(c, address, redactors.get(c.raw_report_id, NO_REDACTION))
            for c, address in found
        )
    if kind == "signup":
        boxes = session.execute(
            select(Mailbox).where(col(Mailbox.id).in_(wanted)).order_by(col(Mailbox.id).desc())
        ).scalars()
        return tuple(
            EvidenceItem("signup", m.id or 0, m.created_at, m.address, f"{m.address} signed up")
            for m in boxes
        )
    return tuple(EvidenceItem(kind or "row", i, None, None, f"{kind} {i}") for i in wanted)


def _suspension_item(suspension: Suspension, address: str) -> EvidenceItem:
    summary = f"{address} suspended by rule {suspension.rule or 'unknown'}"
    if suspension.lifted_at is not None:
        summary += f"; lifted ({suspension.outcome}) by {suspension.lifted_by}"
    else:
        summary += "; still suspended"
    assert suspension.id is not None
    return EvidenceItem("suspension", suspension.id, suspension.started_at, address, summary)


def _complaint_item(complaint: Complaint, address: str, redactor: Redactor) -> EvidenceItem:
    """A complaint in words; what its report says is redacted (the notice goes to a reseller)."""
    subject = one_line(redactor.redact(complaint.original_subject or ""))[:120]
    reporter = one_line(redactor.redact(complaint.reporter or "a provider"))
    summary = f"complaint about {address} from {reporter}" + (f": {subject!r}" if subject else "")
    assert complaint.id is not None
    return EvidenceItem("complaint", complaint.id, complaint.occurred_at, address, summary)
