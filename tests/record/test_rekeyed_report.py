"""A report recorded under an older dedupe key is updated in place when processed again."""

from __future__ import annotations

from sqlalchemy import Engine, func, select
from sqlmodel import Session, col
from tests.support.candidates import record_candidate, unproven
from tests.support.reports import outsider_forgery

from abusedesk.parse import parse_report
from abusedesk.record.complaints import ComplaintRecorder, StoredReport
from abusedesk.store.tables import Complaint, RawReport


def test_a_report_keyed_differently_before_keeps_its_one_complaint(
    directory_engine: Engine,
) -> None:
    raw = outsider_forgery(1)
    report_id, _ = record_candidate(directory_engine, raw, unproven("alice@shop.example"))
    with Session(directory_engine) as session:
        # As a report stored before a change in how reports are keyed.
        complaint = session.execute(select(Complaint)).scalar_one()
        complaint.dedupe_key = "mid:keyed-by-an-older-version"
        session.add(complaint)
        session.commit()

    with Session(directory_engine) as session:
        stored = session.get(RawReport, report_id)
        assert stored is not None
        recorder = ComplaintRecorder(session, ["body:new-key"], [], [report_id])
        outcome = recorder.record(
            StoredReport(report_id, True, stored.received_at),
            parse_report(raw),
            unproven("alice@shop.example"),
            "body:new-key",
        )
        session.commit()

    assert outcome.complaint is not None and not outcome.new
    with Session(directory_engine) as session:
        keys = session.execute(select(col(Complaint.dedupe_key))).scalars().all()
        count = session.execute(select(func.count()).select_from(Complaint)).scalar_one()
    assert (count, keys) == (1, ["body:new-key"])
