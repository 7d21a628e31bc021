"""The condition language of rules files: a tokenizer and a recursive-descent parser.

Nothing here evaluates Python: the parser builds a small tree of frozen
dataclasses, and only the operators below exist.

    expr    := or
    or      := and ("or" and)*
    and     := not ("and" not)*
    not     := "not" not | compare
    compare := sum (("<" | "<=" | ">" | ">=" | "==" | "!=") sum)?
    sum     := product (("+" | "-") product)*
    product := atom (("*" | "/") atom)*
    atom    := NUMBER | DURATION | STRING | "true" | "false" | PATH | "(" expr ")"

A DURATION is a number glued to a unit (`30s`, `15m`, `24h`, `3d`, `2w`); a
PATH is dotted names (`counters.complaints_24h`, `report.trusted`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

UNIT_SECONDS: Final = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
COMPARISONS: Final = ("<=", ">=", "==", "!=", "<", ">")
INVERSE: Final = {"<": ">=", "<=": ">", ">": "<=", ">=": "<", "==": "!=", "!=": "=="}
MIRROR: Final = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "==", "!=": "!="}

_TOKEN = re.compile(
    r"""(?P<space>\s+)
      | (?P<duration>\d+(?:\.\d+)?[smhdw])(?![A-Za-z0-9_])
      | (?P<number>\d+(?:\.\d+)?)(?![A-Za-z_])
      | (?P<string>'[^'\\]*'|"[^"\\]*")
      | (?P<path>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_-]*)*)
      | (?P<op><=|>=|==|!=|<|>|\+|-|\*|/|\(|\))
    """,
    re.VERBOSE,
)
_KEYWORDS: Final = frozenset({"and", "or", "not", "true", "false"})


class ExpressionError(ValueError):
    """A condition does not parse; `offset` is where in the text the problem is."""

    def __init__(self, message: str, offset: int) -> None:
        super().__init__(message)
        self.offset = offset


@dataclass(frozen=True, slots=True)
class Literal:
    value: bool | int | float | str
    offset: int
    is_duration: bool = False
    """A duration literal; `value` is then in seconds."""


@dataclass(frozen=True, slots=True)
class Path:
    parts: tuple[str, ...]
    offset: int

    @property
    def dotted(self) -> str:
        return ".".join(self.parts)


@dataclass(frozen=True, slots=True)
class Arith:
    op: str
    left: Expr
    right: Expr
    offset: int


@dataclass(frozen=True, slots=True)
class Compare:
    op: str
    left: Expr
    right: Expr
    offset: int


@dataclass(frozen=True, slots=True)
class Not:
    item: Expr
    offset: int


@dataclass(frozen=True, slots=True)
class BoolOp:
    op: str  # "and" | "or"
    items: tuple[Expr, ...]
    offset: int


Expr = Literal | Path | Arith | Compare | Not | BoolOp


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str
    text: str
    offset: int


def tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    position = 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:
            raise ExpressionError(f"unexpected character {text[position]!r}", position)
        kind = match.lastgroup
        assert kind is not None
        word = match.group()
        if kind != "space":
            if kind == "path" and word in _KEYWORDS:
                kind = word
            tokens.append(_Token(kind, word, position))
        position = match.end()
    tokens.append(_Token("end", "", len(text)))
    return tokens


def parse_expression(text: str) -> Expr:
    """Parse a condition; raises `ExpressionError` saying what was expected where."""
    return _Parser(tokenize(text)).parse()


class _Parser:
    def __init__(self, tokens: list[_Token]) -> None:
        self._tokens = tokens
        self._index = 0

    @property
    def _next(self) -> _Token:
        return self._tokens[self._index]

    def _take(self) -> _Token:
        token = self._tokens[self._index]
        self._index += 1
        return token

    def _at(self, *texts: str) -> bool:
        token = self._next
        return token.kind in {"op", "and", "or", "not"} and token.text in texts

    def parse(self) -> Expr:
        expr = self._or()
        if self._next.kind != "end":
            raise ExpressionError(
                f"expected an operator or the end of the condition, found {self._next.text!r}",
                self._next.offset,
            )
        return expr

    def _or(self) -> Expr:
        return self._bool("or", self._and)

    def _and(self) -> Expr:
        return self._bool("and", self._not)

    def _bool(self, op: str, operand: Callable[[], Expr]) -> Expr:
        start = self._next.offset
        items: list[Expr] = [operand()]
        while self._at(op):
            self._take()
            items.append(operand())
        return items[0] if len(items) == 1 else BoolOp(op, tuple(items), start)

    def _not(self) -> Expr:
        if self._at("not"):
            token = self._take()
            return Not(self._not(), token.offset)
        return self._compare()

    def _compare(self) -> Expr:
        left = self._sum()
        if self._at(*COMPARISONS):
            token = self._take()
            right = self._sum()
            if self._at(*COMPARISONS):
                raise ExpressionError(
                    "comparisons cannot be chained; join them with 'and'", self._next.offset
                )
            return Compare(token.text, left, right, token.offset)
        return left

    def _sum(self) -> Expr:
        left = self._product()
        while self._at("+", "-"):
            token = self._take()
            left = Arith(token.text, left, self._product(), token.offset)
        return left

    def _product(self) -> Expr:
        left = self._atom()
        while self._at("*", "/"):
            token = self._take()
            left = Arith(token.text, left, self._atom(), token.offset)
        return left

    def _atom(self) -> Expr:
        token = self._take()
        if token.kind == "number":
            number = float(token.text) if "." in token.text else int(token.text)
            if (why := out_of_range(number, is_duration=False)) is not None:
                raise ExpressionError(why, token.offset)
            return Literal(number, token.offset)
        if token.kind == "duration":
            seconds = float(token.text[:-1]) * UNIT_SECONDS[token.text[-1]]
            if (why := out_of_range(seconds, is_duration=True)) is not None:
                raise ExpressionError(why, token.offset)
            return Literal(seconds, token.offset, is_duration=True)
        if token.kind == "string":
            return Literal(token.text[1:-1], token.offset)
        if token.kind in {"true", "false"}:
            return Literal(token.kind == "true", token.offset)
        if token.kind == "path":
            return Path(tuple(token.text.split(".")), token.offset)
        if token.kind == "op" and token.text == "(":
            inner = self._or()
            if not self._at(")"):
                raise ExpressionError(f"expected ')', found {self._next.text!r}", self._next.offset)
            self._take()
            return inner
        found = "the end of the condition" if token.kind == "end" else repr(token.text)
        raise ExpressionError(
            f"expected a value (number, duration, 'text', true/false or a field), found {found}",
            token.offset,
        )


def negation_normal_form(expr: Expr, negate: bool = False) -> Expr:
    """Push every `not` down to the comparisons, so durable-rules needs no negation.

    `not (a < b)` becomes `a >= b`: a comparison with a missing value is false
    either way, in durable-rules and in our own evaluator alike.
    """
    if isinstance(expr, Not):
        return negation_normal_form(expr.item, not negate)
    if isinstance(expr, BoolOp):
        op = expr.op if not negate else ("or" if expr.op == "and" else "and")
        items = tuple(negation_normal_form(item, negate) for item in expr.items)
        return BoolOp(op, items, expr.offset)
    if isinstance(expr, Compare):
        return Compare(INVERSE[expr.op] if negate else expr.op, expr.left, expr.right, expr.offset)
    if isinstance(expr, Path):
        return Compare("!=" if negate else "==", expr, Literal(True, expr.offset), expr.offset)
    if isinstance(expr, Literal) and isinstance(expr.value, bool):
        return Literal(expr.value != negate, expr.offset)
    return expr


def paths_in(expr: Expr) -> list[Path]:
    """Every field a condition reads, in order of appearance."""
    if isinstance(expr, Path):
        return [expr]
    if isinstance(expr, Arith | Compare):
        return paths_in(expr.left) + paths_in(expr.right)
    if isinstance(expr, Not):
        return paths_in(expr.item)
    if isinstance(expr, BoolOp):
        return [path for item in expr.items for path in paths_in(item)]
    return []


def render(expr: Expr) -> str:
    """The condition written back as text (for explanations)."""
    if isinstance(expr, Literal):
        if isinstance(expr.value, bool):
            return "true" if expr.value else "false"
        if isinstance(expr.value, str):
            return repr(expr.value)
        return format_duration(expr.value) if expr.is_duration else f"{expr.value:g}"
    if isinstance(expr, Path):
        return expr.dotted
    if isinstance(expr, Compare):
        return f"{render(expr.left)} {expr.op} {render(expr.right)}"
    if isinstance(expr, Arith):
        return f"{_operand(expr.left, expr, False)} {expr.op} {_operand(expr.right, expr, True)}"
    if isinstance(expr, Not):
        return f"not ({render(expr.item)})"
    return f" {expr.op} ".join(
        f"({render(item)})" if isinstance(item, BoolOp) else render(item) for item in expr.items
    )


_BINDS: Final = {"+": 1, "-": 1, "*": 2, "/": 2}


def _operand(item: Expr, parent: Arith, on_right: bool) -> str:
    """An operand of `parent`, in parentheses where leaving them out changes the meaning."""
    text = render(item)
    if not isinstance(item, Arith):
        return text
    looser = _BINDS[item.op] < _BINDS[parent.op]
    regrouped = on_right and _BINDS[item.op] == _BINDS[parent.op] and parent.op in {"-", "/"}
    return f"({text})" if looser or regrouped else text


def format_duration(seconds: float) -> str:
    for unit in ("w", "d", "h", "m"):
        size = UNIT_SECONDS[unit]
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"


MAX_NUMBER = 10**15
"""The largest number a rules file may write: exact as a double (what durable-rules and the
counters compare in), and far past any count, limit or rate."""
MAX_DURATION = 36_500 * 86_400.0
"""The longest duration (a window, an age) in seconds: 100 years. Longer ones overflow the
date arithmetic of counting windows (`timedelta`) and mean nothing for an abuse policy."""


def out_of_range(value: float, *, is_duration: bool) -> str | None:
    """Why a number or duration of a rules file cannot be held, or None when it can."""
    if value != value or value in (float("inf"), float("-inf")):
        return f"{value} is not a finite number"
    if is_duration and abs(value) > MAX_DURATION:
        return f"a duration can be at most 36500d (100 years), not {value / 86_400:.0f}d"
    if not is_duration and abs(value) > MAX_NUMBER:
        return f"a number can be at most {MAX_NUMBER:,} in size, not {value:.3g}"
    return None


def parse_duration(text: str) -> float | None:
    """Seconds in a window like `24h`; None when `text` is not a duration."""
    match = re.fullmatch(r"(\d+(?:\.\d+)?)([smhdw])", text.strip())
    if match is None:
        return None
    return float(match.group(1)) * UNIT_SECONDS[match.group(2)]
