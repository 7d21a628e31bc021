"""A rules file once loaded and checked: params, counters and rules as typed values.

Also the vocabulary the rules talk about: the events they react to, the scopes
counters are kept per, the type of every field a condition may read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Final

from abusedesk.decide.expr import Expr


class EventKind(StrEnum):
    COMPLAINT = "complaint"
    """A complaint row was recorded (any report kind: filter on `report.kind`)."""
    SUSPENSION = "suspension"
    LIFT = "lift"
    SIGNUP = "signup"
    """A mailbox appeared in the account directory."""


class Volume(StrEnum):
    """What the policy service meters per mailbox and UTC hour (table `sentvolume`)."""

    SENT = "sent"
    """Messages sent."""
    SENT_RECIPIENTS = "sent-recipients"
    """Recipients of the messages sent."""


Counted = EventKind | Volume
"""What a counter may count: the rows of an event kind, or metered sent volume."""


class Scope(StrEnum):
    MAILBOX = "mailbox"
    DOMAIN = "domain"
    COMPANY = "company"


class ValueType(StrEnum):
    BOOL = "true/false"
    NUMBER = "number"
    DURATION = "duration"
    TEXT = "text"


Value = bool | int | float | str

MAILBOX_FIELDS: Final = {
    "address": ValueType.TEXT,
    "age": ValueType.DURATION,
    "can_send": ValueType.BOOL,
    "suspended": ValueType.BOOL,
    "signup_ip": ValueType.TEXT,
}
ENTITY_FIELDS: Final = {
    "mailbox": MAILBOX_FIELDS,
    "domain": {"name": ValueType.TEXT, "age": ValueType.DURATION},
    "company": {"name": ValueType.TEXT},
}
REPORT_FIELDS: Final = {
    "kind": ValueType.TEXT,
    "trusted": ValueType.BOOL,
    "format": ValueType.TEXT,
    "feedback_type": ValueType.TEXT,
    "reporter": ValueType.TEXT,
    "source_ip": ValueType.TEXT,
}
# The namespace each event adds to the facts, beside mailbox/domain/company.
EVENT_FIELDS: Final[dict[EventKind, tuple[str, dict[str, ValueType]]]] = {
    EventKind.COMPLAINT: ("report", REPORT_FIELDS),
    EventKind.SUSPENSION: ("suspension", {"rule": ValueType.TEXT, "service": ValueType.TEXT}),
    EventKind.LIFT: ("lift", {"outcome": ValueType.TEXT, "by": ValueType.TEXT}),
    EventKind.SIGNUP: ("signup", {"ip": ValueType.TEXT}),
}
# What a counter's `where:` may read of each counted row: the columns counters.py
# knows how to filter on, plus the counted mailbox's age at the decided event.
FILTER_FIELDS: Final[dict[EventKind, dict[str, dict[str, ValueType]]]] = {
    EventKind.COMPLAINT: {
        "report": {k: v for k, v in REPORT_FIELDS.items() if k != "source_ip"},
        "mailbox": {"age": ValueType.DURATION},
    },
    EventKind.SUSPENSION: {
        "suspension": {"rule": ValueType.TEXT, "service": ValueType.TEXT},
        "mailbox": {"age": ValueType.DURATION},
    },
    EventKind.LIFT: {"lift": {"outcome": ValueType.TEXT}, "mailbox": {"age": ValueType.DURATION}},
    EventKind.SIGNUP: {"signup": {"ip": ValueType.TEXT}},
}


@dataclass(frozen=True, slots=True)
class Param:
    name: str
    type: ValueType
    default: Value


@dataclass(frozen=True, slots=True)
class Counter:
    name: str
    count: Counted
    per: Scope
    within: float
    """The window in seconds, measured back from the decided event's own time."""
    where: Expr | None = None
    where_text: str | None = None
    distinct: bool = False
    """Count distinct mailboxes rather than rows ("several young accounts")."""


@dataclass(frozen=True, slots=True)
class Suspend:
    services: tuple[str, ...] = ("send",)
    evidence: str | None = None
    """The counter whose rows are kept as the suspension's evidence."""


@dataclass(frozen=True, slots=True)
class Notify:
    template: str
    to: str = "abuse-contact"
    samples: int = 0


@dataclass(frozen=True, slots=True)
class Escalate:
    pattern: str
    scope: Scope = Scope.MAILBOX
    evidence: str | None = None


@dataclass(frozen=True, slots=True)
class HoldForReview:
    reason: str | None = None


Action = Suspend | Notify | Escalate | HoldForReview
ACTION_NAMES: Final = {
    Suspend: "suspend",
    Notify: "notify",
    Escalate: "escalate",
    HoldForReview: "hold-for-review",
}


@dataclass(frozen=True, slots=True)
class Rule:
    name: str
    on: EventKind
    when: Expr | None
    """The condition in negation normal form, comparisons with the field on the left."""
    when_text: str
    actions: tuple[Action, ...]
    shadow: bool = False
    description: str = ""
    counters: tuple[str, ...] = ()
    """The counters the condition reads."""


@dataclass(frozen=True, slots=True)
class RuleSet:
    """A checked rules file."""

    path: Path
    sha256: str
    params: dict[str, Param] = field(default_factory=dict)
    counters: dict[str, Counter] = field(default_factory=dict)
    rules: tuple[Rule, ...] = ()
    shadow: bool = False

    def rules_for(self, event: EventKind) -> tuple[Rule, ...]:
        return tuple(rule for rule in self.rules if rule.on is event)

    def counters_for(self, event: EventKind) -> tuple[str, ...]:
        names = {name for rule in self.rules_for(event) for name in rule.counters}
        return tuple(sorted(names))
