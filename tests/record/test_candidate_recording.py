"""An unproven complaint is recorded charged to nobody, with its candidate, and counts nowhere."""

from __future__ import annotations

from sqlalchemy import Engine, func, select
from sqlmodel import Session, col
from tests.support.candidates import (
    FORGED_REASON,
    complaint_of,
    record_candidate,
    unproven,
)
from tests.support.reports import outsider_forgery

from abusedesk.attribute.attribution import (
    Attribution,
    AttributionMethod,
    AttributionOutcome,
    Confidence,
)
from abusedesk.parse import parse_report
from abusedesk.record.complaints import ComplaintRecorder, StoredReport
from abusedesk.record.identity import dedupe_key
from abusedesk.store.tables import ComplaintVolume, Mailbox, RawReport


def mailbox_id(engine: Engine, address: str) -> int:
    with Session(engine) as session:
        found = session.execute(
            select(col(Mailbox.id)).where(col(Mailbox.address) == address)
        ).scalar_one()
    return int(found)


def buckets(engine: Engine) -> int:
    with Session(engine) as session:
        total = session.execute(select(func.sum(col(ComplaintVolume.complaints)))).scalar()
    return int(total or 0)


def test_the_candidate_is_recorded_beside_no_charge_and_counts_nowhere(
    directory_engine: Engine,
) -> None:
    report_id, recorded = record_candidate(
        directory_engine, outsider_forgery(1), unproven("Alice@Shop.example")
    )
    complaint = complaint_of(directory_engine, report_id)
    assert (complaint.mailbox_id, complaint.domain_id, complaint.attribution_method) == (
        None,
        None,
        None,
    )
    assert complaint.candidate_mailbox == "alice@shop.example"
    assert complaint.candidate_mailbox_id == mailbox_id(directory_engine, "alice@shop.example")
    assert complaint.candidate_evidence == (
        "a hop by relay1.out.hostingplatform.example names (Authenticated sender: "
        "Alice@Shop.example), below a hop only attacker.example wrote"
    )
    assert complaint.unattributed_reason == FORGED_REASON
    assert recorded.new and buckets(directory_engine) == 0  # counted for nobody
    with Session(directory_engine) as session:
        raw = session.get(RawReport, report_id)
        assert raw is not None
        assert raw.status == "quarantined"
        assert raw.reason == f"unattributed complaint: {FORGED_REASON}"


def test_a_candidate_that_is_not_hosted_is_kept_without_a_mailbox(
    directory_engine: Engine,
) -> None:
    report_id, _ = record_candidate(
        directory_engine,
        outsider_forgery(2, "someone@elsewhere.example"),
        unproven("someone@elsewhere.example"),
    )
    complaint = complaint_of(directory_engine, report_id)
    assert complaint.candidate_mailbox == "someone@elsewhere.example"
    assert complaint.candidate_mailbox_id is None and complaint.mailbox_id is None


def test_a_proof_found_on_reprocessing_replaces_the_candidate_and_counts(
    directory_engine: Engine,
) -> None:
    raw = outsider_forgery(3)
    report_id, _ = record_candidate(directory_engine, raw, unproven("alice@shop.example"))
    proven = AttributionOutcome(
        Attribution(
            "alice@shop.example",
            AttributionMethod.QUEUE_ID,
            "our policy service recorded alice@shop.example submitting F00000003",
            Confidence.HIGH,
            queue_id="F00000003",
        )
    )
    report = parse_report(raw)
    key = dedupe_key(report, raw)
    with Session(directory_engine) as session:
        stored = session.get(RawReport, report_id)
        assert stored is not None
        again = ComplaintRecorder(session, [key], ["alice@shop.example"]).record(
            StoredReport(report_id, True, stored.received_at), report, proven, key
        )
        session.commit()
    assert not again.new and again.status.value == "processed"
    complaint = complaint_of(directory_engine, report_id)
    assert complaint.mailbox_id == mailbox_id(directory_engine, "alice@shop.example")
    assert (complaint.candidate_mailbox, complaint.candidate_evidence) == (None, None)
    assert complaint.unattributed_reason is None
    assert buckets(directory_engine) == 1
