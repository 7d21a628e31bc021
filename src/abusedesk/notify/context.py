"""What a notice template is given: one frozen value per notice, the same for every template."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Final

NOTICE_TEMPLATES: Final = frozenset({"aup-notice", "escalation-notice"})
NOTICE_RECIPIENTS: Final = frozenset({"abuse-contact", "platform-abuse"})
TEMPLATE_PARTS: Final = ("subject", "txt", "html")
"""Each template is three files: `NAME.subject` (one line), `NAME.txt` and `NAME.html`."""


@dataclass(frozen=True, slots=True)
class Sample:
    """One complained-about message, as safe text: chosen headers and a short body excerpt."""

    complaint_id: int
    occurred_at: datetime
    reporter: str | None
    headers: tuple[tuple[str, str], ...]
    excerpt: str | None
    truncated: bool = False


@dataclass(frozen=True, slots=True)
class EvidenceItem:
    """One row behind an escalation (a suspension, a complaint, a signup), in words."""

    kind: str
    id: int
    at: datetime | None
    mailbox: str | None
    summary: str


@dataclass(frozen=True, slots=True)
class NoticeContext:
    """Everything a template may show. Text from reports is already made safe, never HTML."""

    template: str
    company: str
    domain: str
    mailbox: str
    recipient: str
    fallback: bool
    """True when no valid abuse contact is on file and the platform's address stands in."""
    platform_abuse_address: str
    rule: str
    rule_description: str
    event_at: datetime
    decision_id: int
    counter: str | None = None
    count: int | None = None
    window: str | None = None
    suspension_id: int | None = None
    suspended_at: datetime | None = None
    samples: tuple[Sample, ...] = ()
    complaint_total: int = 0
    pattern: str | None = None
    scope: str | None = None
    scope_key: str | None = None
    escalation_id: int | None = None
    evidence: tuple[EvidenceItem, ...] = field(default_factory=tuple)

    @property
    def lift_command(self) -> str:
        return (
            f"abusedesk suspensions lift {self.mailbox} --as YOUR-USERNAME "
            "--outcome lifted|educated --note '...'"
        )


def describe_window(seconds: float | None) -> str | None:
    """A counter's window in words: 86400 -> "24 hours", 2592000 -> "30 days"."""
    if seconds is None:
        return None
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size and seconds % size == 0 and not (unit == "day" and seconds <= 86400):
            count = int(seconds // size)
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return f"{int(seconds)} seconds"
