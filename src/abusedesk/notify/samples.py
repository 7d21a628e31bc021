"""Choose and render the sample messages of a notice: representative, short and safe.

Representative means distinct subjects first: complaints are grouped by
subject, the biggest group first, and one sample is taken from each group in
turn, so three samples show three different campaigns when there are three.
A sample shows a few headers of the original and a bounded excerpt of its
body, never To or Cc; everything it shows has passed the report's `Redactor`,
so the complainant's address appears in none of its spellings, wherever the
original put it (a greeting, a tracking link, a spoofed From). That holds for
every notice, the platform's abuse address included: a notice is mail, and
staff read the raw report in the console.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlmodel import Session, col

from abusedesk.notify.context import Sample
from abusedesk.notify.redaction import NO_REDACTION, Redactor, redactor_for
from abusedesk.notify.text import excerpt, one_line
from abusedesk.parse.reader import parse_report
from abusedesk.parse.report import OriginalMessage
from abusedesk.parse.text import decode_header_text
from abusedesk.store.tables import Complaint, Mailbox, RawReport

EXCERPT_CHARS = 800
SHOWN_HEADERS = ("Date", "From", "Subject", "Message-ID")
"""The original's headers a sample shows. Never To or Cc: they name the complainant."""
MAX_HEADER_CHARS = 300


def choose_samples(
    session: Session, complaint_ids: Sequence[int], limit: int
) -> tuple[Sample, ...]:
    """Up to `limit` samples from these complaints, in the order they happened."""
    if limit <= 0 or not complaint_ids:
        return ()
    complaints = list(
        session.execute(
            select(Complaint)
            .where(col(Complaint.id).in_(list(complaint_ids)))
            .order_by(col(Complaint.occurred_at), col(Complaint.id))
        ).scalars()
    )
    chosen = representative(complaints, limit)
    raws = _raw_reports(session, [c.raw_report_id for c in chosen])
    charged = _addresses(session, [c.mailbox_id for c in chosen if c.mailbox_id is not None])
    return tuple(
        _sample(c, raws.get(c.raw_report_id), charged.get(c.mailbox_id or 0)) for c in chosen
    )


def representative(complaints: Sequence[Complaint], limit: int) -> list[Complaint]:
    """Round-robin over subject groups (biggest first, then earliest), back in time order."""
    groups: dict[str, list[Complaint]] = {}
    for complaint in complaints:
        groups.setdefault(_subject_key(complaint.original_subject), []).append(complaint)
    ordered = sorted(groups.values(), key=lambda g: (-len(g), g[0].occurred_at, g[0].id or 0))
    picked: list[Complaint] = []
    depth = 0
    while len(picked) < limit and any(depth < len(g) for g in ordered):
        for group in ordered:
            if depth < len(group) and len(picked) < limit:
                picked.append(group[depth])
        depth += 1
    return sorted(picked, key=lambda c: (c.occurred_at, c.id or 0))


def _subject_key(subject: str | None) -> str:
    return " ".join((subject or "").casefold().split())


def _raw_reports(session: Session, ids: list[int]) -> dict[int, bytes]:
    if not ids:
        return {}
    rows = session.execute(
        select(col(RawReport.id), col(RawReport.raw)).where(col(RawReport.id).in_(ids))
    ).all()
    return {int(i): bytes(raw) for i, raw in rows}


def _addresses(session: Session, ids: list[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = session.execute(
        select(col(Mailbox.id), col(Mailbox.address)).where(col(Mailbox.id).in_(ids))
    ).all()
    return {int(i): str(address) for i, address in rows}


def _sample(complaint: Complaint, raw: bytes | None, charged: str | None) -> Sample:
    assert complaint.id is not None
    report = parse_report(raw) if raw is not None else None
    redactor = redactor_for(report, [charged]) if report is not None else NO_REDACTION
    # Redacted before it is cut: a cut could leave half an address that no longer reads
    # as one.
    body, truncated = excerpt(redactor.redact(complaint.original_excerpt or ""), EXCERPT_CHARS)
    reporter = redactor.redact(one_line(complaint.reporter)) if complaint.reporter else None
    return Sample(
        complaint_id=complaint.id,
        occurred_at=complaint.occurred_at,
        reporter=reporter,
        headers=_headers(complaint, report.original if report else None, redactor),
        excerpt=body or None,
        truncated=truncated,
    )


def _headers(
    complaint: Complaint, original: OriginalMessage | None, redactor: Redactor
) -> tuple[tuple[str, str], ...]:
    """The shown headers from the stored report's original, else from the complaint's
    columns, redacted."""
    found: dict[str, str] = {}
    if original is not None:
        for name in SHOWN_HEADERS:
            value = decode_header_text(original.header(name))
            if value:
                found[name] = value
    fallback = {
        "From": complaint.original_from,
        "Subject": complaint.original_subject,
        "Message-ID": f"<{complaint.original_message_id}>"
        if complaint.original_message_id
        else None,
    }
    for name in SHOWN_HEADERS:
        value = fallback.get(name)
        if name not in found and value:
            found[name] = value
    return tuple(
        (name, one_line(redactor.redact(found[name]))[:MAX_HEADER_CHARS])
        for name in SHOWN_HEADERS
        if name in found
    )
