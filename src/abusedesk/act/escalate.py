"""Open an escalation for a pattern (repeated suspensions, fraudulent signups) once."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlmodel import Session, col

from abusedesk.store.tables import Escalation
from abusedesk.store.types import EscalationStatus


def open_escalation(
    session: Session,
    pattern: str,
    scope: str,
    scope_key: str,
    at: datetime,
    decision_id: int,
    evidence: dict[str, Any],
) -> tuple[Escalation, bool]:
    """The escalation for (pattern, scope, key), and whether it was created now.

    One open escalation per pattern and subject: the abuse team reviews a
    pattern once, not once per event that shows it again.
    """
    existing = session.execute(
        select(Escalation)
        .where(
            col(Escalation.scope_key) == scope_key,
            col(Escalation.scope) == scope,
            col(Escalation.pattern) == pattern,
            col(Escalation.status) != EscalationStatus.RESOLVED.value,
        )
        .limit(1)
    ).scalar_one_or_none()
    if existing is not None:
        return existing, False
    escalation = Escalation(
        pattern=pattern,
        scope=scope,
        scope_key=scope_key,
        created_at=at,
        decision_id=decision_id,
        evidence=evidence,
    )
    session.add(escalation)
    session.flush()
    return escalation, True
