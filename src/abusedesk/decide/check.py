"""Type-check a parsed condition and bring it into the one shape the engines accept.

The shape: negation normal form (no `not`), and every comparison with a field
alone on its left (`5 < counters.x` becomes `counters.x > 5`), because a
durable-rules comparison names a field and compares it with a value.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from abusedesk.decide.expr import (
    MIRROR,
    Arith,
    BoolOp,
    Compare,
    Expr,
    Literal,
    Not,
    Path,
    negation_normal_form,
    render,
)
from abusedesk.decide.model import ValueType

# Returns the field's type, or a message saying why the path is not a field here.
FieldResolver = Callable[[Path], ValueType | str]
# Which fields may stand alone on a comparison's left, and which may appear on its right.
Side = Callable[[Path], bool]

_ORDERED = {ValueType.NUMBER, ValueType.DURATION}


@dataclass
class Checked:
    expr: Expr | None
    problems: list[tuple[int, str]] = field(default_factory=list)


def check_condition(
    expr: Expr, resolve: FieldResolver, left_side: Side, right_side: Side
) -> Checked:
    """The normalized condition, or the problems (offset, message) that prevent it."""
    checked = Checked(None)
    kind = _type_of(expr, resolve, checked.problems)
    if checked.problems:
        return checked
    if kind is not ValueType.BOOL:
        checked.problems.append((0, f"a condition must be true or false, this is a {kind}"))
        return checked
    normal = _orient(negation_normal_form(expr), left_side, right_side, checked.problems)
    checked.expr = None if checked.problems else normal
    return checked


def _type_of(expr: Expr, resolve: FieldResolver, problems: list[tuple[int, str]]) -> ValueType:
    if isinstance(expr, Literal):
        if isinstance(expr.value, bool):
            return ValueType.BOOL
        if isinstance(expr.value, str):
            return ValueType.TEXT
        return ValueType.DURATION if expr.is_duration else ValueType.NUMBER
    if isinstance(expr, Path):
        found = resolve(expr)
        if isinstance(found, ValueType):
            return found
        problems.append((expr.offset, found))
        return ValueType.BOOL  # one message per mistake: callers see no knock-on errors
    if isinstance(expr, Arith):
        return _arith_type(expr, resolve, problems)
    if isinstance(expr, Compare):
        before = len(problems)
        left = _type_of(expr.left, resolve, problems)
        right = _type_of(expr.right, resolve, problems)
        if len(problems) > before:
            return ValueType.BOOL
        if left is not right:
            problems.append((expr.offset, _mismatch(expr, left, right)))
        elif expr.op not in {"==", "!="} and left not in _ORDERED:
            problems.append(
                (
                    expr.offset,
                    f"type mismatch: {expr.op!r} compares numbers or durations, "
                    f"not {left} values; use == or !=",
                )
            )
        return ValueType.BOOL
    items = [expr.item] if isinstance(expr, Not) else list(expr.items)
    for item in items:
        before = len(problems)
        kind = _type_of(item, resolve, problems)
        if kind is not ValueType.BOOL and len(problems) == before:
            word = "not" if isinstance(expr, Not) else expr.op
            problems.append(
                (
                    _offset(item),
                    f"type mismatch: {word!r} needs true/false conditions, "
                    f"but {render(item)} is a {kind}",
                )
            )
    return ValueType.BOOL


def _arith_type(expr: Arith, resolve: FieldResolver, problems: list[tuple[int, str]]) -> ValueType:
    before = len(problems)
    left = _type_of(expr.left, resolve, problems)
    right = _type_of(expr.right, resolve, problems)
    if len(problems) > before:
        return ValueType.NUMBER
    if expr.op in {"+", "-"} and left is right and left in _ORDERED:
        return left
    if expr.op == "/":
        divisor = expr.right
        if not (
            isinstance(divisor, Literal)
            and right is ValueType.NUMBER
            and isinstance(divisor.value, int | float)
            and divisor.value > 0
        ):
            problems.append(
                (
                    expr.right.offset,
                    "'/' divides only by a positive number written in the condition "
                    f"(e.g. / 1000), not by {render(expr.right)}",
                )
            )
            return ValueType.NUMBER
        if left in _ORDERED:
            return left
    if expr.op == "*" and {left, right} <= _ORDERED and ValueType.NUMBER in {left, right}:
        return ValueType.DURATION if ValueType.DURATION in {left, right} else ValueType.NUMBER
    problems.append(
        (expr.offset, f"type mismatch: cannot compute {left} {expr.op} {right} in {render(expr)}")
    )
    return ValueType.NUMBER


def _mismatch(expr: Compare, left: ValueType, right: ValueType) -> str:
    hint = ""
    if {left, right} == {ValueType.NUMBER, ValueType.DURATION}:
        hint = "; write durations with a unit, e.g. 3d or 24h"
    return (
        f"type mismatch: {render(expr.left)} is a {left} but {render(expr.right)} "
        f"is a {right}{hint}"
    )


def _orient(expr: Expr, left_side: Side, right_side: Side, problems: list[tuple[int, str]]) -> Expr:
    if isinstance(expr, BoolOp):
        items = tuple(_orient(i, left_side, right_side, problems) for i in expr.items)
        return BoolOp(expr.op, items, expr.offset)
    if not isinstance(expr, Compare):
        return expr
    left, right = _isolate(expr.left, expr.right), _isolate(expr.right, expr.left)
    if isinstance(left[0], Path) and left_side(left[0]) and _only(left[1], right_side):
        return Compare(expr.op, left[0], left[1], expr.offset)
    if isinstance(right[0], Path) and left_side(right[0]) and _only(right[1], right_side):
        return Compare(MIRROR[expr.op], right[0], right[1], expr.offset)
    problems.append(
        (
            expr.offset,
            f"cannot compare {render(expr)}: put one field alone on one side and "
            "values, params or arithmetic on the other (e.g. counters.x > params.limit * 2)",
        )
    )
    return expr


def _isolate(side: Expr, other: Expr) -> tuple[Expr, Expr]:
    """`field * k` against `other` becomes `field` against `other / k`, for a positive k.

    So a rate reads as authors write it (`counters.complaints * 1000 >
    counters.sent * params.per_mille`) while durable-rules still sees a field
    alone on the left; dividing by a positive number keeps the comparison's sense.
    """
    if isinstance(side, Arith) and side.op == "*":
        for field_, factor in ((side.left, side.right), (side.right, side.left)):
            if (
                isinstance(field_, Path)
                and isinstance(factor, Literal)
                and not isinstance(factor.value, bool)
                and isinstance(factor.value, int | float)
                and factor.value > 0
            ):
                return field_, Arith("/", other, factor, side.offset)
    return side, other


def _only(expr: Expr, allowed: Side) -> bool:
    if isinstance(expr, Path):
        return allowed(expr)
    if isinstance(expr, Arith):
        return _only(expr.left, allowed) and _only(expr.right, allowed)
    return isinstance(expr, Literal)


def _offset(expr: Expr) -> int:
    return expr.offset
