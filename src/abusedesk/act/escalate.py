"""Open an escalation for a pattern (repeated suspensions, fraudulent signups) once."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select
from sqlmodel import Session, col

from abusedesk.store.tables import Escalation
from abusedesk.store.types import EscalationStatus

# Built once: a flood escalates on every complaint, and nearly always finds it open.
_OPEN = (
    select(col(Escalation.id))
    .where(
        col(Escalation.scope_key) == bindparam("scope_key"),
        col(Escalation.scope) == bindparam("scope"),
        col(Escalation.pattern) == bindparam("pattern"),
        col(Escalation.status) != EscalationStatus.RESOLVED.value,
    )
    .limit(1)
)


def open_escalation(
    session: Session,
    pattern: str,
    scope: str,
    scope_key: str,
    at: datetime,
    decision_id: int,
    evidence: Callable[[], dict[str, Any]],
) -> tuple[int, bool]:
    """The id of the escalation for (pattern, scope, key), and whether it was created now.

    One open escalation per pattern and subject: the abuse team reviews a
    pattern once, not once per event that shows it again. `evidence` is only
    gathered when the escalation is opened, since gathering it for a domain or
    company under fire reads many rows.
    """
    values = {"scope_key": scope_key, "scope": scope, "pattern": pattern}
    existing = session.connection().execute(_OPEN, values).scalar_one_or_none()
    if existing is not None:
        return int(existing), False
    escalation = Escalation(
        pattern=pattern,
        scope=scope,
        scope_key=scope_key,
        created_at=at,
        decision_id=decision_id,
        evidence=evidence(),
    )
    session.add(escalation)
    session.flush()
    assert escalation.id is not None
    return escalation.id, True
