"""The SQL of one counter: the rows it counts in a window or at its edges, and bucket sums.

Built once per counter and rules version (building a statement costs more than
SQLite takes to run it); `counters.SqlCounters` runs them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    bindparam,
    false,
    func,
    or_,
    select,
    true,
    union_all,
)
from sqlalchemy.orm import Mapped
from sqlalchemy.sql.elements import BindParameter
from sqlmodel import col

from abusedesk.decide.evaluate import value_of
from abusedesk.decide.expr import MIRROR, BoolOp, Compare, Expr, Literal, Path, paths_in
from abusedesk.decide.model import Counter, EventKind, Scope, Value
from abusedesk.store.tables import Complaint, ComplaintVolume, Domain, Mailbox, Suspension

if TYPE_CHECKING:
    from abusedesk.decide.counters import Subject


class CounterQuery:
    def __init__(self, counter: Counter) -> None:
        self.counter = counter
        # (bind name, right-hand side, compares an age) for every comparison in `where`.
        self._binds: list[tuple[str, Expr, bool]] = []
        assert isinstance(counter.count, EventKind)
        table = _TABLES[counter.count]
        counted = _rows(counter, self, distinct=counter.distinct).limit(bindparam("cap"))
        self.count = select(func.count()).select_from(counted.subquery())
        self.buckets: Select[Any] | None = None
        if _answered_by_buckets(counter):
            self.buckets = _bucket_sum(counter, self)
            # Two ranges joined, not one OR: an OR of ranges defeats the index.
            at_edges = union_all(
                _rows(counter, self, distinct=False, edge="low"),
                _rows(counter, self, distinct=False, edge="high"),
            ).limit(bindparam("cap"))
            self.edges = select(func.count()).select_from(at_edges.subquery())
        self.rows = (
            _rows(counter, self, distinct=False)
            .order_by(table.time_column.desc())
            .limit(bindparam("cap"))
        )

    def bind(self, right: Expr, is_age: bool) -> BindParameter[Any]:
        name = f"v{len(self._binds)}"
        self._binds.append((name, right, is_age))
        return bindparam(name)

    def values(
        self, subject: Subject, at: datetime, params: dict[str, Value], cap: int
    ) -> dict[str, Any]:
        values: dict[str, Any] = {
            "mailbox_id": subject.mailbox_id,
            "domain_id": subject.domain_id,
            "company_id": subject.company_id,
            "start": at - timedelta(seconds=self.counter.within),
            "end": at,
            "cap": cap,
        }
        for name, right, is_age in self._binds:
            bound = value_of(right, {"params": params})
            if is_age and isinstance(bound, int | float):
                # age < X  ⇔  created_at > at - X : the indexed column, not a computed age.
                values[name] = age_cutoff(at, bound)
            else:
                values[name] = bound  # NULL when missing: the comparison is then false
        return values


_EARLIEST = datetime(1, 1, 2, tzinfo=UTC)
_LATEST = datetime(9999, 12, 30, tzinfo=UTC)


def age_cutoff(at: datetime, seconds: float) -> datetime | None:
    """When an account `seconds` old at `at` was created; past the calendar's ends, its end.

    A rules file's numbers are bounded, but arithmetic on them (`3d * 10^15`) is not:
    an age beyond the calendar compares as the calendar's first or last day, which
    decides the same, and an age that is no number (NaN) as missing (the comparison
    is then false), so that no condition can fail the decision.
    """
    if seconds != seconds:
        return None
    try:
        return at - timedelta(seconds=seconds)
    except OverflowError:
        return _EARLIEST if seconds > 0 else _LATEST


@dataclass(frozen=True, slots=True)
class _Table:
    id_column: Mapped[Any]
    time_column: Mapped[Any]
    mailbox_column: Mapped[Any]
    fields: dict[str, Mapped[Any]]
    domain_column: Mapped[Any] | None = None


_TABLES = {
    EventKind.COMPLAINT: _Table(
        col(Complaint.id),
        col(Complaint.occurred_at),
        col(Complaint.mailbox_id),
        {
            "report.kind": col(Complaint.kind),
            "report.trusted": col(Complaint.trusted),
            "report.format": col(Complaint.format),
            "report.feedback_type": col(Complaint.feedback_type),
            "report.reporter": col(Complaint.reporter),
        },
        col(Complaint.domain_id),
    ),
    EventKind.SUSPENSION: _Table(
        col(Suspension.id),
        col(Suspension.started_at),
        col(Suspension.mailbox_id),
        {"suspension.rule": col(Suspension.rule), "suspension.service": col(Suspension.service)},
    ),
    EventKind.LIFT: _Table(
        col(Suspension.id),
        col(Suspension.lifted_at),
        col(Suspension.mailbox_id),
        {"lift.outcome": col(Suspension.outcome)},
    ),
    EventKind.SIGNUP: _Table(
        col(Mailbox.id),
        col(Mailbox.created_at),
        col(Mailbox.id),
        {"signup.ip": col(Mailbox.signup_ip)},
    ),
}


def _answered_by_buckets(counter: Counter) -> bool:
    """Whether the hourly complaint buckets answer `counter` (see record/buckets.py).

    They do for plain counts of complaints across a domain or a company, filtered
    on nothing but the report's kind and trust: what the buckets are kept by.
    """
    reads = {path.dotted for path in paths_in(counter.where)} if counter.where else set()
    return (
        counter.count is EventKind.COMPLAINT
        and counter.per is not Scope.MAILBOX
        and not counter.distinct
        and all(name in _BUCKET_FIELDS or name.startswith("params.") for name in reads)
    )


def _bucket_sum(counter: Counter, query: CounterQuery) -> Select[Any]:
    total: Select[Any] = select(func.coalesce(func.sum(col(ComplaintVolume.complaints)), 0))
    domain = col(ComplaintVolume.domain_id)
    if counter.per is Scope.DOMAIN:
        total = total.where(domain == bindparam("domain_id"))
    else:
        total = total.join(Domain, col(Domain.id) == domain).where(
            col(Domain.company_id) == bindparam("company_id")
        )
    hour = col(ComplaintVolume.hour)
    total = total.where(hour >= bindparam("first"), hour < bindparam("last"))
    if counter.where is not None:
        total = total.where(_sql(counter.where, _BUCKETS, query))
    return total


def _rows(
    counter: Counter, query: CounterQuery, distinct: bool, edge: str | None = None
) -> Select[Any]:
    """The counted rows in the window (start, end], or in one edge of it that is no whole hour.

    `edge` "low" is (start, first), "high" is [last, end] (see `SqlCounters._bucketed`).
    """
    assert isinstance(counter.count, EventKind)
    table = _TABLES[counter.count]
    rows: Select[Any] = select(table.mailbox_column if distinct else table.id_column)
    reads_age = _reads_age(counter.where)
    # A complaint knows its domain: a domain's complaints are one index range, not one
    # per mailbox. A filter on the mailbox's age goes through its young mailboxes instead.
    by_domain = table.domain_column is not None and not reads_age
    domain: Mapped[Any] = col(Mailbox.domain_id)
    if by_domain and table.domain_column is not None:
        domain = table.domain_column
    joins_mailbox = counter.count is not EventKind.SIGNUP and (
        (counter.per is not Scope.MAILBOX and not by_domain) or reads_age
    )
    if joins_mailbox:
        rows = rows.join(Mailbox, col(Mailbox.id) == table.mailbox_column)
    if counter.per is Scope.MAILBOX:
        rows = rows.where(table.mailbox_column == bindparam("mailbox_id"))
    elif counter.per is Scope.DOMAIN:
        rows = rows.where(domain == bindparam("domain_id"))
    else:
        rows = rows.join(Domain, col(Domain.id) == domain).where(
            col(Domain.company_id) == bindparam("company_id")
        )
    time = table.time_column
    if edge == "low":
        rows = rows.where(time > bindparam("start"), time < bindparam("first"))
    elif edge == "high":
        rows = rows.where(time >= bindparam("last"), time <= bindparam("end"))
    else:
        rows = rows.where(time > bindparam("start"), time <= bindparam("end"))
    if counter.where is not None:
        rows = rows.where(_sql(counter.where, table, query))
    return rows.distinct() if distinct else rows


# The hourly complaint buckets, as far as a counter's filter can read them.
_BUCKETS = _Table(
    col(ComplaintVolume.domain_id),
    col(ComplaintVolume.hour),
    col(ComplaintVolume.domain_id),
    {"report.kind": col(ComplaintVolume.kind), "report.trusted": col(ComplaintVolume.trusted)},
)
_BUCKET_FIELDS = frozenset(_BUCKETS.fields)


def _sql(expr: Expr, table: _Table, query: CounterQuery) -> ColumnElement[bool]:
    if isinstance(expr, BoolOp):
        parts = [_sql(item, table, query) for item in expr.items]
        return and_(*parts) if expr.op == "and" else or_(*parts)
    if isinstance(expr, Literal):
        return true() if expr.value is True else false()
    assert isinstance(expr, Compare) and isinstance(expr.left, Path)
    if expr.left.dotted == "mailbox.age":
        return _operator(col(Mailbox.created_at), MIRROR[expr.op], query.bind(expr.right, True))
    return _operator(table.fields[expr.left.dotted], expr.op, query.bind(expr.right, False))


def _operator(column: Mapped[Any], op: str, value: object) -> ColumnElement[bool]:
    if op == "==":
        return column == value
    if op == "!=":
        return column != value
    if op == "<":
        return column < value
    if op == "<=":
        return column <= value
    if op == ">":
        return column > value
    return column >= value


def _reads_age(expr: Expr | None) -> bool:
    if isinstance(expr, BoolOp):
        return any(_reads_age(item) for item in expr.items)
    return (
        isinstance(expr, Compare)
        and isinstance(expr.left, Path)
        and (expr.left.dotted == "mailbox.age")
    )
