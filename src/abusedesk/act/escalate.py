"""Open an escalation for a pattern (repeated suspensions, fraudulent signups) once."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select
from sqlmodel import Session, col

from abusedesk.store.tables import Escalation
from abusedesk.store.types import EscalationStatus

EscalationKey = tuple[str, str, str]
"""What an escalation is about: its pattern, scope and scope key."""

# Built once: a flood escalates on every complaint, and nearly always finds it open.
_OPEN = select(
    col(Escalation.pattern), col(Escalation.scope), col(Escalation.scope_key), col(Escalation.id)
).where(
    col(Escalation.scope_key).in_(bindparam("scope_keys", expanding=True)),
    col(Escalation.status) != EscalationStatus.RESOLVED.value,
)


def open_escalations(session: Session, keys: Iterable[EscalationKey]) -> dict[EscalationKey, int]:
    """The ids of the open escalations among `keys`, found with one query."""
    wanted = set(keys)
    if not wanted:
        return {}
    rows = session.connection().execute(_OPEN, {"scope_keys": sorted({k[2] for k in wanted})})
    found: dict[EscalationKey, int] = {}
    for pattern, scope, key, escalation_id in rows:
        if (pattern, scope, key) in wanted and escalation_id is not None:
            found[(pattern, scope, key)] = escalation_id
    return found


def open_escalation(
    session: Session,
    pattern: str,
    scope: str,
    scope_key: str,
    at: datetime,
    decision_id: int,
    evidence: Callable[[], dict[str, Any]],
    known_open: dict[EscalationKey, int] | None = None,
) -> tuple[int, bool]:
    """The id of the escalation for (pattern, scope, key), and whether it was created now.

    One open escalation per pattern and subject: the abuse team reviews a
    pattern once, not once per event that shows it again. `evidence` is only
    gathered when the escalation is opened, since gathering it for a domain or
    company under fire reads many rows. `known_open` is what `open_escalations`
    found for a decision's escalations at once; one opened here is added to it.
    """
    key = (pattern, scope, scope_key)
    known = open_escalations(session, [key]) if known_open is None else known_open
    if key in known:
        return known[key], False
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
    if known_open is not None:
        known_open[key] = escalation.id
    return escalation.id, True
