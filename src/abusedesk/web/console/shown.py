"""What an admin is shown of a report: staff the text as it came, a reseller admin the
text with the complainant redacted.

Staff review reports and keep the raw text. A company or domain admin reads
the complaints about their own mailboxes — subjects, excerpts, attribution
evidence (which may quote a Received hop's `for <…>`), the report itself —
only through the report's `Redactor` (`notify.redaction`), so the person who
complained stays unknown to the reseller, on every page and in the API alike.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session

from abusedesk.access import Role
from abusedesk.access.scope import Actor
from abusedesk.notify.redaction import NO_REDACTION, Redactor, stored_redactors
from abusedesk.store.tables import Complaint


@dataclass(frozen=True, slots=True)
class Redactions:
    """The redactor of each report a page shows; staff's redact nothing."""

    staff: bool
    by_report: Mapping[int, Redactor] = field(default_factory=dict)

    def of(self, report_id: int) -> Redactor:
        """The report's redactor. A report the page did not load is a mistake in the page,
        and fails rather than show a reseller the text unredacted."""
        return NO_REDACTION if self.staff else self.by_report[report_id]


def redactions(session: Session, actor: Actor, charged: Mapping[int, str | None]) -> Redactions:
    """The redactors for the reports `charged` names (report id -> the mailbox it is
    charged to), each report parsed once; nothing is loaded for staff."""
    if actor.role is Role.STAFF:
        return Redactions(staff=True)
    return Redactions(staff=False, by_report=stored_redactors(session, charged))


class ShownComplaint:
    """A complaint as an admin may see it: each text field through the report's redactor,
    the rest as stored. The row itself is never changed (the session would write it back)."""

    __slots__ = ("_complaint", "_redactor")

    def __init__(self, complaint: Complaint, redactor: Redactor) -> None:
        self._complaint = complaint
        self._redactor = redactor

    def __getattr__(self, name: str) -> Any:
        # Every field, including ones added later, is redacted unless it holds no text.
        return _redacted(getattr(self._complaint, name), self._redactor)


def shown_complaints(
    session: Session, actor: Actor, complaints: list[tuple[Complaint, str | None]]
) -> list[ShownComplaint]:
    """(complaint, the address it is charged to) pairs as the actor may see them."""
    found = redactions(session, actor, {c.raw_report_id: a for c, a in complaints})
    return [ShownComplaint(c, found.of(c.raw_report_id)) for c, _ in complaints]


def _redacted(value: Any, redactor: Redactor) -> Any:
    if isinstance(value, str):
        return redactor.redact(value)
    if isinstance(value, list | tuple):
        return type(value)(_redacted(item, redactor) for item in value)
    if isinstance(value, dict):
        return {key: _redacted(item, redactor) for key, item in value.items()}
    return value
