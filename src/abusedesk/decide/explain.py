"""A stored decision told in words, for `abusedesk decisions explain`."""

from __future__ import annotations

from typing import Any

from abusedesk.decide.expr import format_duration
from abusedesk.store.tables import Decision

_DURATION_FIELDS = {"mailbox.age", "domain.age"}


def explain_decision(decision: Decision, address: str | None) -> list[str]:
    facts = decision.facts
    at_least = facts.get("at_least", {})
    mode = "in shadow mode (nothing was carried out)" if decision.shadow else ""
    lines = [
        f"Decision {decision.id}: a {decision.event} event for {address or 'an unknown mailbox'}"
        f" at {decision.occurred_at.isoformat()}, decided {decision.decided_at.isoformat()}"
        f"{' ' + mode if mode else ''}.",
        f"Rules: {decision.rules_path} (sha256 {decision.rules_hash[:12]}).",
    ]
    counters = facts.get("counters", {})
    if counters:
        lines.append("Counters at that moment (windows measured back from the event's time):")
        for name, value in counters.items():
            qualifier = "at least " if name in at_least else ""
            lines.append(f"  {name} = {qualifier}{value}")
    if facts.get("params"):
        shown = ", ".join(f"{k} = {_show(k, v)}" for k, v in facts["params"].items())
        lines.append(f"Params: {shown}.")
    for fired in decision.fired:
        seen = ", ".join(f"{k} = {_show(k, v)}" for k, v in fired.get("values", {}).items())
        lines.append(
            f"Rule {fired['rule']!r} fired{' (shadow)' if fired.get('shadow') else ''}"
            f"{': ' + seen if seen else ''}."
        )
    for missed in decision.missed:
        lines.append(f"Rule {missed['rule']!r} did not fire: {missed['reason']}.")
    if not decision.fired and not decision.missed:
        lines.append("No rule reacts to this kind of event.")
    for action in decision.actions:
        lines.append(f"Action: {_action(action)}.")
    return lines


def _action(action: dict[str, Any]) -> str:
    details = {k: v for k, v in action.items() if k not in {"rule", "action", "status", "shadow"}}
    shown = ", ".join(f"{k} {v}" for k, v in details.items())
    return (
        f"{action['action']} (rule {action['rule']!r}{', ' + shown if shown else ''}) — "
        f"{action.get('status', 'recorded')}"
    )


def _show(name: str, value: Any) -> str:
    if value is None:
        return "unknown"
    if isinstance(value, bool):
        return "true" if value else "false"
    if name in _DURATION_FIELDS or name.endswith("_age"):
        seconds = float(value)
        if seconds % 3600 == 0:
            return format_duration(seconds)
        return f"{seconds / 86400:.1f}d" if abs(seconds) >= 86400 else f"{seconds / 3600:.1f}h"
    return str(value)
