"""Carry out what the fired rules asked for, and record each action's outcome in its decision.

Shadow rules' intents are recorded, never carried out. A suspension raises a
`suspension` event, returned to the caller to decide. Notices are queued last,
once the suspension or escalation they tell about exists.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from sqlmodel import Session

from abusedesk.act.escalate import open_escalation
from abusedesk.act.evidence import rule_evidence
from abusedesk.act.notify import queue_notices
from abusedesk.act.suspend import soft_suspend
from abusedesk.decide.counters import SqlCounters, Subject
from abusedesk.decide.engine import Intent
from abusedesk.decide.events import Event, suspension_event
from abusedesk.decide.model import Escalate, EventKind, Notify, RuleSet, Scope, Suspend, Value
from abusedesk.store.tables import Decision

if TYPE_CHECKING:
    from abusedesk.notify.compose import NoticeComposer


@dataclass
class ActionContext:
    session: Session
    decision: Decision
    event: Event
    subject: Subject
    params: dict[str, Value]
    ruleset: RuleSet
    counters: SqlCounters
    intents: list[Intent]
    notices: NoticeComposer | None = None
    """Renders and queues notices; None where nothing may be sent (scenarios, replays)."""


def execute_intents(context: ActionContext) -> list[Event]:
    """Do the decision's intents; returns the events they raised (suspensions)."""
    entries: list[dict[str, Any]] = []
    raised: list[Event] = []
    for intent in context.intents:
        entry: dict[str, Any] = {
            "rule": intent.rule,
            "action": intent.name,
            **_options(intent),
            "shadow": intent.shadow,
        }
        entries.append(entry)
        if intent.shadow:
            entry["status"] = "shadow: not carried out"
        elif isinstance(intent.action, Suspend):
            raised += _suspend(context, intent, entry)
        elif isinstance(intent.action, Escalate):
            _escalate(context, intent, intent.action, entry)
        elif isinstance(intent.action, Notify):
            continue  # queued below, once the rule's other actions are done
        else:
            entry["status"] = "held for review"
    queue_notices(context, entries)
    context.decision.actions = entries
    context.session.add(context.decision)
    return raised


def _options(intent: Intent) -> dict[str, Any]:
    options = asdict(intent.action)
    return {
        key: list(value) if isinstance(value, tuple) else value
        for key, value in options.items()
        if value is not None
    }


def _suspend(context: ActionContext, intent: Intent, entry: dict[str, Any]) -> list[Event]:
    assert isinstance(intent.action, Suspend)
    counter, rows = rule_evidence(context, intent.rule, intent.action.evidence)
    complaint_ids = (
        rows if counter and context.ruleset.counters[counter].count is (EventKind.COMPLAINT) else []
    )
    if not complaint_ids and context.event.complaint_id is not None:
        complaint_ids = [context.event.complaint_id]
    assert context.decision.id is not None
    suspension, existing = soft_suspend(
        context.session,
        context.event.mailbox_id,
        context.event.at,
        context.decision.id,
        intent.rule,
        complaint_ids,
    )
    if existing is not None:
        entry["status"] = f"skipped: already suspended (suspension {existing.id})"
        return []
    assert suspension is not None
    entry["status"] = "done"
    entry["suspension_id"] = suspension.id
    entry["complaint_ids"] = complaint_ids
    return [suspension_event(suspension)]


def _escalate(
    context: ActionContext, intent: Intent, action: Escalate, entry: dict[str, Any]
) -> None:
    subject = context.subject
    key = {
        Scope.MAILBOX: subject.address,
        Scope.DOMAIN: subject.domain,
        Scope.COMPANY: subject.company,
    }[action.scope]
    counter, rows = rule_evidence(context, intent.rule, action.evidence)
    fired = next(f for f in context.decision.fired if f["rule"] == intent.rule)
    evidence = {
        "rule": intent.rule,
        "event": context.event.key,
        "values": fired["values"],
        "counter": counter,
        "ids": rows,
        "mailbox": subject.address,
    }
    assert context.decision.id is not None
    escalation, created = open_escalation(
        context.session,
        action.pattern,
        action.scope.value,
        key,
        context.event.at,
        context.decision.id,
        evidence,
    )
    entry["scope_key"] = key
    entry["escalation_id"] = escalation.id
    entry["status"] = "done" if created else f"skipped: escalation {escalation.id} already open"
