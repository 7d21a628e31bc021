"""Column types shared by the tables: timezone-safe datetimes and the enums stored as text."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import DateTime
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator


class UtcDateTime(TypeDecorator[datetime]):
    """Stores UTC without a zone (SQLite has none) and always returns aware UTC datetimes.

    Naive datetimes are refused on the way in: every time in abusedesk is UTC,
    and a naive value is a bug that would silently shift windows.
    """

    impl = DateTime(timezone=False)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r} given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):  # SQLite returns text for raw SQL selects
            value = datetime.fromisoformat(value)
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


class ReportSource(StrEnum):
    SMTP = "smtp"
    IMAP = "imap"
    FILE = "file"
    STDIN = "stdin"


class ReportStatus(StrEnum):
    PENDING = "pending"
    PROCESSED = "processed"
    QUARANTINED = "quarantined"


class Service(StrEnum):
    """What a mailbox can do; a soft-suspension switches off `SEND` only."""

    SEND = "send"
    RECEIVE = "receive"
    LOGIN = "login"


class LiftOutcome(StrEnum):
    LIFTED = "lifted"
    EDUCATED = "educated"
    ACCOUNT_DELETED = "account-deleted"


class EscalationStatus(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


class NoticeStatus(StrEnum):
    QUEUED = "queued"
    SENDING = "sending"  # claimed by a sender; `next_attempt_at` is when the claim runs out
    SENT = "sent"
    FAILED = "failed"


class AdminRole(StrEnum):
    STAFF = "staff"
    COMPANY_ADMIN = "company-admin"
    DOMAIN_ADMIN = "domain-admin"
