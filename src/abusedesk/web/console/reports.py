"""Reports: search by mailbox, reporter, message-id and date; the raw message as text; reprocess.

Staff see every report, including the quarantine (reports charged to nobody),
as it came; a company or domain admin sees the reports charged to their
mailboxes, raw text included, with the complainant redacted (`shown`).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import select
from sqlmodel import col

from abusedesk.access import Role
from abusedesk.access.audit import record_audit
from abusedesk.access.scope import mailbox_in_scope
from abusedesk.errors import NotFoundError, RefusedError
from abusedesk.notify.redaction import Redactor
from abusedesk.store.tables import Complaint, Mailbox, RawReport
from abusedesk.store.types import ReportStatus
from abusedesk.web.console.complaint_pages import ComplaintFilter, complaint_page
from abusedesk.web.console.endpoint import Call, Page, Redirect, Text
from abusedesk.web.console.forms import Paging, act, field
from abusedesk.web.console.shown import ShownComplaint, redactions
from abusedesk.web.console.visible import report_in_scope

SHOWN_RAW_BYTES = 200_000
FILTERS = ("mailbox", "reporter", "message_id", "since", "until", "status")


def search_reports(call: Call) -> Page:
    wanted = {name: call.query.get(name, "").strip() for name in FILTERS}
    paging = Paging.of(call.query)
    by_complaint = call.actor.role is not Role.STAFF or any(
        wanted[name] for name in ("mailbox", "reporter", "message_id")
    )
    if by_complaint:
        rows, more = _by_complaint(call, wanted, paging)
    else:
        rows, more = _by_report(call, wanted, paging)
    return Page(
        "reports.html",
        {
            "rows": rows,
            "wanted": wanted,
            "statuses": [s.value for s in ReportStatus],
            "paging": paging,
            "more": more,
            "query_string": urlencode({k: v for k, v in wanted.items() if v}),
        },
    )


_COLUMNS = (
    col(RawReport.id),
    col(RawReport.received_at),
    col(RawReport.status),
    col(RawReport.reason),
    col(Complaint.reporter),
    col(Complaint.original_message_id),
    col(Complaint.original_subject),
    col(Mailbox.address),
)


def _by_report(call: Call, wanted: dict[str, str], paging: Paging) -> tuple[list[Any], bool]:
    """Staff browsing every report, the quarantine included: newest received first."""
    query: Any = (
        select(*_COLUMNS)
        .select_from(RawReport)
        .join(Complaint, col(Complaint.raw_report_id) == col(RawReport.id), isouter=True)
        .join(Mailbox, col(Mailbox.id) == col(Complaint.mailbox_id), isouter=True)
    )
    if wanted["status"] in {s.value for s in ReportStatus}:
        query = query.where(col(RawReport.status) == wanted["status"])
    since, until = _day(wanted["since"]), _day(wanted["until"])
    if since:
        query = query.where(col(RawReport.received_at) >= since)
    if until:
        query = query.where(col(RawReport.received_at) < until + timedelta(days=1))
    return paging.window(
        call.session.execute(
            query.order_by(col(RawReport.id).desc()).offset(paging.offset).limit(paging.size + 1)
        ).all()
    )


def _by_complaint(call: Call, wanted: dict[str, str], paging: Paging) -> tuple[list[Any], bool]:
    """Reports charged to the actor's mailboxes, found through their complaints (dates: when
    the complaint happened)."""
    if wanted["status"] and wanted["status"] != ReportStatus.PROCESSED.value:
        return [], False  # a report charged to a mailbox has been processed
    mailbox_id = None
    if wanted["mailbox"]:
        try:
            mailbox_id = mailbox_in_scope(call.session, call.actor, wanted["mailbox"]).id
        except NotFoundError:
            return [], False
    until = _day(wanted["until"])
    bare = wanted["message_id"].strip("<>")
    ids, more = complaint_page(
        call.session,
        call.actor,
        ComplaintFilter(
            mailbox_id=mailbox_id,
            reporter=wanted["reporter"] or None,
            message_ids=(bare, f"<{bare}>") if bare else (),
            since=_day(wanted["since"]),
            until=until + timedelta(days=1) if until else None,
        ),
        paging,
    )
    rows = call.session.execute(
        select(*_COLUMNS)
        .select_from(Complaint)
        .join(RawReport, col(RawReport.id) == col(Complaint.raw_report_id))
        .join(Mailbox, col(Mailbox.id) == col(Complaint.mailbox_id))
        .where(col(Complaint.id).in_(ids))
        .order_by(col(Complaint.id).desc())
    ).all()
    found = redactions(call.session, call.actor, {row[0]: row[7] for row in rows})
    shown = []
    for report_id, received_at, status, reason, reporter, message_id, subject, address in rows:
        redactor = found.of(report_id)
        shown.append(
            (
                report_id,
                received_at,
                status,
                redactor.redact(reason),
                redactor.redact(reporter),
                redactor.redact(message_id),
                redactor.redact(subject),
                address,
            )
        )
    return shown, more


def _day(text: str) -> datetime | None:
    try:
        return datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        return None


def show_report(call: Call) -> Page:
    report = report_in_scope(call.session, call.actor, call.params["report_id"])
    complaint, mailbox, redactor = _charged(call, report)
    raw = redactor.redact(report.raw[:SHOWN_RAW_BYTES].decode("utf-8", errors="replace"))
    return Page(
        "report.html",
        {
            "report": report,
            "complaint": ShownComplaint(complaint, redactor) if complaint else None,
            "mailbox": mailbox,
            "raw": raw,
            "truncated": len(report.raw) > SHOWN_RAW_BYTES,
        },
    )


def raw_report(call: Call) -> Text:
    report = report_in_scope(call.session, call.actor, call.params["report_id"])
    _, _, redactor = _charged(call, report)
    return Text(redactor.redact(report.raw.decode("utf-8", errors="replace")))


def _charged(call: Call, report: RawReport) -> tuple[Complaint | None, Mailbox | None, Redactor]:
    """The report's complaint, the mailbox it is charged to, and what the actor may see of it."""
    assert report.id is not None
    complaint = call.session.execute(
        select(Complaint).where(col(Complaint.raw_report_id) == report.id)
    ).scalar_one_or_none()
    mailbox = (
        call.session.get(Mailbox, complaint.mailbox_id)
        if complaint and complaint.mailbox_id
        else None
    )
    charged = {report.id: mailbox.address if mailbox else None}
    return complaint, mailbox, redactions(call.session, call.actor, charged).of(report.id)


def reprocess(call: Call) -> Redirect:
    report = report_in_scope(call.session, call.actor, call.params["report_id"])

    def run() -> str:
        if report.status != ReportStatus.QUARANTINED.value:
            raise RefusedError(
                f"report {report.id} is {report.status}: only a quarantined one is reprocessed"
            )
        previous = report.reason
        report.status = ReportStatus.PENDING.value
        report.reason = None
        report.attempts = 0
        report.claimed_at = report.claimed_by = report.processed_at = None
        call.session.add(report)
        record_audit(
            call.session,
            call.actor,
            "report.reprocess",
            "report",
            str(report.id),
            note=field(call.body, "note") or None,
            detail={"quarantine_reason": previous},
        )
        return f"Report {report.id} is queued to be processed again."

    return act(call, f"/reports/{report.id}", run)
