"""A fault while deciding never loses the complaint: it is kept, the decision retried, and
one that keeps failing is marked failed and shown (metric, `abusedesk doctor`, console).

The worker decides each new complaint in a savepoint of its own (`decide_kept`): when
the rules engine, an action or the database fails there, only the decision is rolled
back. The complaint stays recorded with the error, and the report is settled as
processed, never quarantined — the complaint is a fact whatever the rules do with it.
`retry_failed_decisions` decides such complaints again, a few at a time, until one
succeeds or `MAX_DECISION_ATTEMPTS` have failed; the last good rules keep deciding
everything else meanwhile.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from sqlalchemy import Engine, select
from sqlmodel import Session, col

from abusedesk.decide import PolicyEngine, decide_recorded_complaint
from abusedesk.record.decision_failures import MAX_DECISION_ATTEMPTS

if TYPE_CHECKING:
    from abusedesk.metrics import Metrics  # the Prometheus client only where serve runs
from abusedesk.store.tables import Complaint

log = logging.getLogger(__name__)

RETRY_BATCH = 20


def decide_kept(
    session: Session, complaint: Complaint, policy: PolicyEngine, metrics: Metrics | None = None
) -> bool:
    """Decide `complaint` in a savepoint; on a fault keep the complaint with the error.

    True when the decision was made. The complaint must already be in `session`.
    """
    session.flush()  # the complaint itself is written outside the savepoint
    try:
        with session.begin_nested():
            decide_recorded_complaint(session, complaint, policy)
    except Exception as exc:  # any fault of the rules or the actions: keep the complaint
        log.exception("complaint %s: deciding failed", complaint.id)
        complaint.decision_attempts += 1
        complaint.decision_error = f"{type(exc).__name__}: {exc}"[:2000]
        session.add(complaint)
        if metrics is not None:
            metrics.decisions_failed.inc()
        return False
    if complaint.decision_error is not None:
        complaint.decision_error = None
        session.add(complaint)
    return True


def retry_failed_decisions(
    engine: Engine, policy: PolicyEngine, metrics: Metrics | None = None, limit: int = RETRY_BATCH
) -> int:
    """Decide again the complaints whose decision failed fewer than the maximum times;
    returns how many were decided now. Nodes never retry the same complaint at once."""
    decided = 0
    with Session(engine) as session:
        query = (
            select(Complaint)
            .where(
                col(Complaint.decision_error).is_not(None),
                col(Complaint.decision_attempts) < MAX_DECISION_ATTEMPTS,
            )
            .order_by(col(Complaint.id))
            .limit(limit)
        )
        if engine.dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        for complaint in session.execute(query).scalars().all():
            decided += decide_kept(session, complaint, policy, metrics)
        session.commit()
    return decided
