"""Read a rules file into a checked `RuleSet`, or into problems naming file:line:column and rule.

The YAML is walked as a node tree (not loaded into plain values) so that every
mistake keeps its position in the file. The grammar is documented in docs/rules.md.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TypeVar

import yaml
from yaml.nodes import Node, SequenceNode

from abusedesk.decide.actions import parse_actions
from abusedesk.decide.check import FieldResolver, Side, check_condition
from abusedesk.decide.expr import (
    Expr,
    ExpressionError,
    out_of_range,
    parse_duration,
    parse_expression,
    paths_in,
)
from abusedesk.decide.expr import Path as FieldPath
from abusedesk.decide.model import (
    ENTITY_FIELDS,
    EVENT_FIELDS,
    FILTER_FIELDS,
    Counted,
    Counter,
    EventKind,
    Param,
    Rule,
    RuleSet,
    Scope,
    Value,
    ValueType,
    Volume,
)
from abusedesk.decide.yamlnodes import Problems, mapping, scalar_text, scalar_value
from abusedesk.errors import RulesError

TOP_KEYS = {"mode", "params", "counters", "rules"}
RULE_KEYS = {"name", "description", "on", "when", "mode", "then"}
COUNTER_KEYS = {"count", "per", "within", "where", "distinct"}
MODES = {"enforce": False, "shadow": True}

E = TypeVar("E", bound=StrEnum)


@dataclass
class LoadResult:
    path: Path
    ruleset: RuleSet | None
    problems: list[str] = field(default_factory=list)


def load_rules(path: Path) -> RuleSet:
    """The checked rules in `path`; `RulesError` names the first problem and how many follow."""
    result = read_rules(path)
    if result.ruleset is None:
        more = len(result.problems) - 1
        suffix = f" (and {more} more problem{'s' * (more > 1)}: run `abusedesk rules check`)"
        raise RulesError(result.problems[0] + (suffix if more else ""))
    return result.ruleset


def read_rules(path: Path) -> LoadResult:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return LoadResult(path, None, [f"{path}: cannot read the rules file: {exc}"])
    return parse_rules(text, path)


def parse_rules(text: str, path: Path) -> LoadResult:
    problems = Problems(path, text)
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        return LoadResult(path, None, [f"{where}: not valid YAML: {getattr(exc, 'problem', exc)}"])
    if root is None:
        return LoadResult(path, None, [f"{path}:1:1: the rules file is empty"])
    top = mapping(root, problems, TOP_KEYS, "the rules file")
    shadow = _mode(top.get("mode"), problems, default=False)
    params = _params(top.get("params"), problems)
    counters = _counters(top.get("counters"), params, problems)
    rules = _rules(top.get("rules"), params, counters, shadow, problems)
    if problems.messages:
        return LoadResult(path, None, problems.messages)
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return LoadResult(path, RuleSet(path, digest, params, counters, rules, shadow))


def _mode(node: Node | None, problems: Problems, default: bool, where: str | None = None) -> bool:
    if node is None:
        return default
    word = scalar_text(node, problems, where)
    if word is None or word not in MODES:
        problems.add(node, "mode must be 'enforce' or 'shadow'", where)
        return default
    return MODES[word]


def _params(node: Node | None, problems: Problems) -> dict[str, Param]:
    params: dict[str, Param] = {}
    for name, value_node in mapping(node, problems, None, "params").items():
        value = scalar_value(value_node, problems)
        if value is None:
            continue
        kind, typed = param_type(value)
        if isinstance(typed, int | float) and not isinstance(typed, bool):
            why = out_of_range(typed, is_duration=kind is ValueType.DURATION)
            if why is not None:
                problems.add(value_node, f"param {name!r}: {why}", "params")
                continue
        params[name] = Param(name, kind, typed)
    return params


def param_type(value: Value) -> tuple[ValueType, Value]:
    """A param's type follows its default: true/false, a number, a duration like `3d`, or text."""
    if isinstance(value, bool):
        return ValueType.BOOL, value
    if isinstance(value, int | float):
        return ValueType.NUMBER, value
    seconds = parse_duration(value)
    if seconds is not None:
        return ValueType.DURATION, seconds
    return ValueType.TEXT, value


