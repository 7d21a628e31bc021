"""Prometheus metrics of one abusedesk process, in a registry of its own (no module globals)."""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest


class Metrics:
    """Everything an operator alerts on: intake, queue, processing, sessions."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.reports_received = Counter(
            "abusedesk_reports_received",
            "Reports offered to abusedesk, by source.",
            ["source"],
            registry=self.registry,
        )
        self.reports_accepted = Counter(
            "abusedesk_reports_accepted",
            "Reports stored durably (answered 250), by source.",
            ["source"],
            registry=self.registry,
        )
        self.reports_rejected = Counter(
            "abusedesk_reports_rejected",
            "Reports refused or deferred, by source and reason.",
            ["source", "reason"],
            registry=self.registry,
        )
        self.reports_processed = Counter(
            "abusedesk_reports_processed",
            "Reports run through the pipeline, by final status.",
            ["status"],
            registry=self.registry,
        )
        self.decisions_failed = Counter(
            "abusedesk_decisions_failed",
            "Decisions that failed and were rolled back; the complaint is kept and retried.",
            registry=self.registry,
        )
        self.processing_latency = Histogram(
            "abusedesk_processing_latency_seconds",
            "From storing a report to processing it.",
            buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
            registry=self.registry,
        )
        self.smtp_sessions = Counter(
            "abusedesk_smtp_sessions", "SMTP connections accepted.", registry=self.registry
        )
        self.smtp_sessions_active = Gauge(
            "abusedesk_smtp_sessions_active", "SMTP connections open now.", registry=self.registry
        )
        self.notices_delivered = Counter(
            "abusedesk_notices_delivered",
            "Notice delivery attempts, by outcome (sent, retry, failed).",
            ["outcome"],
            registry=self.registry,
        )
        self.queue_depth = Gauge(
            "abusedesk_queue_depth",
            "Stored reports waiting to be processed.",
            registry=self.registry,
        )

    def track_queue_depth(self, read_depth: Callable[[], int]) -> None:
        """Read the queue depth from the database each time metrics are scraped."""
        self.queue_depth.set_function(lambda: float(read_depth()))

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
