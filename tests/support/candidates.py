"""Unproven complaints with a candidate, recorded as the worker records them.

`record_candidate` stores a real report, parses it, and has the real recorder
record it with the outcome attribution gives a complaint it cannot prove (no
mailbox, the reason, the candidate), then settles the report as the worker
does: such a complaint goes to the quarantine.
"""

from __future__ import annotations

from sqlalchemy import Engine, select
from sqlmodel import Session, col

from abusedesk.attribute.attribution import AttributionOutcome, Candidate
from abusedesk.ingest.spool import IncomingReport, store_reports
from abusedesk.parse import parse_report
from abusedesk.record.complaints import ComplaintRecorder, RecordOutcome, StoredReport
from abusedesk.record.identity import dedupe_key
from abusedesk.store.tables import Complaint, RawReport
from abusedesk.store.types import ReportSource, utcnow

FORGED_REASON = (
    "the provider received it from 203.0.113.66, not from our relays: the hops below its "
    "receipt were written by attacker.example"
)
FORGED_EVIDENCE = (
    "a hop by relay1.out.hostingplatform.example names (Authenticated sender: {mailbox}), "
    "below a hop only attacker.example wrote"
)


def unproven(candidate: str, reason: str = FORGED_REASON) -> AttributionOutcome:
    """What attribution says of a complaint whose path through our relays is not proven."""
    evidence = FORGED_EVIDENCE.format(mailbox=candidate)
    return AttributionOutcome(None, reason, Candidate(candidate, evidence))


def record_candidate(
    engine: Engine,
    raw: bytes,
    outcome: AttributionOutcome,
    *,
    trusted: bool = True,
) -> tuple[int, RecordOutcome]:
    """Store `raw`, record its complaint with `outcome`, settle it; its report id and outcome."""
    [report_id] = store_reports(
        engine,
        [IncomingReport(raw=raw, source=ReportSource.FILE, trusted=trusted, trust_reason="test")],
    )
    report = parse_report(raw)
    key = dedupe_key(report, raw)
    with Session(engine) as session:
        stored = session.get(RawReport, report_id)
        assert stored is not None
        recorder = ComplaintRecorder(session, [key], [])
        recorded = recorder.record(
            StoredReport(report_id, trusted, stored.received_at), report, outcome, key
        )
        stored.status = recorded.status.value
        stored.reason = recorded.reason
        stored.processed_at = utcnow()
        session.add(stored)
        session.commit()
    return report_id, recorded


def complaint_of(engine: Engine, report_id: int) -> Complaint:
    """The complaint recorded for the raw report `report_id`."""
    with Session(engine) as session:
        found: Complaint = session.execute(
            select(Complaint).where(col(Complaint.raw_report_id) == report_id)
        ).scalar_one()
    return found
