"""What the policy service did, for `/metrics`: plain counters, read when Prometheus scrapes.

The request path only adds to integers (a labelled Prometheus counter takes a
lock on every increment); the collector turns them into metrics on demand.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from abusedesk.enforce.state import SendState


@dataclass(slots=True)
class PolicyStats:
    requests: int = 0
    rejected: int = 0
    malformed: int = 0
    metering_flush_failures: int = 0


class EnforcementCollector(Collector):
    def __init__(self, state: SendState, stats: PolicyStats | None) -> None:
        self._state = state
        self._stats = stats

    def collect(self) -> Iterator[Metric]:
        yield GaugeMetricFamily(
            "abusedesk_send_state_blocked",
            "Mailboxes that may not send (suspended or deleted), as this node holds them.",
            value=self._state.blocked_count,
        )
        yield GaugeMetricFamily(
            "abusedesk_send_state_version",
            "The database's send-state version this node has applied.",
            value=self._state.version,
        )
        stats = self._stats
        if stats is None:
            return
        answers = CounterMetricFamily(
            "abusedesk_policy_requests",
            "Policy requests answered, by answer.",
            labels=["answer"],
        )
        answers.add_metric(["reject"], stats.rejected)
        answers.add_metric(["dunno"], stats.requests - stats.rejected)
        yield answers
        yield CounterMetricFamily(
            "abusedesk_policy_malformed_requests",
            "Malformed policy requests (the connection was closed unanswered).",
            value=stats.malformed,
        )
        yield CounterMetricFamily(
            "abusedesk_metering_flush_failures",
            "Metering flushes the database refused (the counts were kept for the next).",
            value=stats.metering_flush_failures,
        )
