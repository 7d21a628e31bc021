"""Complaints whose decision failed: how many are being retried, how many failed for good.

The complaint is kept whatever happened while deciding it (`pipeline/decision_retry.py`
retries it); this is what the doctor, the console and the metrics read of them.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlmodel import Session, col

from abusedesk.store.tables import Complaint

MAX_DECISION_ATTEMPTS = 5
"""After this many failures a complaint's decision is failed for good, until a person acts."""


def failed_decisions(session: Session) -> tuple[int, int]:
    """(complaints whose decision is being retried, complaints whose decision failed for good)."""
    given_up = col(Complaint.decision_attempts) >= MAX_DECISION_ATTEMPTS
    rows = session.execute(
        select(given_up, func.count())
        .where(col(Complaint.decision_error).is_not(None))
        .group_by(given_up)
    ).all()
    counts = {bool(failed): int(count) for failed, count in rows}
    return counts.get(False, 0), counts.get(True, 0)
