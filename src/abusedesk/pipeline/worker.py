"""Run claimed reports through the pipeline: parse and attribute, then record and decide.

The slow part (parsing, attribution, DKIM look-ups) runs outside any write
transaction; a claimed batch is then recorded, each new complaint decided by
the rules, and every report settled, in one short transaction. A report whose
processing raises is quarantined with the error and the others go on (when
recording fails, the batch is recorded again with each report in a savepoint of
its own). A report claimed again after its worker died is processed alone; one
that keeps being claimed without finishing (it crashed the process each time)
is quarantined after `MAX_ATTEMPTS`.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, Row, bindparam, select, update
from sqlmodel import Session, col

from abusedesk.attribute import AttributionOutcome, MailboxDirectory, attribute_report
from abusedesk.config import Settings
from abusedesk.decide import PolicyEngine
from abusedesk.decide.locks import lock_batch
from abusedesk.ingest.dkim_trust import DnsTxtLookup, dkim_trust
from abusedesk.parse import Report, parse_report
from abusedesk.pipeline.claims import Claim, claim_reports, release_claims
from abusedesk.pipeline.decision_retry import decide_kept, retry_failed_decisions
from abusedesk.record.complaints import ComplaintRecorder, RecordOutcome, StoredReport
from abusedesk.record.identity import ReportIdentity, report_identity
from abusedesk.store.directory import CachedDirectory, DatabaseDirectory
from abusedesk.store.tables import RawReport
from abusedesk.store.types import ReportStatus, utcnow

if TYPE_CHECKING:
    # Only `serve` counts: the Prometheus client is not loaded by `abusedesk ingest`.
    from abusedesk.metrics import Metrics

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
BATCH = 50

# Built once: for a batch of a few reports, building the statements cost more than
# running them. Plain columns, not ORM objects: the worker needs only these.
_TO_PREPARE = select(
    col(RawReport.id),
    col(RawReport.raw),
    col(RawReport.received_at),
    col(RawReport.attempts),
    col(RawReport.trusted),
    col(RawReport.source),
).where(col(RawReport.id).in_(bindparam("ids", expanding=True)))
_TO_RECORD = select(
    col(RawReport.id),
    col(RawReport.status),
    col(RawReport.reason),
    col(RawReport.trusted),
    col(RawReport.trust_reason),
    col(RawReport.received_at),
).where(col(RawReport.id).in_(bindparam("ids", expanding=True)))
"""The raw bytes were read once already; the write transaction does not need them."""
_SETTLE = (
    update(RawReport)
    .where(col(RawReport.id) == bindparam("report_id"))
    .values(
        status=bindparam("new_status"),
        reason=bindparam("new_reason"),
        trusted=bindparam("new_trusted"),
        trust_reason=bindparam("new_trust_reason"),
        processed_at=bindparam("now"),
        claimed_at=None,
        claimed_by=None,
    )
)
"""Every settled report of a batch in one statement (executed for many)."""

StoredRow = Row[*tuple[Any, ...]]
"""A row of `_TO_PREPARE` or `_TO_RECORD`, read by column name."""
Settlement = dict[str, Any]
"""The parameters of `_SETTLE` for one report, but the time."""


@dataclass(frozen=True, slots=True)
class PreparedReport:
    """What was worked out for one report before the write transaction."""

    report_id: int
    received_at: datetime | None = None
    report: Report | None = None
    attribution: AttributionOutcome | None = None
    trust: tuple[bool, str] | None = None
    dedupe_key: str | None = None
    failure: str | None = None
    """Why the report must be quarantined instead of recorded."""


@dataclass(frozen=True, slots=True)
class ProcessedReport:
    """What became of one processed report: what the metrics count."""

    report_id: int
    status: ReportStatus
    latency_seconds: float | None
    """From storing the report to settling it."""


ProcessedObserver = Callable[[Sequence[ProcessedReport]], None]


def count_processed(metrics: Metrics, processed: Sequence[ProcessedReport]) -> None:
    for item in processed:
        metrics.reports_processed.labels(item.status.value).inc()
        if item.latency_seconds is not None:
            metrics.processing_latency.observe(item.latency_seconds)


@dataclass
class ReportWorker:
    engine: Engine
    """Reads: raw reports, the account directory."""
    settings: Settings
    write_engine: Engine | None = None
    """Writes (default: `engine`); `create_database_engine(url, for_worker=True)` suits it."""
    name: str = field(default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}")
    metrics: Metrics | None = None
    dns_lookup: DnsTxtLookup | None = None
    """How DKIM keys are looked up (None: real DNS)."""
    policy: PolicyEngine | None = None
    """Decides each newly recorded complaint (None: record only)."""
    on_processed: ProcessedObserver | None = None
    """Told about every processed batch (a worker process reports to its service)."""
    retry_interval: float = 30.0
    """Seconds between retries of the decisions that failed (`pipeline/decision_retry.py`)."""
    _next_retry: float = field(default=0.0, init=False, repr=False)

    def run_until_idle(
        self,
        batch: int = BATCH,
        keep_going: Callable[[], bool] = lambda: True,
        linger: float = 0.0,
    ) -> int:
        """Process pending reports until none is left (or `keep_going` says stop between
        batches); return how many were processed.

        After a batch that was not full, wait `linger` seconds before claiming the
        next: reports that trickle in are then processed a batch at a time rather
        than one by one, which costs a fraction per report. A report claimed before
        by a worker that did not finish is processed in a batch of its own: if it is
        what killed that worker, it takes no other report with it again (and the
        others' attempts are not spent on it).
        """
        done = 0
        self._retry_failed_decisions_when_due()
        while keep_going() and (claimed := self._claim(batch)):
            fresh = [claim.report_id for claim in claimed if claim.attempts <= 1]
            retried = [claim.report_id for claim in claimed if claim.attempts > 1]
            if fresh:
                self.process_batch(fresh)
            if retried:
                # One at a time: the others go back to the queue as they were (their
                # attempts not counted), for the next rounds.
                release_claims(self.write_engine or self.engine, self.name, retried[1:])
                self.process_batch(retried[:1])
            done += len(fresh) + min(len(retried), 1)
            if len(claimed) < batch and linger > 0:
                time.sleep(linger)
        return done

    def _retry_failed_decisions_when_due(self) -> None:
        if self.policy is None or time.monotonic() < self._next_retry:
            return
        self._next_retry = time.monotonic() + self.retry_interval
        try:
            retry_failed_decisions(self.write_engine or self.engine, self.policy, self.metrics)
        except Exception:  # the retry is best effort: the reports must still flow
            log.exception("retrying failed decisions failed; again in %ss", self.retry_interval)

    def _claim(self, batch: int) -> list[Claim]:
        # A claim is a lease: one lost to a power cut only lets the report be claimed
        # again, so it is written by the engine that does not wait for the disk.
        return claim_reports(self.write_engine or self.engine, self.name, batch)

    def process_batch(self, report_ids: list[int]) -> list[RecordOutcome]:
        prepared = self._prepare_batch(report_ids)
        try:
            outcomes = self._record_batch(report_ids, prepared, isolated=False)
        except Exception as exc:
            # Recording one report failed and the whole transaction was rolled back:
            # record the batch again, each report in a savepoint of its own, so that
            # only the one that fails is quarantined. (Savepoints for every report
            # would cost more than the rare second pass.)
            log.warning(
                "batch of %d reports: recording failed (%s); again, one by one", len(prepared), exc
            )
            outcomes = self._record_batch(report_ids, prepared, isolated=True)
        now = utcnow()
        processed = []
        for item, outcome in zip(prepared, outcomes, strict=True):
            log.info(
                "report %s: %s%s",
                item.report_id,
                outcome.status.value,
                f" ({outcome.reason})" if outcome.reason else "",
            )
            latency = None
            if item.received_at is not None:
                latency = max((now - item.received_at).total_seconds(), 0.0)
            processed.append(ProcessedReport(item.report_id, outcome.status, latency))
        if self.metrics is not None:
            count_processed(self.metrics, processed)
        if self.on_processed is not None:
            self.on_processed(processed)
        return outcomes

    def _record_batch(
        self, report_ids: list[int], prepared: list[PreparedReport], *, isolated: bool
    ) -> list[RecordOutcome]:
        """Record and decide the batch in one transaction; settle its reports; commit."""
        keys = [item.dedupe_key for item in prepared if item.dedupe_key]
        addresses = [
            item.attribution.attribution.mailbox
            for item in prepared
            if item.attribution and item.attribution.attribution
        ]
        with Session(self.write_engine or self.engine) as session:
            # Locks first, so that what is read next includes what a worker that held
            # them committed (decide/locks.py).
            lock_batch(session, addresses, keys)
            rows = {row.id: row for row in session.execute(_TO_RECORD, {"ids": report_ids})}
            recorder = ComplaintRecorder(session, keys, addresses, report_ids)
            results = [
                self._record(session, recorder, rows.get(item.report_id), item, isolated)
                for item in prepared
            ]
            settlements = [settlement for _, settlement in results if settlement is not None]
            if settlements:
                now = utcnow()
                session.connection().execute(_SETTLE, [{**s, "now": now} for s in settlements])
            session.commit()
        return [outcome for outcome, _ in results]

    def _prepare_batch(self, report_ids: list[int]) -> list[PreparedReport]:
        with self.engine.connect() as connection:
            found = {row.id: row for row in connection.execute(_TO_PREPARE, {"ids": report_ids})}
        directory = CachedDirectory(DatabaseDirectory(self.engine))
        return [
            self._prepare(report_id, found.get(report_id), directory) for report_id in report_ids
        ]

    def _prepare(
        self, report_id: int, row: StoredRow | None, directory: MailboxDirectory
    ) -> PreparedReport:
        if row is None:
            return PreparedReport(report_id, failure=f"report {report_id} does not exist")
        if row.attempts > MAX_ATTEMPTS:
            failure = f"gave up after {MAX_ATTEMPTS} attempts that did not finish"
            return PreparedReport(report_id, row.received_at, failure=failure)
        try:
            parsed = parse_report(row.raw)
            identity = report_identity(parsed, row.raw)
            report = identity.noted(parsed)
            trust = self._dkim_trust(row, identity)
            attribution = attribute_report(report, self.settings.attribution, directory)
        except Exception as exc:  # a bad report must never stop the worker
            log.exception("report %s: processing failed", report_id)
            return PreparedReport(report_id, row.received_at, failure=_failure(exc))
        return PreparedReport(report_id, row.received_at, report, attribution, trust, identity.key)

    def _dkim_trust(self, row: StoredRow, identity: ReportIdentity) -> tuple[bool, str] | None:
        """A report not trusted by its peer may still carry a provider's valid DKIM signature
        (one that covers what the report is counted by)."""
        if row.trusted or row.source not in {"smtp", "imap"}:
            return None
        return dkim_trust(row.raw, self.settings.providers, self.dns_lookup, identity=identity)

    def _record(
        self,
        session: Session,
        recorder: ComplaintRecorder,
        row: StoredRow | None,
        item: PreparedReport,
        isolated: bool,
    ) -> tuple[RecordOutcome, Settlement | None]:
        """What became of the report, and how to settle it (None: leave it as it is)."""
        if row is None:
            return RecordOutcome(ReportStatus.QUARANTINED, item.failure, None), None
        if row.status != ReportStatus.PENDING.value:
            # Its lease ran out and another worker finished it meanwhile.
            return RecordOutcome(ReportStatus(row.status), row.reason, None), None
        as_stored = (row.trusted, row.trust_reason)
        if item.failure is not None or item.report is None or item.attribution is None:
            outcome = RecordOutcome(
                ReportStatus.QUARANTINED, item.failure or "nothing to record", None
            )
            return outcome, _settlement(row.id, outcome, as_stored)
        assert item.dedupe_key is not None
        trust = item.trust or as_stored
        stored = StoredReport(row.id, trust[0], row.received_at)
        if not isolated:
            outcome = self._record_and_decide(session, recorder, stored, item)
            return outcome, _settlement(row.id, outcome, trust)
        try:
            with session.begin_nested():
                outcome = self._record_and_decide(session, recorder, stored, item)
        except Exception as exc:
            log.exception("report %s: recording failed", item.report_id)
            recorder.forget(item.dedupe_key)
            outcome = RecordOutcome(ReportStatus.QUARANTINED, _failure(exc), None)
            return outcome, _settlement(row.id, outcome, as_stored)
        return outcome, _settlement(row.id, outcome, trust)

    def _record_and_decide(
        self,
        session: Session,
        recorder: ComplaintRecorder,
        stored: StoredReport,
        item: PreparedReport,
    ) -> RecordOutcome:
        assert item.report is not None and item.attribution is not None and item.dedupe_key
        outcome = recorder.record(stored, item.report, item.attribution, item.dedupe_key)
        complaint = outcome.complaint
        if self.policy is None or not outcome.new or complaint is None:
            return outcome
        if complaint.mailbox_id is None or decide_kept(
            session, complaint, self.policy, self.metrics
        ):
            return outcome
        note = f"recorded; deciding failed and will be retried: {complaint.decision_error}"
        return replace(outcome, reason=note)


def _failure(exc: Exception) -> str:
    return f"processing failed: {type(exc).__name__}: {exc}"


def _settlement(
    report_id: int, outcome: RecordOutcome, trust: tuple[bool, str | None]
) -> Settlement:
    return {
        "report_id": report_id,
        "new_status": outcome.status.value,
        "new_reason": outcome.reason,
        "new_trusted": trust[0],
        "new_trust_reason": trust[1],
    }