def _counters(
    node: Node | None, params: dict[str, Param], problems: Problems
) -> dict[str, Counter]:
    counters: dict[str, Counter] = {}
    for name, spec_node in mapping(node, problems, None, "counters").items():
        spec = mapping(spec_node, problems, COUNTER_KEYS, f"counter {name!r}")
        where = f"counter {name!r}"
        count = _counted(spec.get("count"), problems, where)
        per = _enum(spec.get("per"), Scope, problems, where, "per")
        within = _window(spec.get("within"), problems, where)
        if count is EventKind.SIGNUP and per is Scope.MAILBOX:
            problems.add(spec.get("per"), "signups are counted per domain or company", where)
        if count is None or per is None or within is None:
            continue
        if isinstance(count, Volume):
            for key in ("where", "distinct") & spec.keys():
                problems.add(
                    spec[key],
                    f"{key}: sent volume is metered per mailbox and hour, "
                    "with nothing to filter on or tell apart",
                    where,
                )
        condition, text = None, None
        if "where" in spec and isinstance(count, EventKind):
            text = scalar_text(spec["where"], problems, where)
            fields = FILTER_FIELDS[count]
            condition = _condition(
                spec["where"],
                text,
                problems,
                where,
                _filter_resolver(fields, params, count),
                lambda p: p.parts[0] != "params",
                lambda p: p.parts[0] == "params",
            )
        distinct = False
        if "distinct" in spec:
            distinct = scalar_text(spec["distinct"], problems, where) == "mailbox"
            if not distinct or per is Scope.MAILBOX:
                problems.add(
                    spec["distinct"],
                    "distinct: mailbox is the only choice, and only "
                    "for counters per domain or company",
                    where,
                )
        counters[name] = Counter(name, count, per, within, condition, text, distinct)
    return counters


def _rules(
    node: Node | None,
    params: dict[str, Param],
    counters: dict[str, Counter],
    file_shadow: bool,
    problems: Problems,
) -> tuple[Rule, ...]:
    if node is None:
        return ()
    if not isinstance(node, SequenceNode):
        problems.add(node, "rules must be a list of rules (each starting with '- name: …')")
        return ()
    rules: list[Rule] = []
    seen: set[str] = set()
    for index, item in enumerate(node.value, start=1):
        spec = mapping(item, problems, RULE_KEYS, f"rule #{index}")
        name = scalar_text(spec["name"], problems) if "name" in spec else None
        if name is None:
            problems.add(item, f"rule #{index} has no name")
            continue
        where = f"rule {name!r}"
        if name in seen:
            problems.add(spec["name"], "another rule has the same name", where)
        seen.add(name)
        on = _enum(spec.get("on"), EventKind, problems, where, "on")
        if on is None:
            continue
        condition: Expr | None = None
        text = ""
        used: tuple[str, ...] = ()
        if "when" in spec:
            text = scalar_text(spec["when"], problems, where) or ""
            resolver = _rule_resolver(on, params, counters)
            condition = _condition(
                spec["when"], text, problems, where, resolver, lambda p: True, lambda p: True
            )
            used = _used_counters(condition)
        actions = parse_actions(spec.get("then"), on, counters, problems, where)
        shadow = _mode(spec.get("mode"), problems, file_shadow, where)
        description = ""
        if "description" in spec:
            description = scalar_text(spec["description"], problems, where) or ""
        rules.append(Rule(name, on, condition, text, actions, shadow, description, used))
    return tuple(rules)


