"""The `then:` list of a rule: each item one action, checked against what the project can do."""

from __future__ import annotations

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from abusedesk.act.notify import NOTICE_RECIPIENTS, NOTICE_TEMPLATES
from abusedesk.decide.model import (
    Action,
    Counter,
    Escalate,
    EventKind,
    HoldForReview,
    Notify,
    Scope,
    Suspend,
)
from abusedesk.decide.yamlnodes import Problems, mapping, scalar_text, scalar_value

ACTION_KEYS = {
    "suspend": {"services", "evidence"},
    "notify": {"template", "to", "samples"},
    "escalate": {"pattern", "scope", "evidence"},
    "hold-for-review": {"reason"},
}
MAX_SAMPLES = 10


def parse_actions(
    node: Node | None,
    on: EventKind,
    counters: dict[str, Counter],
    problems: Problems,
    where: str,
) -> tuple[Action, ...]:
    if node is None:
        problems.missing(where, "then")
        return ()
    items = node.value if isinstance(node, SequenceNode) else [node]
    actions: list[Action] = []
    for item in items:
        if isinstance(item, ScalarNode):
            name, options_node = str(item.value), None
        elif isinstance(item, MappingNode) and len(item.value) == 1:
            key_node, options_node = item.value[0]
            name = str(key_node.value)
            if isinstance(options_node, ScalarNode) and options_node.value in {"", "~", "null"}:
                options_node = None
        else:
            problems.add(
                item,
                "each action is one name with its options, e.g. '- suspend: {services: [send]}'",
                where,
            )
            continue
        if name not in ACTION_KEYS:
            expected = ", ".join(ACTION_KEYS)
            problems.add(item, f"unknown action {name!r}; expected one of {expected}", where)
            continue
        options = mapping(options_node, problems, ACTION_KEYS[name], f"{where}, action {name!r}")
        action = _action(name, options, counters, problems, where)
        if action is not None:
            actions.append(action)
    return tuple(actions)


def _action(
    name: str,
    options: dict[str, Node],
    counters: dict[str, Counter],
    problems: Problems,
    where: str,
) -> Action | None:
    evidence = _evidence(options.get("evidence"), counters, problems, where)
    if name == "suspend":
        services = _services(options.get("services"), problems, where)
        return Suspend(services, evidence)
    if name == "notify":
        return _notify(options, problems, where)
    if name == "escalate":
        if "pattern" not in options:
            problems.missing(f"{where}, action 'escalate'", "pattern")
            return None
        pattern = scalar_text(options["pattern"], problems, where) or ""
        scope = Scope.MAILBOX
        if "scope" in options:
            text = scalar_text(options["scope"], problems, where)
            if text not in {s.value for s in Scope}:
                problems.add(
                    options["scope"],
                    f"escalate scope {text!r}: expected mailbox, domain or company",
                    where,
                )
                return None
            scope = Scope(text)
        return Escalate(pattern, scope, evidence)
    reason = scalar_text(options["reason"], problems, where) if "reason" in options else None
    return HoldForReview(reason)


def _services(node: Node | None, problems: Problems, where: str) -> tuple[str, ...]:
    if node is None:
        return ("send",)
    values = node.value if isinstance(node, SequenceNode) else [node]
    services = tuple(scalar_text(value, problems, where) or "" for value in values)
    if services != ("send",):
        problems.add(
            node,
            f"suspend services {list(services)}: rules may only switch off "
            "sending (services: [send]); receiving and login stay on",
            where,
        )
    return ("send",)


def _notify(options: dict[str, Node], problems: Problems, where: str) -> Notify | None:
    if "template" not in options:
        problems.missing(f"{where}, action 'notify'", "template")
        return None
    template = scalar_text(options["template"], problems, where) or ""
    if template not in NOTICE_TEMPLATES:
        known = ", ".join(sorted(NOTICE_TEMPLATES))
        problems.add(
            options["template"],
            f"unknown template name {template!r}; expected one of {known}",
            where,
        )
        return None
    to = "abuse-contact"
    if "to" in options:
        to = scalar_text(options["to"], problems, where) or ""
        if to not in NOTICE_RECIPIENTS:
            known = ", ".join(sorted(NOTICE_RECIPIENTS))
            problems.add(options["to"], f"unknown recipient {to!r}; expected one of {known}", where)
            return None
    samples = 0
    if "samples" in options:
        value = scalar_value(options["samples"], problems, where)
        if isinstance(value, bool) or not isinstance(value, int) or not (0 <= value <= MAX_SAMPLES):
            problems.add(
                options["samples"],
                f"samples must be a whole number from 0 to {MAX_SAMPLES}, not {value!r}",
                where,
            )
            return None
        samples = value
    return Notify(template, to, samples)


def _evidence(
    node: Node | None, counters: dict[str, Counter], problems: Problems, where: str
) -> str | None:
    if node is None:
        return None
    name = scalar_text(node, problems, where)
    if name not in counters:
        known = ", ".join(sorted(counters)) or "none"
        problems.add(
            node, f"unknown counter {name!r} as evidence (declared counters: {known})", where
        )
        return None
    return name
