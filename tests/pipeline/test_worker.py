"""The processing queue: claims, parse → attribute → record, dedupe, quarantine."""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, update
from sqlmodel import Session
from tests.conftest import CORPUS, FIXTURES

from abusedesk.config import Settings
from abusedesk.ingest.spool import IncomingReport, store_reports
from abusedesk.pipeline import worker as worker_module
from abusedesk.pipeline.claims import claim_pending
from abusedesk.pipeline.worker import MAX_ATTEMPTS, ReportWorker
from abusedesk.record.complaints import ComplaintRecorder
from abusedesk.store.engine import create_database_engine
from abusedesk.store.tables import Complaint, Mailbox, RawReport
from abusedesk.store.types import ReportSource, utcnow

ATTRIBUTION = FIXTURES / "reports" / "attribution"


def store(engine: Engine, *paths: Path, trusted: bool = True) -> list[int]:
    return store_reports(
        engine,
        [
            IncomingReport(
                raw=path.read_bytes(),
                source=ReportSource.FILE,
                trusted=trusted,
                trust_reason="test",
            )
            for path in paths
        ],
    )


def raw_report(engine: Engine, report_id: int) -> RawReport:
    with Session(engine) as session:
        found = session.get(RawReport, report_id)
        assert found is not None
        return found


def complaints(engine: Engine) -> list[tuple[str, str | None, str | None]]:
    with Session(engine) as session:
        rows = session.execute(
            select(Complaint.kind, Mailbox.address, Complaint.attribution_method)
            .join(Mailbox, Mailbox.id == Complaint.mailbox_id, isouter=True)  # type: ignore[arg-type]
            .order_by(Complaint.id)
        ).all()
    return [tuple(row) for row in rows]  # type: ignore[misc]


def an_attributable_fixture() -> Path:
    for path in sorted(ATTRIBUTION.glob("*.eml")):
        if b"alice@shop.example" in path.read_bytes().lower() and b"relay1" in path.read_bytes():
            return path
    raise AssertionError("no fixture of a report sent by alice through our relay")


def test_attributed_complaint_is_recorded_once(
    settings: Settings, directory_engine: Engine
) -> None:
    engine = directory_engine
    fixture = an_attributable_fixture()
    first, again = store(engine, fixture, fixture)
    worker = ReportWorker(engine, settings)
    assert worker.run_until_idle() == 2
    assert raw_report(engine, first).status == "processed"
    duplicate = raw_report(engine, again)
    assert duplicate.status == "processed"
    assert duplicate.reason == f"duplicate of report {first}; counted once"
    recorded = complaints(engine)
    assert len(recorded) == 1
    kind, mailbox, method = recorded[0]
    assert kind == "complaint" and mailbox == "alice@shop.example" and method is not None


def test_same_report_with_other_transport_headers_counts_once(
    settings: Settings, directory_engine: Engine, tmp_path: Path
) -> None:
    fixture = an_attributable_fixture()
    relayed = tmp_path / "via-imap.eml"
    relayed.write_bytes(
        b"Received: from mx.other.example by imap.example; Fri, 27 Nov 2026 10:00:00 +0000\r\n"
        + fixture.read_bytes().replace(b"\n", b"\r\n")
    )
    store(directory_engine, fixture, relayed)
    ReportWorker(directory_engine, settings).run_until_idle()
    assert len(complaints(directory_engine)) == 1


def test_spoofed_complaint_is_quarantined_unattributed(
    settings: Settings, directory_engine: Engine
) -> None:
    [report_id] = store(directory_engine, CORPUS / "01-rfc5965-b1-minimal-abuse.eml")
    ReportWorker(directory_engine, settings).run_until_idle()
    stored = raw_report(directory_engine, report_id)
    assert stored.status == "quarantined"
    assert stored.reason is not None and stored.reason.startswith("unattributed complaint:")
    assert complaints(directory_engine) == [("complaint", None, None)]


def test_a_bounce_is_quarantined_as_not_a_report(settings: Settings, engine: Engine) -> None:
    [report_id] = store(engine, CORPUS / "51-negative-dsn-mentions-user-complaints.eml")
    ReportWorker(engine, settings).run_until_idle()
    stored = raw_report(engine, report_id)
    assert stored.status == "quarantined"
    assert stored.reason is not None and stored.reason.startswith("not a feedback report")
    assert complaints(engine) == []


