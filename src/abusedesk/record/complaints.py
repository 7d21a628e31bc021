"""Store what a report says as a `Complaint`, once per report, and settle the report's status.

A complaint that nothing proves one of our mailboxes sent is charged to no
mailbox and counts nowhere; the candidate its unproven evidence names is stored
beside it for staff to review (`act/charge.py` charges one by hand).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, select
from sqlmodel import Session, col

from abusedesk.attribute.attribution import AttributionOutcome
from abusedesk.parse.report import Report, ReportKind
from abusedesk.record.buckets import counted, move_complaint
from abusedesk.store.tables import Complaint, Mailbox, RawReport
from abusedesk.store.types import ReportStatus

# An Arrival-Date further ahead than this (clock skew) or older than this before we
# received the report is not believed: the report's own receipt time is used instead.
MAX_FUTURE_SKEW = timedelta(hours=1)
MAX_REPORT_DELAY = timedelta(days=365)


# Built once: building them cost more than running them, for every batch.
_COMPLAINTS_BY_KEY = select(
    col(Complaint.dedupe_key), col(Complaint.id), col(Complaint.raw_report_id)
).where(col(Complaint.dedupe_key).in_(bindparam("keys", expanding=True)))
_COMPLAINTS_BY_REPORT = select(col(Complaint.raw_report_id), col(Complaint.id)).where(
    col(Complaint.raw_report_id).in_(bindparam("ids", expanding=True))
)
_MAILBOXES = select(col(Mailbox.address), col(Mailbox.id), col(Mailbox.domain_id)).where(
    col(Mailbox.address).in_(bindparam("addresses", expanding=True))
)


@dataclass(frozen=True, slots=True)
class _Recorded:
    """A complaint already in the database: enough to tell a duplicate from a reprocessing."""

    id: int
    raw_report_id: int


@dataclass(frozen=True, slots=True)
class RecordOutcome:
    status: ReportStatus
    """What the raw report's status becomes."""
    reason: str | None
    complaint: Complaint | None
    """The complaint recorded for the report, in the recording session (None when it
    records none, a duplicate's included); a new one is written to the database when
    the session next flushes (before any query)."""
    new: bool = False
    """True the first time this report's complaint was recorded (not on reprocessing)."""


def complaint_time(report: Report, received_at: datetime) -> datetime:
    """When the complaint happened: a sane Arrival-Date, else when we received the report."""
    arrival = report.arrival_date
    if arrival is None:
        return received_at
    if arrival > received_at + MAX_FUTURE_SKEW or arrival < received_at - MAX_REPORT_DELAY:
        return received_at
    return arrival


@dataclass(frozen=True, slots=True)
class StoredReport:
    """What recording needs of a stored raw report."""

    id: int
    trusted: bool
    """Whether its sender is trusted (a provider's peer address or DKIM signature)."""
    received_at: datetime


