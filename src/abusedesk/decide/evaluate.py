"""Evaluate a checked condition over facts, in Python, and say in words why it failed.

durable-rules decides which rules fire; this evaluator runs beside it to explain
misses, to check durable-rules' answer, and to find how far each counter must
count. A comparison with a missing value is false (as in durable-rules).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

from abusedesk.decide.expr import Arith, BoolOp, Compare, Expr, Literal, Path, paths_in, render
from abusedesk.decide.model import Rule, Value

Facts = Mapping[str, Any]


def lookup(facts: Facts, path: Path) -> Value | None:
    value: Any = facts
    for part in path.parts:
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value  # type: ignore[no-any-return]


def value_of(expr: Expr, facts: Facts) -> Value | None:
    if isinstance(expr, Literal):
        return expr.value
    if isinstance(expr, Path):
        return lookup(facts, expr)
    if isinstance(expr, Arith):
        left, right = value_of(expr.left, facts), value_of(expr.right, facts)
        if not _number(left) or not _number(right):
            return None
        assert isinstance(left, int | float) and isinstance(right, int | float)
        if expr.op == "+":
            return left + right
        if expr.op == "/":
            # The checker only lets a file divide by a number it writes, never by zero.
            return left / right if right else None
        return left - right if expr.op == "-" else left * right
    return holds(expr, facts)


def holds(expr: Expr, facts: Facts) -> bool:
    if isinstance(expr, BoolOp):
        results = (holds(item, facts) for item in expr.items)
        return all(results) if expr.op == "and" else any(results)
    if isinstance(expr, Compare):
        return compare(expr.op, value_of(expr.left, facts), value_of(expr.right, facts))
    if isinstance(expr, Literal):
        return expr.value is True
    raise TypeError(f"not a checked condition: {render(expr)}")


def compare(op: str, left: Value | None, right: Value | None) -> bool:
    if left is None or right is None:
        return False
    if op == "==":
        return left == right
    if op == "!=":
        return left != right
    assert isinstance(left, int | float | str) and isinstance(right, int | float | str)
    if op == "<":
        return left < right  # type: ignore[operator]
    if op == "<=":
        return left <= right  # type: ignore[operator]
    if op == ">":
        return left > right  # type: ignore[operator]
    return left >= right  # type: ignore[operator]


def compile_predicate(expr: Expr) -> Callable[[Facts], bool]:
    """`holds` turned into closures once: a replay evaluates conditions millions of times."""
    if isinstance(expr, BoolOp):
        items = [compile_predicate(item) for item in expr.items]
        if expr.op == "and":
            return lambda facts: all(item(facts) for item in items)
        return lambda facts: any(item(facts) for item in items)
    if isinstance(expr, Compare):
        op, left, right = expr.op, _compile_value(expr.left), _compile_value(expr.right)
        return lambda facts: compare(op, left(facts), right(facts))
    constant = holds(expr, {})
    return lambda facts: constant


def _compile_value(expr: Expr) -> Callable[[Facts], Value | None]:
    if isinstance(expr, Path) and len(expr.parts) == 2:
        space, name = expr.parts
        return lambda facts: facts.get(space, {}).get(name)
    if isinstance(expr, Path | Arith):
        return lambda facts: value_of(expr, facts)
    constant = value_of(expr, {})
    return lambda facts: constant


def why_not(expr: Expr, facts: Facts) -> str:
    """The first reason `expr` is false, e.g. "counters.complaints_24h is 5, not > 5"."""
    if isinstance(expr, BoolOp):
        failing = [item for item in expr.items if not holds(item, facts)]
        if expr.op == "and":
            return why_not(failing[0], facts)
        return "none held: " + "; ".join(why_not(item, facts) for item in failing)
    if isinstance(expr, Compare):
        left = value_of(expr.left, facts)
        right = value_of(expr.right, facts)
        shown = render(expr.right)
        if not isinstance(expr.right, Literal):
            shown += f" ({_show(right)})"
        if left is None:
            return f"{render(expr.left)} is unknown"
        return f"{render(expr.left)} is {_show(left)}, not {expr.op} {shown}"
    return f"{render(expr)} is false"


def values_seen(expr: Expr | None, facts: Facts) -> dict[str, Value | None]:
    """Each field a condition read, with its value: what `decisions explain` shows."""
    if expr is None:
        return {}
    return {path.dotted: lookup(facts, path) for path in paths_in(expr)}


def counter_caps(rules: tuple[Rule, ...], facts: Facts) -> dict[str, int | None]:
    """How far each counter must count for these rules to decide alike (None: exactly).

    `counters.x > 5` decides the same for every x from 6 up, so counting can stop
    at 6: a domain with a million complaints a day costs what one with six does.
    A counter on the right of a comparison or beside arithmetic is counted exactly.
    """
    caps: dict[str, int | None] = {}
    for rule in rules:
        if rule.when is None:
            continue
        for comparison in comparisons(rule.when):
            left, right = comparison.left, comparison.right
            for path in paths_in(right):
                if path.parts[0] == "counters":
                    caps[path.parts[1]] = None
            if not (isinstance(left, Path) and left.parts[0] == "counters"):
                continue
            name = left.parts[1]
            bound = value_of(right, facts)
            if name in caps and caps[name] is None:
                continue
            if not _number(bound):
                caps[name] = None
                continue
            assert isinstance(bound, int | float)
            needed = max(math.floor(bound) + 1, 1)
            caps[name] = max(caps.get(name) or 0, needed)
    return caps


def comparisons(expr: Expr) -> list[Compare]:
    if isinstance(expr, Compare):
        return [expr]
    if isinstance(expr, BoolOp):
        return [c for item in expr.items for c in comparisons(item)]
    return []


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _show(value: Value | None) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return repr(value)
    return "unknown" if value is None else f"{value:g}"
