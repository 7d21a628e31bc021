"""The outbox: notices written with their decision, claimed by senders, and their outcome.

A claim is a lease, as for raw reports (pipeline/claims.py): the row becomes
`sending` and `next_attempt_at` says when the claim runs out. On PostgreSQL
`FOR UPDATE SKIP LOCKED` lets senders on many nodes claim side by side and
never the same row; SQLite's single writer makes the same statement safe.
Outcomes are written only by the sender that holds the claim (same attempt
number), so a sender that stalled past its lease cannot overwrite a newer one.
A notice's Message-ID is fixed when it is queued: should a sender die after
the smarthost took a message but before recording it, the retry carries the
same Message-ID and the recipient's system sees one message.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, and_, or_, select, update
from sqlmodel import Session, col

from abusedesk.notify.message import new_message_id
from abusedesk.store.tables import Notice
from abusedesk.store.types import NoticeStatus, utcnow

DEFAULT_LEASE = timedelta(minutes=5)
"""Longer than a batch takes to send (each message waits at most the SMTP timeout)."""
MAX_ERROR_CHARS = 500


@dataclass(frozen=True, slots=True)
class NoticeDraft:
    """A rendered notice, ready to be queued."""

    idempotency_key: str
    decision_id: int | None
    template: str
    recipient: str
    fallback: bool
    subject: str
    body_text: str
    body_html: str | None


def enqueue(session: Session, draft: NoticeDraft, from_address: str) -> tuple[Notice, bool]:
    """Queue `draft` in the caller's transaction; (the notice, whether it is new)."""
    existing = session.execute(
        select(Notice).where(col(Notice.idempotency_key) == draft.idempotency_key)
    ).scalar_one_or_none()
    if existing is not None:
        return existing, False
    now = utcnow()
    notice = Notice(
        idempotency_key=draft.idempotency_key,
        decision_id=draft.decision_id,
        template=draft.template,
        recipient=draft.recipient,
        fallback=draft.fallback,
        subject=draft.subject,
        body_text=draft.body_text,
        body_html=draft.body_html,
        status=NoticeStatus.QUEUED.value,
        next_attempt_at=now,
        message_id=new_message_id(from_address),
        created_at=now,
    )
    session.add(notice)
    session.flush()
    return notice, True


def claim_due(
    engine: Engine, limit: int, lease: timedelta = DEFAULT_LEASE, now: datetime | None = None
) -> list[Notice]:
    """Claim up to `limit` notices that are due (oldest first), detached from any session."""
    at = now or utcnow()
    due = or_(
        and_(
            col(Notice.status) == NoticeStatus.QUEUED.value,
            or_(col(Notice.next_attempt_at).is_(None), col(Notice.next_attempt_at) <= at),
        ),
        # A sender that died mid-batch: its claim ran out.
        and_(col(Notice.status) == NoticeStatus.SENDING.value, col(Notice.next_attempt_at) <= at),
    )
    claimable = (
        select(col(Notice.id))
        .where(due)
        .order_by(col(Notice.id))
        .limit(limit)
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    statement = (
        update(Notice)
        .where(col(Notice.id).in_(claimable))
        .values(
            status=NoticeStatus.SENDING.value,
            next_attempt_at=at + lease,
            attempts=col(Notice.attempts) + 1,
        )
        .returning(col(Notice.id))
    )
    with Session(engine, expire_on_commit=False) as session:
        ids = sorted(i for i in session.execute(statement).scalars() if i is not None)
        session.commit()
        if not ids:
            return []
        return list(
            session.execute(select(Notice).where(col(Notice.id).in_(ids)).order_by(col(Notice.id)))
            .scalars()
            .all()
        )


def record_sent(engine: Engine, notice: Notice, at: datetime | None = None) -> bool:
    return _record(
        engine, notice, status=NoticeStatus.SENT, sent_at=at or utcnow(), last_error=None
    )


def record_retry(engine: Engine, notice: Notice, error: str, retry_at: datetime) -> bool:
    return _record(
        engine,
        notice,
        status=NoticeStatus.QUEUED,
        next_attempt_at=retry_at,
        last_error=error[:MAX_ERROR_CHARS],
    )


def record_failed(engine: Engine, notice: Notice, error: str) -> bool:
    return _record(
        engine,
        notice,
        status=NoticeStatus.FAILED,
        next_attempt_at=None,
        last_error=error[:MAX_ERROR_CHARS],
    )


def _record(engine: Engine, notice: Notice, *, status: NoticeStatus, **values: Any) -> bool:
    """Write an outcome if the claim is still ours; False when another sender took over."""
    statement = (
        update(Notice)
        .where(
            col(Notice.id) == notice.id,
            col(Notice.status) == NoticeStatus.SENDING.value,
            col(Notice.attempts) == notice.attempts,
        )
        .values(status=status.value, **values)
    )
    with engine.begin() as connection:
        return connection.execute(statement).rowcount == 1


def retry_delay(attempts: int, initial: float, maximum: float) -> timedelta:
    """Exponential backoff: initial, 2×, 4×, … capped at maximum (attempts counts from 1)."""
    exponent = min(max(attempts - 1, 0), 32)
    return timedelta(seconds=min(initial * 2**exponent, maximum))


def list_notices(session: Session, *, status: str | None = None, limit: int = 1000) -> list[Notice]:
    query = select(Notice).order_by(col(Notice.id).desc()).limit(limit)
    if status is not None:
        query = query.where(col(Notice.status) == status)
    return list(session.execute(query).scalars())


def notice_json(notice: Notice) -> dict[str, Any]:
    return {
        "id": notice.id,
        "template": notice.template,
        "recipient": notice.recipient,
        "fallback": notice.fallback,
        "subject": notice.subject,
        "status": notice.status,
        "attempts": notice.attempts,
        "next_attempt_at": notice.next_attempt_at.isoformat() if notice.next_attempt_at else None,
        "last_error": notice.last_error,
        "message_id": notice.message_id,
        "decision_id": notice.decision_id,
        "created_at": notice.created_at.isoformat(),
        "sent_at": notice.sent_at.isoformat() if notice.sent_at else None,
    }
