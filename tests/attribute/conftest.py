"""Shared pieces for attribution tests: the fixture platform's config and directory."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from pathlib import Path

import pytest
from tests.conftest import DEMO

from abusedesk.accounts.csv_reader import read_account_rows
from abusedesk.config import AttributionSettings, load_settings
from abusedesk.parse.received import parse_received_chain
from abusedesk.parse.report import OriginalMessage, Report, ReportFormat, ReportKind

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "fixtures"

MakeReport = Callable[..., Report]


class HostedDirectory:
    """`MailboxDirectory` over a set of addresses and the policy service's queue ids."""

    def __init__(
        self,
        addresses: Iterable[str],
        queue_ids: Mapping[str, str] | None = None,
        span: tuple[datetime | None, datetime | None] = (None, None),
    ):
        self._addresses = {address.casefold() for address in addresses}
        self._queue_ids = dict(queue_ids or {})
        self._span = span
        """When the policy service's records begin and end (None: it keeps none)."""

    def is_hosted(self, address: str) -> bool:
        return address.casefold() in self._addresses

    def sender_for_queue_id(self, queue_id: str) -> str | None:
        return self._queue_ids.get(queue_id)

    def queue_record_span(self) -> tuple[datetime | None, datetime | None]:
        return self._span

    def with_queue_ids(
        self,
        queue_ids: Mapping[str, str],
        span: tuple[datetime | None, datetime | None] = (None, None),
    ) -> HostedDirectory:
        return HostedDirectory(self._addresses, queue_ids, span)


@pytest.fixture(scope="session")
def settings() -> AttributionSettings:
    return load_settings(DEMO / "abusedesk.toml", environ={}).attribution


@pytest.fixture(scope="session")
def directory() -> HostedDirectory:
    return HostedDirectory(row.address for row in read_account_rows(DEMO / "accounts.csv"))


def build_report(
    received: Sequence[str],
    headers: Sequence[tuple[str, str]] = (),
    *,
    source_ip: str | None = None,
) -> Report:
    """A complaint whose original carries `received` (newest first), then `headers`;
    `source_ip` is the feedback report's own Source-IP."""
    return report_from_headers(
        [*(("Received", value) for value in received), *headers], source_ip=source_ip
    )


def report_from_headers(
    headers: Sequence[tuple[str, str]], *, source_ip: str | None = None
) -> Report:
    """A complaint whose original has exactly this header block, in this order."""
    received = [value for name, value in headers if name.lower() == "received"]
    original = OriginalMessage(headers=tuple(headers), received=parse_received_chain(received))
    return Report(
        kind=ReportKind.COMPLAINT, format=ReportFormat.ARF, original=original, source_ip=source_ip
    )


@pytest.fixture
def make_report() -> MakeReport:
    return build_report
