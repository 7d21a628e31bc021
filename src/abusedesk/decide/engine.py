"""The policy engine: the loaded rules, compiled once, asked serially from this one place.

Build one `PolicyEngine` at start-up and pass it to whoever decides. Every call
into durable-rules goes through `PolicyEngine.evaluate`, under one lock, so the
C engine never sees two threads. A hot reload (`replace`) compiles the new rules
first and swaps them in under the same lock: a decision runs wholly on the old
rules or wholly on the new ones.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from itertools import count
from typing import TYPE_CHECKING, Any

from abusedesk.decide.counters import CounterQueries
from abusedesk.decide.durable_rules import DurableRules
from abusedesk.decide.evaluate import holds, values_seen, why_not
from abusedesk.decide.model import ACTION_NAMES, Action, EventKind, RuleSet
from abusedesk.errors import RulesError

if TYPE_CHECKING:
    from abusedesk.notify.compose import NoticeComposer


class RulesChanged(Exception):
    """The rules were replaced while a decision was being prepared; prepare it again."""


@dataclass(eq=False)
class Snapshot:
    """One version of the rules, as compiled; retired once replaced."""

    ruleset: RuleSet
    durable: DurableRules
    retired: bool = False
    queries: CounterQueries = field(default_factory=CounterQueries)


@dataclass(frozen=True, slots=True)
class Intent:
    """What one fired rule wants done; the project does it afterwards (see abusedesk.act)."""

    rule: str
    action: Action
    shadow: bool

    @property
    def name(self) -> str:
        return ACTION_NAMES[type(self.action)]


@dataclass
class Verdict:
    fired: list[dict[str, Any]] = field(default_factory=list)
    missed: list[dict[str, Any]] = field(default_factory=list)
    intents: list[Intent] = field(default_factory=list)


class PolicyEngine:
    def __init__(self, ruleset: RuleSet, notices: NoticeComposer | None = None) -> None:
        # The notices the rules ask for are queued with the decision; without a
        # composer (scenarios, replays) they are recorded but never queued.
        self.notices = notices
        self._lock = threading.Lock()
        self._current = Snapshot(ruleset, DurableRules(ruleset))
        self._facts = count(1)

    @property
    def ruleset(self) -> RuleSet:
        return self._current.ruleset

    def snapshot(self) -> Snapshot:
        return self._current

    def replace(self, ruleset: RuleSet) -> None:
        """Swap in checked rules; the old compiled ruleset is freed once no one can use it."""
        compiled = Snapshot(ruleset, DurableRules(ruleset))
        with self._lock:
            old, self._current = self._current, compiled
            old.retired = True
            old.durable.close()

    def evaluate(
        self, snapshot: Snapshot, kind: EventKind, key: str, facts: dict[str, Any]
    ) -> Verdict:
        """Which of the rules on `kind` events fire for `facts`, which do not and why."""
        facts = plain_numbers(facts)
        fact = {**facts, "id": f"{key}#{next(self._facts)}"}
        with self._lock:
            if snapshot.retired:
                raise RulesChanged
            fired = set(snapshot.durable.fire(fact))
        verdict = Verdict()
        for rule in snapshot.ruleset.rules_for(kind):
            expected = rule.when is None or holds(rule.when, facts)
            if expected != (rule.name in fired):
                # Two engines, one meaning: a disagreement is a bug to see, never to act on.
                said = "fired" if rule.name in fired else "did not fire"
                raise RulesError(
                    f"rule {rule.name!r}: durable-rules {said} but the condition is "
                    f"{expected} for {values_seen(rule.when, facts)}"
                )
            if expected:
                values = values_seen(rule.when, facts)
                verdict.fired.append({"rule": rule.name, "shadow": rule.shadow, "values": values})
                verdict.intents.extend(Intent(rule.name, a, rule.shadow) for a in rule.actions)
            else:
                assert rule.when is not None
                verdict.missed.append({"rule": rule.name, "reason": why_not(rule.when, facts)})
        return verdict


def plain_numbers(facts: dict[str, Any]) -> dict[str, Any]:
    """The facts with every number in a form durable-rules can read.

    Its JSON parser rejects exponents (1e-05, 2e+20: "error code 204"), so tiny
    fractions become 0 and huge values whole numbers — for both evaluators alike.
    """
    return {key: _plain(value) for key, value in facts.items()}


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return plain_numbers(value)
    if isinstance(value, float) and "e" in repr(value):
        if abs(value) < 1:
            return 0.0
        if abs(value) >= 2**63:
            raise RulesError(f"the number {value!r} is too large for durable-rules")
        return int(value)
    return value
