"""The database tables of the whole domain, as SQLModel classes.

Addresses and domain names are stored lowercased: comparisons are
case-insensitive everywhere because the stored form is the canonical one.
Every time column is `UtcDateTime`. Structured evidence (envelopes, facts,
actions) is JSON, which both SQLite and PostgreSQL store natively.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Index, LargeBinary, text
from sqlmodel import Field, SQLModel

from abusedesk.store.types import UtcDateTime, utcnow


def _json() -> Any:
    return Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class Company(SQLModel, table=True):
    """A reseller: it owns domains and answers for their mailboxes."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True, max_length=200)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class Domain(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True, max_length=253)
    company_id: int = Field(foreign_key="company.id", index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class Mailbox(SQLModel, table=True):
    """A hosted mailbox with its per-service switches."""

    # Domain-wide counters ("young accounts suspended in this domain") walk a
    # domain's mailboxes newest first; without it every decision scans the domain.
    __table_args__ = (Index("ix_mailbox_domain_created", "domain_id", "created_at"),)

    id: int | None = Field(default=None, primary_key=True)
    address: str = Field(unique=True, max_length=320)
    domain_id: int = Field(foreign_key="domain.id", index=True)
    created_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    signup_ip: str | None = Field(default=None, max_length=45)
    can_send: bool = True
    can_receive: bool = True
    can_login: bool = True
    deleted_at: datetime | None = Field(default=None, sa_type=UtcDateTime)


class Contact(SQLModel, table=True):
    """An address to notify; domain-level contacts take precedence over company-level ones."""

    id: int | None = Field(default=None, primary_key=True)
    company_id: int = Field(foreign_key="company.id", index=True)
    domain_id: int | None = Field(default=None, foreign_key="domain.id", index=True)
    role: str = Field(default="abuse", max_length=32)
    email: str = Field(max_length=320)
    verified: bool = False
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class RawReport(SQLModel, table=True):
    """The bytes of a report exactly as received, stored before we say "accepted"."""

    __table_args__ = (Index("ix_rawreport_status_id", "status", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    sha256: str = Field(max_length=64)
    raw: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    size: int
    received_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    source: str = Field(max_length=16)
    peer: str | None = Field(default=None, max_length=255)
    envelope: dict[str, Any] = _json()
    trusted: bool = False
    trust_reason: str | None = None
    status: str = Field(default="pending", max_length=16)
    reason: str | None = None
    attempts: int = 0
    claimed_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    claimed_by: str | None = Field(default=None, max_length=128)
    processed_at: datetime | None = Field(default=None, sa_type=UtcDateTime)


class Complaint(SQLModel, table=True):
    """What one report says, and the mailbox it was charged to (if any)."""

    __table_args__ = (
        Index("ix_complaint_mailbox_kind_time", "mailbox_id", "kind", "occurred_at"),
        # A counter that does not fix the report kind ranges over a mailbox's complaints
        # by time; kind and trust ride along so that no table row is read.
        Index(
            "ix_complaint_mailbox_time_kind_trusted", "mailbox_id", "occurred_at", "kind", "trusted"
        ),
        Index("ix_complaint_time", "occurred_at"),
        # A domain's complaints by time, without visiting each of its mailboxes.
        Index(
            "ix_complaint_domain_time_kind_trusted", "domain_id", "occurred_at", "kind", "trusted"
        ),
        # The console's top reporters of the last day, from the index alone.
        Index("ix_complaint_time_reporter", "occurred_at", "reporter"),
        # Staff's candidates for review (few beside all complaints), and one address's.
        Index("ix_complaint_candidate", "candidate_mailbox"),
        # The few complaints whose decision failed, for the retries and the doctor.
        Index(
            "ix_complaint_decision_failed",
            "decision_attempts",
            sqlite_where=text("decision_error IS NOT NULL"),
            postgresql_where=text("decision_error IS NOT NULL"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    raw_report_id: int = Field(foreign_key="rawreport.id", unique=True)
    dedupe_key: str = Field(max_length=64, unique=True)
    kind: str = Field(max_length=16)
    format: str = Field(max_length=16)
    feedback_type: str | None = Field(default=None, max_length=64)
    reporter: str | None = Field(default=None, max_length=255, index=True)
    trusted: bool = False
    occurred_at: datetime = Field(sa_type=UtcDateTime)
    recorded_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    source_ip: str | None = Field(default=None, max_length=45)
    original_message_id: str | None = Field(default=None, max_length=998, index=True)
    original_from: str | None = Field(default=None, max_length=320)
    original_mail_from: str | None = Field(default=None, max_length=320)
    original_subject: str | None = None
    original_excerpt: str | None = None
    mailbox_id: int | None = Field(default=None, foreign_key="mailbox.id")
    domain_id: int | None = Field(default=None, foreign_key="domain.id")
    """The mailbox's domain (an address never changes domain), for counters across a domain."""
    attribution_method: str | None = Field(default=None, max_length=32)
    attribution_evidence: str | None = None
    attribution_confidence: str | None = Field(default=None, max_length=16)
    queue_id: str | None = Field(default=None, max_length=64)
    unattributed_reason: str | None = None
    """Why attribution charged nobody (kept when staff later charge the candidate by hand)."""
    candidate_mailbox: str | None = Field(default=None, max_length=320)
    """The address unproven evidence names (hosted or not): counted only if staff charge it."""
    candidate_mailbox_id: int | None = Field(default=None, foreign_key="mailbox.id")
    """The candidate's mailbox when it was hosted at recording."""
    candidate_evidence: str | None = None
    """What named the candidate, in words a reviewer can check against the raw report."""
    decision_error: str | None = None
    """Why deciding this complaint failed, while it did (the complaint is kept, and its
    decision retried; `pipeline/decision_retry.py`)."""
    decision_attempts: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    """How many times deciding it failed."""
    problems: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))


class ComplaintVolume(SQLModel, table=True):
    """How many complaints of one kind and trust a domain's mailboxes drew in one UTC hour.

    Kept in the transaction that records each complaint (record/buckets.py), so
    that a domain or company counter over 24 hours sums a few dozen rows for the
    window's whole hours instead of walking every complaint of a domain under
    fire; the partial hours at its edges are counted through
    `ix_complaint_domain_time_kind_trusted`.
    """

    # Most counters fix the kind ('complaint'): then only that kind's buckets are read,
    # from the index alone (a company's sum visits each of its domains' day of them).
    __table_args__ = (
        Index(
            "ix_complaintvolume_domain_kind_hour",
            "domain_id",
            "kind",
            "hour",
            "trusted",
            "complaints",
        ),
    )

    domain_id: int = Field(foreign_key="domain.id", primary_key=True)
    hour: datetime = Field(sa_type=UtcDateTime, primary_key=True)
    kind: str = Field(max_length=16, primary_key=True)
    trusted: bool = Field(primary_key=True)
    complaints: int = 0


class SubmittedMessage(SQLModel, table=True):
    """A message our relay accepted from an authenticated user, seen by the policy service.

    It joins a report to its sender by our own queue id when every address in
    the report is redacted.
    """

    id: int | None = Field(default=None, primary_key=True)
    queue_id: str = Field(max_length=64, unique=True)
    sasl_username: str = Field(max_length=320)
    submitted_at: datetime = Field(sa_type=UtcDateTime, index=True)
    recipient_count: int = 0


class SentVolume(SQLModel, table=True):
    """How much one mailbox sent in one UTC hour, as metered by the policy service.

    Rows are hourly buckets so that `sent` counters over 24 hours read at most
    25 rows per mailbox however much it sends; the policy service adds to them
    in batches, never once per message.
    """

    mailbox_id: int = Field(foreign_key="mailbox.id", primary_key=True)
    hour: datetime = Field(sa_type=UtcDateTime, primary_key=True)
    messages: int = 0
    recipients: int = 0


class SendStateVersion(SQLModel, table=True):
    """One row: a counter that database triggers bump whenever a mailbox's right to send changes.

    Migration 0006 creates the triggers (on `mailbox`: `can_send` or `deleted_at`
    changed, a blocked mailbox inserted or deleted). Writers serialise on this
    row, so versions are committed in order and without gaps, and a policy
    service that has seen version N has seen every change up to N. A later
    migration that rebuilds `mailbox` on SQLite (batch mode, recreate) drops
    its triggers and must create them again; the policy service refuses to
    start without them.
    """

    id: int = Field(default=1, primary_key=True, sa_column_kwargs={"autoincrement": False})
    version: int = Field(default=0, sa_type=BigInteger)


class SendStateChange(SQLModel, table=True):
    """Which mailbox changed at each send-state version, so nodes catch up incrementally."""

    version: int = Field(
        sa_type=BigInteger, primary_key=True, sa_column_kwargs={"autoincrement": False}
    )
    mailbox_id: int


class Decision(SQLModel, table=True):
    """What the rules decided for one event, and why."""

    id: int | None = Field(default=None, primary_key=True)
    event: str = Field(max_length=32)
    mailbox_id: int | None = Field(default=None, foreign_key="mailbox.id", index=True)
    complaint_id: int | None = Field(default=None, foreign_key="complaint.id")
    occurred_at: datetime = Field(sa_type=UtcDateTime)
    decided_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    facts: dict[str, Any] = _json()
    fired: list[Any] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    missed: list[Any] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    actions: list[Any] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    rules_path: str = Field(default="", max_length=1024)
    rules_hash: str = Field(default="", max_length=64)
    shadow: bool = False


class Suspension(SQLModel, table=True):
    __table_args__ = (Index("ix_suspension_mailbox_time", "mailbox_id", "started_at"),)

    id: int | None = Field(default=None, primary_key=True)
    mailbox_id: int = Field(foreign_key="mailbox.id")
    service: str = Field(default="send", max_length=16)
    started_at: datetime = Field(sa_type=UtcDateTime)
    decision_id: int | None = Field(default=None, foreign_key="decision.id")
    rule: str | None = Field(default=None, max_length=200)
    complaint_ids: list[int] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    lifted_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    lifted_by: str | None = Field(default=None, max_length=200)
    outcome: str | None = Field(default=None, max_length=32)
    note: str | None = None


class Escalation(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    pattern: str = Field(max_length=64)
    scope: str = Field(max_length=16)
    scope_key: str = Field(max_length=320, index=True)
    status: str = Field(default="open", max_length=16)
    created_at: datetime = Field(sa_type=UtcDateTime)
    decision_id: int | None = Field(default=None, foreign_key="decision.id")
    evidence: dict[str, Any] = _json()
    resolved_by: str | None = Field(default=None, max_length=200)
    resolved_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    note: str | None = None


class Notice(SQLModel, table=True):
    """A message in the outbox: written with its decision, delivered (and retried) later."""

    __table_args__ = (Index("ix_notice_status_due", "status", "next_attempt_at"),)

    id: int | None = Field(default=None, primary_key=True)
    idempotency_key: str = Field(max_length=200, unique=True)
    decision_id: int | None = Field(default=None, foreign_key="decision.id")
    template: str = Field(max_length=100)
    recipient: str = Field(max_length=320)
    fallback: bool = False
    subject: str
    body_text: str
    body_html: str | None = None
    status: str = Field(default="queued", max_length=16)
    attempts: int = 0
    next_attempt_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    last_error: str | None = None
    message_id: str | None = Field(default=None, max_length=998)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    sent_at: datetime | None = Field(default=None, sa_type=UtcDateTime)


class AdminUser(SQLModel, table=True):
    """A person who reviews cases: platform staff, or an admin of one company or domain."""

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(unique=True, max_length=200)
    role: str = Field(max_length=32)
    company_id: int | None = Field(default=None, foreign_key="company.id")
    domain_id: int | None = Field(default=None, foreign_key="domain.id")
    password_hash: str | None = None
    api_token_hash: str | None = Field(default=None, max_length=128, index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    disabled: bool = False


class AuditEntry(SQLModel, table=True):
    """Who did what, to which object, when, from where, and their note."""

    __table_args__ = (Index("ix_auditentry_at", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    actor: str = Field(max_length=200)
    action: str = Field(max_length=64)
    target_type: str = Field(max_length=32)
    target: str = Field(max_length=320)
    origin: str = Field(default="cli", max_length=255)
    note: str | None = None
    detail: dict[str, Any] = _json()


class PolicyParam(SQLModel, table=True):
    """A company's or domain's override of a rules-file param; a domain's wins over its company's.

    `scope_key` is the company or domain *name*, so an override reads the way an
    operator typed it. `value` is text, read with the type the rules file declares.
    """

    __table_args__ = (
        Index("ux_policyparam_scope_name", "scope", "scope_key", "name", unique=True),
    )

    id: int | None = Field(default=None, primary_key=True)
    scope: str = Field(max_length=16)
    scope_key: str = Field(max_length=253)
    name: str = Field(max_length=100)
    value: str = Field(max_length=200)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    updated_by: str | None = Field(default=None, max_length=200)


class ImapCursor(SQLModel, table=True):
    """How far the IMAP poller has stored one folder of one polled mailbox.

    Every message with a UID up to `last_uid` has been stored; such a message
    still in the folder only needs moving. UIDs mean nothing across a change
    of `uidvalidity`, and both are unsigned 32-bit numbers, hence BIGINT.
    `account` is `username@host`, and a username may itself be an address.
    """

    account: str = Field(primary_key=True, max_length=600)
    folder: str = Field(primary_key=True, max_length=255)
    uidvalidity: int = Field(sa_type=BigInteger)
    last_uid: int = Field(default=0, sa_type=BigInteger)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class ConsoleSession(SQLModel, table=True):
    """A signed-in console session; the cookie holds its token, this row only the token's sha256.

    The row is the session: deleting it signs the browser out on every node at
    once. `stamp` fingerprints what the session was opened for (the user's
    password hash, role, place and state), so any later change to those ends it.
    """

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(unique=True, max_length=64)
    user_id: int = Field(foreign_key="adminuser.id", index=True)
    stamp: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    expires_at: datetime = Field(sa_type=UtcDateTime)


class SignInAttempt(SQLModel, table=True):
    """One sign-in attempt counted against a username or a client address (`key`).

    A row is written before the password is checked and kept when it was wrong,
    so parallel attempts count against each other and every node counts alike.
    """

    __table_args__ = (
        Index("ix_signinattempt_key_at", "key", "at"),
        Index("ix_signinattempt_at", "at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=255)
    at: datetime = Field(sa_type=UtcDateTime)
