"""Compile a checked rules file into one durable-rules ruleset, and ask it which rules fire.

durable-rules (2.0.28) is unmaintained and sharp; each edge is handled here:

- Its C engine is not thread-safe, and its `Host` starts timer threads that
  call into it every 0.2 s. `_QuietHost` starts none (we use no timers), and
  `DurableRules.fire` is only called under `PolicyEngine`'s lock.
- An event matched by one rule is consumed and other rules never see it. So
  each decision is *asserted as a fact* (facts are seen by every rule), the
  fired rules collected, and the fact retracted before the next decision.
- An exception raised inside an action is swallowed. Our actions only append
  a rule name to a list; what to do is decided and done by the project.
- Identical events without an `id` are rejected; every fact gets a unique id.
- At most 1024 session ids: every fact uses the one session id `SESSION`.
- Errors come back as bare numbers ("error code: 202"); `_readable` names them.
"""

from __future__ import annotations

import re
from itertools import count
from typing import Any, Final

import durable_rules_engine  # type: ignore[import-not-found]
from durable import engine as durable_engine

from abusedesk.decide.expr import Arith, BoolOp, Compare, Expr, Literal, Path
from abusedesk.decide.model import RuleSet
from abusedesk.errors import RulesError

SESSION: Final = "abusedesk"
_OPERATORS: Final = {"!=": "$neq", "<": "$lt", "<=": "$lte", ">": "$gt", ">=": "$gte"}
_ARITHMETIC: Final = {"+": "$add", "-": "$sub", "*": "$mul", "/": "$div"}
# From durable-rules 2.x rules.h; the engine reports only the number.
_ERROR_NAMES: Final = {
    101: "out of memory",
    102: "unexpected type",
    103: "identifier too long",
    104: "unexpected value",
    105: "unexpected name",
    106: "too many rules",
    109: "rule without qualifier",
    111: "invalid handle",
    112: "too many rulesets or sessions (handle limit)",
    113: "expression too complex",
    201: "unparsable value",
    202: "unparsable string",
    203: "unparsable number",
    204: "unparsable object",
    205: "unparsable array",
    302: "too many properties in one event",
    303: "expression nested too deeply",
    309: "unknown session id",
    311: "property not found",
    312: "operation not supported",
}
_names = count()


class _QuietHost(durable_engine.Host):  # type: ignore[misc]
    """A durable-rules host without the background threads that would race our calls."""

    def _run(self) -> None:
        return None


class DurableRules:
    """One compiled rules file: `fire` asserts a decision's facts and returns the fired rules."""

    def __init__(self, ruleset: RuleSet) -> None:
        self._fired: list[str] = []
        # A fresh name per compile: the C engine keeps every ruleset it ever created.
        self.name = f"abusedesk_{ruleset.sha256[:12]}_{next(_names)}"
        definition = {
            f"r{index}": {
                "all": [{"m": _condition(rule.on.value, rule.when)}],
                "run": self._collector(rule.name),
            }
            for index, rule in enumerate(ruleset.rules)
        }
        try:
            self._host = _QuietHost({self.name: definition})
        except durable_rules_engine.error as exc:
            raise RulesError(
                f"{ruleset.path}: durable-rules refused the rules: {_readable(exc)}"
            ) from exc
        self._handle = self._host.get_ruleset(self.name)._handle

    def _collector(self, rule_name: str) -> Any:
        def collect(closure: Any) -> None:
            self._fired.append(rule_name)

        return collect

    def fire(self, fact: dict[str, Any]) -> list[str]:
        """The names of the rules `fact` satisfies. Callers hold the engine lock."""
        fact = {**fact, "sid": SESSION}
        self._fired = []
        try:
            self._host.assert_fact(self.name, fact)
        except durable_engine.MessageNotHandledException:
            pass  # no rule matched
        except durable_engine.MessageObservedException as exc:
            # Its identity is a 32-bit hash: a clash must be seen, not decided on.
            raise RulesError(f"durable-rules took fact {fact['id']} for one it has seen") from exc
        except durable_rules_engine.error as exc:
            raise RulesError(
                f"durable-rules failed on fact {fact['id']}: {_readable(exc)}"
            ) from exc
        finally:
            self._retract(fact)
        return list(self._fired)

    def _retract(self, fact: dict[str, Any]) -> None:
        try:
            self._host.retract_fact(self.name, fact)
        except durable_engine.MessageNotHandledException:
            pass
        except durable_rules_engine.error as exc:
            raise RulesError(
                f"durable-rules could not retract fact {fact['id']}: {_readable(exc)}"
            ) from exc

    def close(self) -> None:
        """Free the C engine's ruleset; call once no decision can use it any more."""
        durable_rules_engine.delete_ruleset(self._handle)


def _condition(event: str, when: Expr | None) -> dict[str, Any]:
    clauses: list[Any] = [{"event": event}]
    if when is not None:
        clauses.append(_compile(when))
    return {"$and": clauses}


def _compile(expr: Expr) -> dict[str, Any]:
    if isinstance(expr, BoolOp):
        return {f"${expr.op}": [_compile(item) for item in expr.items]}
    if isinstance(expr, Literal):
        # A constant condition: `true` needs no test, `false` can never match an event.
        return {"$ex": {"event": 1}} if expr.value is True else {"event": "never"}
    assert isinstance(expr, Compare) and isinstance(expr.left, Path)
    field, value = expr.left.dotted, _operand(expr.right)
    if expr.op == "==":
        return {field: value}
    return {_OPERATORS[expr.op]: {field: value}}


def _operand(expr: Expr) -> Any:
    if isinstance(expr, Literal):
        return expr.value
    if isinstance(expr, Path):
        return {"$m": expr.dotted}
    assert isinstance(expr, Arith)
    right = _operand(expr.right)
    if expr.op == "/":
        # Its C engine divides integers as integers (7 / 2 is 3); a float divisor
        # makes it divide as Python does.
        right = float(right)
    return {_ARITHMETIC[expr.op]: {"$l": _operand(expr.left), "$r": right}}


def _readable(exc: BaseException) -> str:
    text = str(exc)
    match = re.search(r"error code: (\d+)", text)
    if match is None:
        return text
    number = int(match.group(1))
    return f"{_ERROR_NAMES.get(number, 'unknown error')} (durable-rules error {number})"