def test_processing_error_quarantines_and_the_worker_goes_on(
    settings: Settings, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    bad, good = store(
        engine,
        CORPUS / "02-rfc5965-b2-extended-abuse.eml",
        CORPUS / "01-rfc5965-b1-minimal-abuse.eml",
    )
    real_parse = worker_module.parse_report

    def failing_parse(raw: bytes):  # type: ignore[no-untyped-def]
        if b"Extended" in raw or b"extended" in raw or b"Removal-Recipient" in raw:
            raise RuntimeError("injected failure")
        return real_parse(raw)

    monkeypatch.setattr(worker_module, "parse_report", failing_parse)
    assert ReportWorker(engine, settings).run_until_idle() == 2
    assert raw_report(engine, bad).status == "quarantined"
    assert raw_report(engine, bad).reason == "processing failed: RuntimeError: injected failure"
    assert raw_report(engine, good).status != "pending"


def test_report_that_keeps_crashing_the_worker_is_given_up(
    settings: Settings, engine: Engine
) -> None:
    [report_id] = store(engine, CORPUS / "01-rfc5965-b1-minimal-abuse.eml")
    with engine.begin() as connection:
        connection.execute(update(RawReport).values(attempts=MAX_ATTEMPTS))
    ReportWorker(engine, settings).run_until_idle()
    stored = raw_report(engine, report_id)
    assert stored.status == "quarantined" and "gave up after" in (stored.reason or "")


class WorkerDied(BaseException):
    """Stands for what kills a worker process outright (no `except Exception` sees it)."""


def test_a_report_that_killed_its_worker_takes_no_other_report_with_it(
    settings: Settings, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = store(engine, *sorted(CORPUS.glob("*.eml"))[:6])
    poison = ids[1]
    poison_bytes = raw_report(engine, poison).raw
    real_parse = worker_module.parse_report

    def deadly_parse(raw: bytes) -> object:
        if raw == poison_bytes:
            raise WorkerDied
        return real_parse(raw)

    monkeypatch.setattr(worker_module, "parse_report", deadly_parse)

    def lease_runs_out() -> None:
        with engine.begin() as connection:
            connection.execute(
                update(RawReport)
                .where(RawReport.claimed_at.is_not(None))  # type: ignore[union-attr]
                .values(claimed_at=utcnow() - timedelta(hours=1))
            )

    deaths = 0
    while True:  # the worker dies on it, is restarted, …
        try:
            ReportWorker(engine, settings, name=f"worker-{deaths}").run_until_idle()
        except WorkerDied:
            deaths += 1
            assert deaths <= MAX_ATTEMPTS, "the report that kills workers was never given up"
            lease_runs_out()
        else:
            break

    stored = {report_id: raw_report(engine, report_id) for report_id in ids}
    assert "gave up after" in (stored[poison].reason or "")
    for report_id in ids:
        if report_id != poison:
            assert stored[report_id].status != "pending"
            assert "gave up" not in (stored[report_id].reason or ""), report_id
            assert stored[report_id].attempts <= 2, "another report's crash counted against it"


def test_claims_are_exclusive_and_expire(engine: Engine) -> None:
    ids = store(engine, *sorted(CORPUS.glob("*.eml"))[:20])
    results: dict[str, list[int]] = {}

    def claim(name: str) -> None:
        results[name] = claim_pending(engine, name, 7)

    threads = [threading.Thread(target=claim, args=(f"w{i}",)) for i in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    claimed = [i for got in results.values() for i in got]
    assert len(claimed) == len(set(claimed)), "a report was claimed twice"
    assert sorted(claimed) == sorted(ids)  # three workers x 7 cover all 20
    assert claim_pending(engine, "late", 100) == []
    # A worker that died: its lease runs out and the reports are claimed again.
    with engine.begin() as connection:
        connection.execute(update(RawReport).values(claimed_at=utcnow() - timedelta(hours=1)))
    assert claim_pending(engine, "rescuer", 100) == sorted(ids)


def test_recording_failure_quarantines_only_that_report(
    settings: Settings, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = store(
        engine,
        CORPUS / "01-rfc5965-b1-minimal-abuse.eml",
        CORPUS / "03-rfc6591-authfail-dkim-bodyhash.eml",
    )
    real_record = ComplaintRecorder.record

    def failing_record(self, raw_report, report, outcome, key):  # type: ignore[no-untyped-def]
        if raw_report.id == first:
            real_record(self, raw_report, report, outcome, key)  # writes, then fails
            raise RuntimeError("injected failure while recording")
        return real_record(self, raw_report, report, outcome, key)

    monkeypatch.setattr(ComplaintRecorder, "record", failing_record)
    write_engine = create_database_engine(
        str(engine.url.render_as_string(hide_password=False)), for_worker=True
    )
    ReportWorker(engine, settings, write_engine=write_engine).run_until_idle()
    write_engine.dispose()
    assert raw_report(engine, first).status == "quarantined"
    assert (
        raw_report(engine, first).reason
        == "processing failed: RuntimeError: injected failure while recording"
    )
    assert raw_report(engine, second).status == "processed"
    assert [kind for kind, _, _ in complaints(engine)] == ["auth-failure"]  # the first rolled back
