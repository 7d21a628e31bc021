"""The events rules react to, and the facts about an event's mailbox, domain, company and params.

An event's time is when it happened (a complaint's `occurred_at`, a
suspension's `started_at`, a mailbox's `created_at`): windows and ages are
measured from it, never from the wall clock.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from sqlalchemy import bindparam, or_, select
from sqlmodel import Session, col

from abusedesk.decide.counters import Subject
from abusedesk.decide.loader import param_type
from abusedesk.decide.model import EVENT_FIELDS, EventKind, RuleSet, Value
from abusedesk.store.tables import Company, Complaint, Domain, Mailbox, PolicyParam, Suspension

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Event:
    kind: EventKind
    mailbox_id: int
    at: datetime
    details: dict[str, Value | None] = field(default_factory=dict)
    """The fields of the event's own namespace (`report.*`, `suspension.*`, …)."""
    complaint_id: int | None = None
    suspension_id: int | None = None

    @property
    def key(self) -> str:
        """Names the event uniquely: a durable-rules fact id is built from it."""
        subject = self.complaint_id or self.suspension_id or self.mailbox_id
        return f"{self.kind.value}-{subject}"


def complaint_event(complaint: Complaint) -> Event | None:
    """The event for a recorded complaint; None when it was charged to no mailbox."""
    if complaint.mailbox_id is None:
        return None
    details: dict[str, Value | None] = {
        "kind": complaint.kind,
        "trusted": complaint.trusted,
        "format": complaint.format,
        "feedback_type": complaint.feedback_type,
        "reporter": complaint.reporter,
        "source_ip": complaint.source_ip,
    }
    return Event(
        EventKind.COMPLAINT,
        complaint.mailbox_id,
        complaint.occurred_at,
        details,
        complaint_id=complaint.id,
    )


def suspension_event(suspension: Suspension) -> Event:
    details: dict[str, Value | None] = {"rule": suspension.rule, "service": suspension.service}
    return Event(
        EventKind.SUSPENSION,
        suspension.mailbox_id,
        suspension.started_at,
        details,
        suspension_id=suspension.id,
    )


def lift_event(suspension: Suspension) -> Event:
    """The event for a lifted suspension (`lifted_at` set), for the lifecycle to raise."""
    assert suspension.lifted_at is not None
    details: dict[str, Value | None] = {"outcome": suspension.outcome, "by": suspension.lifted_by}
    return Event(
        EventKind.LIFT,
        suspension.mailbox_id,
        suspension.lifted_at,
        details,
        suspension_id=suspension.id,
    )


def signup_event(mailbox: Mailbox) -> Event:
    """The event for a mailbox that appeared in the directory (it needs a `created_at`)."""
    assert mailbox.id is not None and mailbox.created_at is not None
    return Event(EventKind.SIGNUP, mailbox.id, mailbox.created_at, {"ip": mailbox.signup_ip})


# What a decision knows of its mailbox, its domain and its company (a `Subject`).
ALL_SUBJECTS = (
    select(
        col(Mailbox.id),
        col(Domain.id),
        col(Company.id),
        col(Mailbox.address),
        col(Domain.name),
        col(Company.name),
        col(Mailbox.created_at),
        col(Domain.created_at),
        col(Mailbox.can_send),
        col(Mailbox.signup_ip),
    )
    .join(Domain, col(Domain.id) == col(Mailbox.domain_id))
    .join(Company, col(Company.id) == col(Domain.company_id))
)
# Built once: constructing a statement costs more than SQLite takes to run it.
_SUBJECT = ALL_SUBJECTS.where(col(Mailbox.id) == bindparam("mailbox_id"))
_SUSPENDED = (
    select(col(Suspension.id))
    .where(
        col(Suspension.mailbox_id) == bindparam("mailbox_id"),
        col(Suspension.service) == "send",
        col(Suspension.lifted_at).is_(None),
    )
    .limit(1)
)
_OVERRIDES = select(col(PolicyParam.scope), col(PolicyParam.name), col(PolicyParam.value)).where(
    or_(
        (col(PolicyParam.scope) == "company")
        & (col(PolicyParam.scope_key) == bindparam("company")),
        (col(PolicyParam.scope) == "domain") & (col(PolicyParam.scope_key) == bindparam("domain")),
    )
)


def load_subject(session: Session, mailbox_id: int) -> Subject | None:
    row = session.connection().execute(_SUBJECT, {"mailbox_id": mailbox_id}).first()
    return Subject(*cast(tuple[Any, ...], row)) if row is not None else None


def is_suspended(session: Session, mailbox_id: int) -> bool:
    found = session.connection().execute(_SUSPENDED, {"mailbox_id": mailbox_id}).first()
    return found is not None


def entity_facts(
    event: Event, subject: Subject, suspended: bool, can_send: bool | None = None
) -> dict[str, Any]:
    """The facts every rule may read, beside counters; `can_send` overrides the stored flag."""
    namespace, _fields = EVENT_FIELDS[event.kind]
    return {
        "event": event.kind.value,
        namespace: dict(event.details),
        "mailbox": {
            "address": subject.address,
            "age": _age(event.at, subject.created_at),
            "can_send": subject.can_send if can_send is None else can_send,
            "suspended": suspended,
            "signup_ip": subject.signup_ip,
        },
        "domain": {"name": subject.domain, "age": _age(event.at, subject.domain_created_at)},
        "company": {"name": subject.company},
    }


def _age(at: datetime, since: datetime | None) -> float | None:
    return None if since is None else (at - since).total_seconds()


def resolve_params(session: Session, ruleset: RuleSet, subject: Subject) -> dict[str, Value]:
    """The file's params with the company's overrides, then the domain's, applied."""
    values = {name: param.default for name, param in ruleset.params.items()}
    rows = (
        session.connection()
        .execute(_OVERRIDES, {"company": subject.company, "domain": subject.domain})
        .all()
    )
    for scope in ("company", "domain"):  # a domain's override wins over its company's
        for row_scope, name, text in rows:
            if row_scope == scope and name in ruleset.params:
                parsed = parse_param_value(ruleset, name, text)
                if parsed is None:
                    log.warning(
                        "%s override of param %s=%r does not fit the rules file's type "
                        "%s; the file's default applies",
                        scope,
                        name,
                        text,
                        ruleset.params[name].type,
                    )
                    continue
                values[name] = parsed
    return values


def parse_param_value(ruleset: RuleSet, name: str, text: str) -> Value | None:
    """`text` read as the type the rules file declares for param `name`; None if it cannot."""
    declared = ruleset.params[name].type
    lowered = text.strip().lower()
    if lowered in {"true", "false"}:
        candidate: Value = lowered == "true"
    else:
        try:
            candidate = float(text) if "." in text else int(text)
        except ValueError:
            candidate = text.strip()
    kind, value = param_type(candidate)
    return value if kind is declared else None
