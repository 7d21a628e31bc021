"""Counters kept in memory over a time-ordered stream of rows: how a replay counts.

A replay walks a month of history in time order; asking the database once per
replayed event would take hours. `WindowCounter` keeps each counter's rows per
scope in a deque, drops rows as they leave the window, and counts exactly what
the SQL in counters.py counts (tests/decide/test_replay.py holds them to that).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from abusedesk.decide.counters import Subject
from abusedesk.decide.evaluate import compile_predicate
from abusedesk.decide.expr import BoolOp, Compare, Expr, Path, paths_in
from abusedesk.decide.model import Counter, Scope, Value, Volume

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)
HOUR_MICROS = 3_600_000_000


def micros(at: datetime) -> int:
    """Exact integer microseconds: window edges must not round differently from SQL's."""
    return (at - EPOCH) // MICROSECOND


class WindowCounter:
    def __init__(
        self,
        counter: Counter,
        subjects: dict[int, Subject],
        params_for: Callable[[Subject], dict[str, Value]],
    ) -> None:
        self.counter = counter
        self._subjects = subjects
        self._params_for = params_for
        self._within = int(counter.within * 1_000_000)
        self._created: dict[int, int | None] = {}
        self._rows: dict[int, deque[tuple[int, int, dict[str, Any] | None]]] = {}
        where = counter.where
        self._holds = compile_predicate(where) if where is not None else None
        reads = {p.dotted for p in paths_in(where)} if where is not None else set()
        reads_params = any(name.startswith("params.") for name in reads)
        # Rows are judged when added unless the verdict depends on the deciding moment
        # (a mailbox's age) or on the deciding domain's params (company-wide counters).
        self._at_count_time = "mailbox.age" in reads or (
            reads_params and counter.per is Scope.COMPANY
        )
        # `mailbox.age < X` only ever turns false as time passes, so a row failing it
        # when added never counts later and need not be kept.
        self._prefilter = (
            self._at_count_time
            and counter.per is not Scope.COMPANY
            and (where is not None and _only_young(where))
        )

    def add(self, at: int, mailbox_id: int, fields: dict[str, Any]) -> None:
        """Add a row that happened at `at` (microseconds) for `mailbox_id`."""
        subject = self._subjects.get(mailbox_id)
        if subject is None:
            return
        judge_now = not self._at_count_time or self._prefilter
        if (
            self._holds is not None
            and judge_now
            and not self._holds(self._facts(fields, mailbox_id, at, self._params_for(subject)))
        ):
            return
        kept = fields if self._at_count_time else None
        self._rows.setdefault(self._key(subject), deque()).append((at, mailbox_id, kept))

    def count(self, subject: Subject, at: int, params: dict[str, Value], cap: int | None) -> int:
        rows = self._rows.get(self._key(subject))
        if not rows:
            return 0
        while rows and rows[0][0] <= at - self._within:
            rows.popleft()
        if not rows:
            return 0
        if not self._at_count_time and not self.counter.distinct:
            total = sum(1 for row in rows if row[0] <= at) if rows[-1][0] > at else len(rows)
            return total if cap is None else min(total, cap)
        seen: set[int] = set()
        total = 0
        for row_at, mailbox_id, fields in reversed(rows):
            if row_at > at:
                continue
            if self.counter.distinct and mailbox_id in seen:
                continue
            if (
                fields is not None
                and self._holds is not None
                and not self._holds(self._facts(fields, mailbox_id, at, params))
            ):
                continue
            seen.add(mailbox_id)
            total += 1
            if cap is not None and total >= cap:
                break
        return total

    def _key(self, subject: Subject) -> int:
        return _scope_key(self.counter.per, subject)

    def _facts(
        self, fields: dict[str, Any], mailbox_id: int, at: int, params: dict[str, Value]
    ) -> dict[str, Any]:
        created = self._created_micros(mailbox_id)
        age = None if created is None else (at - created) / 1_000_000
        return {**fields, "mailbox": {"age": age}, "params": params}

    def _created_micros(self, mailbox_id: int) -> int | None:
        if mailbox_id not in self._created:
            created_at = self._subjects[mailbox_id].created_at
            self._created[mailbox_id] = None if created_at is None else micros(created_at)
        return self._created[mailbox_id]


def _only_young(expr: Expr) -> bool:
    """True when every age comparison in `expr` can only turn false as the mailbox ages."""
    if isinstance(expr, BoolOp):
        return all(_only_young(item) for item in expr.items)
    if isinstance(expr, Compare) and isinstance(expr.left, Path):
        return expr.left.dotted != "mailbox.age" or expr.op in {"<", "<="}
    return True


class VolumeWindow:
    """A sent-volume counter over hourly buckets fed in time order (see decide/volume.py).

    A replay feeds each stored bucket at its hour's start, so it sees the hour's
    whole volume where a live decision saw what was metered until then.
    """

    def __init__(self, counter: Counter, subjects: dict[int, Subject]) -> None:
        assert isinstance(counter.count, Volume)
        self.counter = counter
        self._subjects = subjects
        self._reach = int(counter.within * 1_000_000) + HOUR_MICROS
        self._buckets: dict[int, deque[tuple[int, int]]] = {}
        self._totals: dict[int, int] = {}

    def add(self, hour: int, mailbox_id: int, messages: int, recipients: int) -> None:
        subject = self._subjects.get(mailbox_id)
        if subject is None:
            return
        amount = messages if self.counter.count is Volume.SENT else recipients
        key = _scope_key(self.counter.per, subject)
        self._buckets.setdefault(key, deque()).append((hour, amount))
        self._totals[key] = self._totals.get(key, 0) + amount

    def count(self, subject: Subject, at: int, params: dict[str, Value], cap: int | None) -> int:
        key = _scope_key(self.counter.per, subject)
        buckets = self._buckets.get(key)
        while buckets and buckets[0][0] <= at - self._reach:
            self._totals[key] -= buckets.popleft()[1]
        return self._totals.get(key, 0)


def _scope_key(per: Scope, subject: Subject) -> int:
    if per is Scope.MAILBOX:
        return subject.mailbox_id
    return subject.domain_id if per is Scope.DOMAIN else subject.company_id
