"""Decide one event: gather its facts, ask the engine, record the decision, act on it.

Runs inside the caller's transaction, so a complaint, its decision and the
suspension that follows commit together or not at all. A suspension raises a
`suspension` event, decided in turn (so repeated-suspension rules see it).
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from abusedesk.act.executor import ActionContext, execute_intents
from abusedesk.decide.counters import SqlCounters
from abusedesk.decide.engine import PolicyEngine, RulesChanged, Verdict
from abusedesk.decide.evaluate import counter_caps
from abusedesk.decide.events import (
    Event,
    complaint_event,
    entity_facts,
    is_suspended,
    load_subject,
    resolve_params,
)
from abusedesk.decide.locks import lock_mailbox
from abusedesk.decide.model import RuleSet, Volume
from abusedesk.errors import NotFoundError
from abusedesk.store.tables import Complaint, Decision

# A suspension raises an event that may escalate, never suspend again (one is active):
# two levels are all a cascade can use; the bound guards against a rules loop.
MAX_CASCADE = 3
ATTEMPTS = 3


def decide_after_complaint(
    session: Session, complaint_id: int, engine: PolicyEngine
) -> list[Decision]:
    """Decide a newly recorded complaint; call it right after recording, same transaction.

    Unattributed complaints (no mailbox to charge) are not decided.
    """
    complaint = session.get(Complaint, complaint_id)
    if complaint is None:
        raise NotFoundError(f"complaint {complaint_id} does not exist")
    return decide_recorded_complaint(session, complaint, engine)


def decide_recorded_complaint(
    session: Session, complaint: Complaint, engine: PolicyEngine
) -> list[Decision]:
    """`decide_after_complaint` for the complaint object the recorder just added."""
    if complaint.mailbox_id is None:
        return []  # charged to no mailbox: nothing to decide (and nothing to write yet)
    if complaint.id is None:
        session.flush()  # the event names the complaint by id
    event = complaint_event(complaint)
    return [] if event is None else decide_event(session, engine, event)


def decide_event(
    session: Session, engine: PolicyEngine, event: Event, depth: int = 0
) -> list[Decision]:
    """Decide `event` and every event its actions raise; returns the decisions recorded."""
    if depth == 0:
        lock_mailbox(session, event.mailbox_id)
    decision, context = _decide_on_current_rules(session, engine, event)
    if decision is None or context is None:
        return []
    decisions = [decision]
    for follow_up in execute_intents(context):
        if depth + 1 < MAX_CASCADE:
            decisions += decide_event(session, engine, follow_up, depth + 1)
    return decisions


def _decide_on_current_rules(
    session: Session, engine: PolicyEngine, event: Event
) -> tuple[Decision | None, ActionContext | None]:
    # A reload between gathering the facts and asking the engine means the facts were
    # gathered for rules no longer in force: gather them again for the new rules.
    for _ in range(ATTEMPTS - 1):
        try:
            return _decide_once(session, engine, event)
        except RulesChanged:
            continue
    return _decide_once(session, engine, event)


def _decide_once(
    session: Session, engine: PolicyEngine, event: Event
) -> tuple[Decision | None, ActionContext | None]:
    snapshot = engine.snapshot()
    ruleset = snapshot.ruleset
    rules = ruleset.rules_for(event.kind)
    subject = load_subject(session, event.mailbox_id)
    if not rules or subject is None:
        return None, None
    params = resolve_params(session, ruleset, subject)
    facts: dict[str, Any] = entity_facts(event, subject, is_suspended(session, event.mailbox_id))
    facts["params"] = params
    counters = SqlCounters(session, snapshot.queries)
    names = ruleset.counters_for(event.kind)
    # Sent volume first: it is never capped, and a rate (`counters.complaints_24h >
    # counters.sent_24h * …`) can then cap the complaint count by the volume's value.
    volumes = [name for name in names if isinstance(ruleset.counters[name].count, Volume)]
    counted: dict[str, int] = {}
    facts["counters"] = counted
    for name in volumes:
        counted[name] = counters.count(ruleset.counters[name], subject, event.at, params, None)
    caps = {name: cap for name, cap in counter_caps(rules, facts).items() if name not in volumes}
    for name in names:
        if name not in counted:
            cap = caps.get(name)
            counted[name] = counters.count(ruleset.counters[name], subject, event.at, params, cap)
    facts["counters"] = {name: counted[name] for name in names}
    verdict = engine.evaluate(snapshot, event.kind, event.key, facts)
    decision = record_decision(session, event, facts, caps, verdict, ruleset)
    context = ActionContext(
        session,
        decision,
        event,
        subject,
        params,
        ruleset,
        counters,
        verdict.intents,
        engine.notices,
    )
    return decision, context


def record_decision(
    session: Session,
    event: Event,
    facts: dict[str, Any],
    caps: dict[str, int | None],
    verdict: Verdict,
    ruleset: RuleSet,
) -> Decision:
    # A counter that reached its cap was not counted further: it is "at least" that.
    at_least = {
        name: value for name, value in facts.get("counters", {}).items() if caps.get(name) == value
    }
    shadow = ruleset.shadow or (bool(verdict.fired) and all(f["shadow"] for f in verdict.fired))
    decision = Decision(
        event=event.kind.value,
        mailbox_id=event.mailbox_id,
        complaint_id=event.complaint_id,
        occurred_at=event.at,
        facts={**facts, "event_key": event.key, "at_least": at_least},
        fired=verdict.fired,
        missed=verdict.missed,
        rules_path=str(ruleset.path),
        rules_hash=ruleset.sha256,
        shadow=shadow,
    )
    session.add(decision)
    session.flush()
    return decision
