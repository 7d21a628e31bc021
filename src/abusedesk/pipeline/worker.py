"""Run claimed reports through the pipeline, one transaction per report.

A report whose processing raises is quarantined with the error and the worker
goes on; one that keeps being claimed without finishing (it crashed the process
each time) is quarantined after `MAX_ATTEMPTS`.
"""

from __future__ import annotations

import logging
import os
import socket
from dataclasses import dataclass, field

from sqlalchemy import Engine
from sqlmodel import Session

from abusedesk.attribute import attribute_report
from abusedesk.config import Settings
from abusedesk.ingest.dkim_trust import DnsTxtLookup, dkim_trust
from abusedesk.metrics import Metrics
from abusedesk.parse import parse_report
from abusedesk.pipeline.claims import claim_pending
from abusedesk.record.complaints import RecordOutcome, record_report
from abusedesk.store.directory import DatabaseDirectory
from abusedesk.store.tables import RawReport
from abusedesk.store.types import ReportStatus, utcnow

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5


@dataclass
class ReportWorker:
    engine: Engine
    settings: Settings
    name: str = field(default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}")
    metrics: Metrics | None = None
    dns_lookup: DnsTxtLookup | None = None
    """How DKIM keys are looked up (None: real DNS)."""

    def run_until_idle(self, batch: int = 20) -> int:
        """Process pending reports until none is left; return how many were processed."""
        done = 0
        while claimed := claim_pending(self.engine, self.name, batch):
            for report_id in claimed:
                self.process(report_id)
            done += len(claimed)
        return done

    def process(self, report_id: int) -> RecordOutcome:
        try:
            outcome = self._process(report_id)
        except Exception as exc:  # a bad report must never stop the worker
            log.exception("report %s: processing failed", report_id)
            outcome = self._quarantine(report_id, f"processing failed: {type(exc).__name__}: {exc}")
        log.info(
            "report %s: %s%s",
            report_id,
            outcome.status.value,
            f" ({outcome.reason})" if outcome.reason else "",
        )
        if self.metrics is not None:
            self.metrics.reports_processed.labels(outcome.status.value).inc()
        return outcome

    def _process(self, report_id: int) -> RecordOutcome:
        with Session(self.engine) as session:
            raw_report = session.get(RawReport, report_id)
            if raw_report is None:
                raise LookupError(f"report {report_id} does not exist")
            if raw_report.attempts > MAX_ATTEMPTS:
                session.close()
                return self._quarantine(
                    report_id, f"gave up after {MAX_ATTEMPTS} attempts that did not finish"
                )
            self._check_dkim_trust(raw_report)
            report = parse_report(raw_report.raw)
            directory = DatabaseDirectory(self.engine)
            attribution = attribute_report(report, self.settings.attribution, directory)
            outcome = record_report(session, raw_report, report, attribution)
            session.commit()
            if self.metrics is not None:
                latency = (utcnow() - raw_report.received_at).total_seconds()
                self.metrics.processing_latency.observe(max(latency, 0.0))
            return outcome

    def _check_dkim_trust(self, raw_report: RawReport) -> None:
        """A report not trusted by its peer may still carry a provider's valid DKIM signature."""
        if raw_report.trusted or raw_report.source not in {"smtp", "imap"}:
            return
        verdict = dkim_trust(raw_report.raw, self.settings.providers, self.dns_lookup)
        if verdict is not None:
            raw_report.trusted, raw_report.trust_reason = verdict

    def _quarantine(self, report_id: int, reason: str) -> RecordOutcome:
        with Session(self.engine) as session:
            raw_report = session.get(RawReport, report_id)
            if raw_report is not None:
                raw_report.status = ReportStatus.QUARANTINED.value
                raw_report.reason = reason
                raw_report.processed_at = utcnow()
                raw_report.claimed_at = None
                raw_report.claimed_by = None
                session.commit()
        return RecordOutcome(ReportStatus.QUARANTINED, reason, None)