def _condition(
    node: Node,
    text: str | None,
    problems: Problems,
    where: str,
    resolver: FieldResolver,
    left_side: Side,
    right_side: Side,
) -> Expr | None:
    if text is None:
        return None
    try:
        parsed = parse_expression(text)
    except ExpressionError as exc:
        problems.add_in_text(node, exc.offset, str(exc), where)
        return None
    checked = check_condition(parsed, resolver, left_side, right_side)
    for offset, message in checked.problems:
        problems.add_in_text(node, offset, message, where)
    return checked.expr


def _rule_resolver(
    on: EventKind, params: dict[str, Param], counters: dict[str, Counter]
) -> FieldResolver:
    namespace, event_fields = EVENT_FIELDS[on]
    spaces = {**ENTITY_FIELDS, namespace: event_fields}

    def resolve(path: FieldPath) -> ValueType | str:
        head, rest = path.parts[0], path.parts[1:]
        if head == "counters":
            if len(rest) == 1 and rest[0] in counters:
                return ValueType.NUMBER
            known = ", ".join(sorted(counters)) or "none"
            return f"unknown counter {'.'.join(rest)!r} (declared counters: {known})"
        if head == "params":
            return _param(rest, params)
        return _field(path, spaces, f"in a rule on {on.value} events")

    return resolve


def _filter_resolver(
    fields: dict[str, dict[str, ValueType]], params: dict[str, Param], count: EventKind
) -> FieldResolver:
    def resolve(path: FieldPath) -> ValueType | str:
        if path.parts[0] == "params":
            return _param(path.parts[1:], params)
        return _field(path, fields, f"in a filter on counted {count.value} rows")

    return resolve


def _param(rest: tuple[str, ...], params: dict[str, Param]) -> ValueType | str:
    if len(rest) == 1 and rest[0] in params:
        return params[rest[0]].type
    known = ", ".join(sorted(params)) or "none"
    return f"unknown param {'.'.join(rest)!r} (declared params: {known})"


def _field(path: FieldPath, spaces: dict[str, dict[str, ValueType]], where: str) -> ValueType | str:
    head = path.parts[0]
    if head not in spaces:
        known = ", ".join(sorted([*spaces, "counters", "params"]))
        return f"unknown field {path.dotted!r} {where}: expected one of {known}"
    if len(path.parts) == 2 and path.parts[1] in spaces[head]:
        return spaces[head][path.parts[1]]
    known = ", ".join(f"{head}.{name}" for name in spaces[head])
    return f"unknown field {path.dotted!r} {where}: expected one of {known}"


def _used_counters(condition: Expr | None) -> tuple[str, ...]:
    if condition is None:
        return ()
    names = {p.parts[1] for p in paths_in(condition) if p.parts[0] == "counters"}
    return tuple(sorted(names))


def _counted(node: Node | None, problems: Problems, where: str) -> Counted | None:
    if node is None:
        problems.missing(where, "count")
        return None
    text = scalar_text(node, problems, where) or ""
    for kind in (EventKind, Volume):
        try:
            return kind(text)
        except ValueError:
            continue
    choices = ", ".join([*EventKind, *Volume])
    problems.add(node, f"count: unknown value {text!r}; expected one of {choices}", where)
    return None


def _enum(node: Node | None, enum: type[E], problems: Problems, where: str, key: str) -> E | None:
    if node is None:
        problems.missing(where, key)
        return None
    text = scalar_text(node, problems, where)
    try:
        return enum(text or "")
    except ValueError:
        choices = ", ".join(member.value for member in enum)
        problems.add(node, f"{key}: unknown value {text!r}; expected one of {choices}", where)
        return None


def _window(node: Node | None, problems: Problems, where: str) -> float | None:
    if node is None:
        problems.missing(where, "within")
        return None
    text = scalar_text(node, problems, where)
    seconds = parse_duration(text) if text is not None else None
    if seconds is None or seconds <= 0:
        problems.add(
            node, f"bad window {text!r}: expected a duration like 30m, 24h, 7d or 2w", where
        )
        return None
    if (why := out_of_range(seconds, is_duration=True)) is not None:
        problems.add(node, f"window {text!r}: {why}", where)
        return None
    return seconds
