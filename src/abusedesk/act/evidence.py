"""The rows behind an action: those of the counter it names, else of the first its rule reads."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from abusedesk.act.executor import ActionContext


def rule_evidence(
    context: ActionContext, rule_name: str, named: str | None
) -> tuple[str | None, list[int]]:
    """(the counter's name, the ids of the rows it counted, newest first)."""
    rule = next(r for r in context.ruleset.rules if r.name == rule_name)
    name = named or next(iter(rule.counters), None)
    if name is None:
        return None, []
    counter = context.ruleset.counters[name]
    rows = context.counters.evidence(counter, context.subject, context.event.at, context.params)
    return name, rows