class ComplaintRecorder:
    """Records the complaints of one batch of reports in one session.

    What the batch needs from the database (complaints already recorded under its
    dedupe keys, the ids of its mailboxes) is read in one query each, not one a report.
    Recording says what the raw report's status becomes (`RecordOutcome`); writing
    it is the caller's, with the rest of the batch's.
    """

    def __init__(
        self,
        session: Session,
        keys: Iterable[str],
        addresses: Iterable[str],
        report_ids: Iterable[int] = (),
    ) -> None:
        self._session = session
        wanted = set(keys)
        self._complaints: dict[str, Complaint | _Recorded | None] = dict.fromkeys(wanted)
        if wanted:
            found = session.execute(_COMPLAINTS_BY_KEY, {"keys": list(wanted)})
            self._complaints.update((key, _Recorded(id_, raw)) for key, id_, raw in found)
        # A report recorded before under another key (how a report is keyed can change
        # between versions): processing it again updates that complaint, never adds one.
        ids = list(report_ids)
        self._by_report: dict[int, int] = {}
        if ids:
            rows = session.execute(_COMPLAINTS_BY_REPORT, {"ids": ids})
            self._by_report = {raw: id_ for raw, id_ in rows}
        lowered = {address.lower() for address in addresses}
        self._mailboxes: dict[str, tuple[int | None, int | None]] = dict.fromkeys(
            lowered, (None, None)
        )
        if lowered:
            rows = session.exec(_MAILBOXES, params={"addresses": list(lowered)}).all()  # type: ignore[call-overload]
            self._mailboxes.update((address, (id_, domain)) for address, id_, domain in rows)

    def forget(self, key: str) -> None:
        """What was recorded under `key` was rolled back: look it up again next time."""
        self._complaints.pop(key, None)

    def record(
        self, raw_report: StoredReport, report: Report, outcome: AttributionOutcome, key: str
    ) -> RecordOutcome:
        """Create or update the complaint for `raw_report`; say what its status becomes.

        Recording the same raw report again updates its complaint in place; another
        raw report with the same dedupe key (`dedupe_key`) is a duplicate and records
        nothing.
        """
        known = self._complaint(key)
        if known is not None and known.raw_report_id != raw_report.id:
            reason = f"duplicate of report {known.raw_report_id}; counted once"
            return RecordOutcome(ReportStatus.PROCESSED, reason, None)
        if report.kind is ReportKind.NOT_A_REPORT:
            reason = "not a feedback report: " + (
                "; ".join(report.problems) or "no report part found"
            )
            return RecordOutcome(ReportStatus.QUARANTINED, reason, None)

        # Recorded before under this report: it is being processed again.
        existing = self._session.get(Complaint, known.id) if isinstance(known, _Recorded) else known
        if existing is None and (earlier := self._by_report.get(raw_report.id)) is not None:
            existing = self._session.get(Complaint, earlier)
            if existing is not None:
                existing.dedupe_key = key
        values = self._complaint_values(raw_report, report, outcome)
        before = counted(existing) if existing is not None else None
        if existing is None:
            complaint = Complaint(raw_report_id=raw_report.id, dedupe_key=key, **values)
        else:
            complaint = existing.sqlmodel_update(values)
        # Not flushed one by one: the batch's complaints are written together, at the
        # latest before the first decision reads the database.
        self._session.add(complaint)
        move_complaint(self._session, before, counted(complaint))
        self._complaints[key] = complaint
        status, note = _status(report, outcome)
        return RecordOutcome(status, note, complaint, new=existing is None)

    def _complaint(self, key: str) -> Complaint | _Recorded | None:
        if key not in self._complaints:
            found = self._session.execute(_COMPLAINTS_BY_KEY, {"keys": [key]}).first()
            self._complaints[key] = None if found is None else _Recorded(found[1], found[2])
        return self._complaints[key]

    def _mailbox(self, address: str) -> tuple[int | None, int | None]:
        """The mailbox's id and its domain's, or (None, None) when it is not in the directory."""
        address = address.lower()
        if address not in self._mailboxes:
            self._mailboxes[address] = _mailbox(self._session, address)
        return self._mailboxes[address]

    def _complaint_values(
        self, raw_report: StoredReport, report: Report, outcome: AttributionOutcome
    ) -> dict[str, Any]:
        original = report.original
        attribution = outcome.attribution
        mailbox_id, domain_id = self._mailbox(attribution.mailbox) if attribution else (None, None)
        # A candidate is kept only beside no charge: it is what staff review, never a count.
        candidate = outcome.candidate if attribution is None else None
        candidate = candidate if candidate and candidate.mailbox.strip() else None
        candidate_id = self._mailbox(candidate.mailbox)[0] if candidate else None
        return {
            "kind": report.kind.value,
            "format": report.format.value,
            "feedback_type": report.feedback_type,
            "reporter": report.reporter,
            "trusted": raw_report.trusted,
            "occurred_at": complaint_time(report, raw_report.received_at),
            "source_ip": report.source_ip,
            "original_message_id": original.message_id if original else None,
            "original_from": original.from_address if original else None,
            "original_mail_from": original.mail_from if original else None,
            "original_subject": original.subject if original else None,
            "original_excerpt": original.body_excerpt if original else None,
            "mailbox_id": mailbox_id,
            "domain_id": domain_id,
            "attribution_method": attribution.method.value if attribution else None,
            "attribution_evidence": attribution.evidence if attribution else None,
            "attribution_confidence": attribution.confidence.value if attribution else None,
            "queue_id": attribution.queue_id if attribution else None,
            "unattributed_reason": outcome.reason if attribution is None else None,
            "candidate_mailbox": candidate.mailbox.lower() if candidate else None,
            "candidate_mailbox_id": candidate_id,
            "candidate_evidence": candidate.evidence if candidate else None,
            "problems": list(report.problems),
        }


def _mailbox(session: Session, address: str) -> tuple[int | None, int | None]:
    """The mailbox's id and its domain's, or (None, None) when it is not in the directory."""
    found = session.execute(
        select(col(Mailbox.id), col(Mailbox.domain_id)).where(
            col(Mailbox.address) == address.lower()
        )
    ).first()
    return (None, None) if found is None else (found[0], found[1])


def _domain_id(session: Session, mailbox_id: int | None) -> int | None:
    if mailbox_id is None:
        return None
    return session.execute(
        select(col(Mailbox.domain_id)).where(col(Mailbox.id) == mailbox_id)
    ).scalar_one_or_none()


def _status(report: Report, outcome: AttributionOutcome) -> tuple[ReportStatus, str | None]:
    if outcome.attribution is not None:
        return ReportStatus.PROCESSED, None
    reason = f"unattributed {report.kind.value}: {outcome.reason or 'no evidence from our relays'}"
    if report.kind is ReportKind.COMPLAINT:
        # A complaint nobody can be charged for needs a person to look at it.
        return ReportStatus.QUARANTINED, reason
    return ReportStatus.PROCESSED, reason


def record_synthetic_complaint(
    session: Session,
    mailbox_id: int | None,
    at: datetime,
    *,
    trusted: bool = True,
    kind: str = "complaint",
    origin: str = "synthetic",
) -> Complaint:
    """A complaint no real report carried — for rules scenarios, tests and benchmarks.

    It is stored exactly as the worker leaves a processed one (with a
    placeholder raw report), so counters and replay cannot tell the difference.
    """
    raw = RawReport(
        sha256="0" * 64,
        raw=b"",
        size=0,
        received_at=at,
        source="file",
        trusted=trusted,
        trust_reason=origin,
        status=ReportStatus.PROCESSED.value,
    )
    session.add(raw)
    session.flush()
    assert raw.id is not None
    complaint = Complaint(
        raw_report_id=raw.id,
        dedupe_key=f"{origin}-{raw.id}",
        kind=kind,
        format="arf",
        trusted=trusted,
        occurred_at=at,
        mailbox_id=mailbox_id,
        domain_id=_domain_id(session, mailbox_id),
        reporter=origin,
    )
    session.add(complaint)
    session.flush()
    move_complaint(session, None, counted(complaint))
    return complaint
