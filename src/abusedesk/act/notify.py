"""Hand a decision's notify actions to the outbox, in the decision's own transaction.

An AUP notice belongs to the suspension its rule made, an escalation notice
to the escalation its rule opened: when the rule's suspension or escalation
was skipped (one was already active or open), so is its notice, because the
reseller was told then. Without a composer (scenario runs, replays) nothing is
queued and the action says so.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from abusedesk.act.evidence import rule_evidence
from abusedesk.decide.model import Escalate, EventKind, Notify, Suspend
from abusedesk.errors import ConfigError
from abusedesk.notify.compose import NoticeRequest
from abusedesk.notify.context import NOTICE_RECIPIENTS, NOTICE_TEMPLATES
from abusedesk.store.tables import Escalation

if TYPE_CHECKING:
    from abusedesk.act.executor import ActionContext
    from abusedesk.decide.engine import Intent

__all__ = ["NOTICE_RECIPIENTS", "NOTICE_TEMPLATES", "queue_notices"]
log = logging.getLogger(__name__)
NO_OUTBOX = "not queued: no outbox in this run"


def queue_notices(context: ActionContext, entries: list[dict[str, Any]]) -> None:
    """Queue the notices of the not-shadow notify intents; records each outcome in its entry."""
    for intent, entry in zip(context.intents, entries, strict=True):
        if intent.shadow or not isinstance(intent.action, Notify):
            continue
        entry.update(_queue(context, intent, intent.action, entries))


def _queue(
    context: ActionContext, intent: Intent, action: Notify, entries: list[dict[str, Any]]
) -> dict[str, Any]:
    siblings = [
        (i, e)
        for i, e in zip(context.intents, entries, strict=True)
        if i.rule == intent.rule and not i.shadow and i is not intent
    ]
    request = _request(context, intent, action, siblings)
    if isinstance(request, str):
        return {"status": request}
    if context.notices is None:
        return {"status": NO_OUTBOX}
    try:
        notice, new = context.notices.queue(context.session, request)
    except ConfigError as error:
        # A template that cannot render this notice must not undo the decision itself.
        log.error("decision %s: notice not queued: %s", context.decision.id, error)
        return {"status": f"not queued: {error}"}
    recorded: dict[str, Any] = {
        "notice_id": notice.id,
        "recipient": notice.recipient,
        "fallback": notice.fallback,
    }
    recorded["status"] = "queued" if new else f"skipped: already queued (notice {notice.id})"
    return recorded


def _request(
    context: ActionContext,
    intent: Intent,
    action: Notify,
    siblings: list[tuple[Intent, dict[str, Any]]],
) -> NoticeRequest | str:
    """The notice's request, or why there is none to send."""
    subject = context.subject
    rule = next(r for r in context.ruleset.rules if r.name == intent.rule)
    fields: dict[str, Any] = {}
    named: str | None = None
    for sibling, entry in siblings:
        status = str(entry.get("status", ""))
        if isinstance(sibling.action, Suspend) and action.template == "aup-notice":
            if status != "done":
                return f"skipped: no new suspension ({status})"
            fields["suspension_id"] = entry.get("suspension_id")
            fields["complaint_ids"] = tuple(entry.get("complaint_ids", ()))
            named = sibling.action.evidence
        elif isinstance(sibling.action, Escalate) and action.template == "escalation-notice":
            if status != "done":
                return f"skipped: no new escalation ({status})"
            fields.update(_escalation_fields(context, entry))
            named = sibling.action.evidence
    counter, rows = rule_evidence(context, intent.rule, named)
    kind = context.ruleset.counters[counter].count if counter else None
    if action.template == "aup-notice" and "complaint_ids" not in fields:
        fields["complaint_ids"] = tuple(rows) if kind is EventKind.COMPLAINT else ()
    if action.template == "escalation-notice" and "evidence_ids" not in fields:
        fields["evidence_kind"] = kind.value if kind else None
        fields["evidence_ids"] = tuple(rows)
    count = context.decision.facts.get("counters", {}).get(counter) if counter else None
    assert context.decision.id is not None
    return NoticeRequest(
        template=action.template,
        to=action.to,
        samples=action.samples,
        decision_id=context.decision.id,
        event_at=context.event.at,
        rule=rule.name,
        rule_description=rule.description,
        mailbox=subject.address,
        domain=subject.domain,
        company=subject.company,
        domain_id=subject.domain_id,
        company_id=subject.company_id,
        counter=counter,
        count=int(count) if isinstance(count, int | float) else None,
        window_seconds=context.ruleset.counters[counter].within if counter else None,
        **fields,
    )


def _escalation_fields(context: ActionContext, entry: dict[str, Any]) -> dict[str, Any]:
    escalation = context.session.get(Escalation, entry.get("escalation_id"))
    if escalation is None:
        return {}
    counter = escalation.evidence.get("counter")
    kind = (
        context.ruleset.counters[counter].count.value
        if counter in context.ruleset.counters
        else None
    )
    return {
        "pattern": escalation.pattern,
        "scope": escalation.scope,
        "scope_key": escalation.scope_key,
        "escalation_id": escalation.id,
        "evidence_kind": kind,
        "evidence_ids": tuple(escalation.evidence.get("ids", ())),
    }
