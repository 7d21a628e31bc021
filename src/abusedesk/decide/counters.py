"""Count what a counter counts, from the database, at the moment of one event.

Every count is an indexed range query bounded three ways, so its cost does not
grow with stored history: by scope (the mailbox's rows through
`ix_complaint_mailbox_kind_time`, a domain's mailboxes through
`ix_mailbox_domain_created`), by the window measured back from the event's own
time (never the wall clock), and by a cap — counting stops as soon as the value
decides every rule that reads it (see `evaluate.counter_caps`). Complaints
across a domain or company are summed from hourly buckets (record/buckets.py)
for the window's whole hours, so even a cap of thousands reads a few rows.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

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
from sqlmodel import Session, col

from abusedesk.decide.evaluate import value_of
from abusedesk.decide.expr import MIRROR, BoolOp, Compare, Expr, Literal, Path, paths_in
from abusedesk.decide.model import Counter, EventKind, Scope, Value, Volume
from abusedesk.decide.volume import HOUR, VolumeQuery
from abusedesk.record.buckets import bucket_hour
from abusedesk.store.tables import Complaint, ComplaintVolume, Domain, Mailbox, Suspension

EVIDENCE_LIMIT = 200
NO_CAP = 2**62  # LIMIT for "count everything": both databases take a big number


@dataclass(frozen=True, slots=True)
class Subject:
    """The mailbox an event is about, with its domain and company."""

    mailbox_id: int
    domain_id: int
    company_id: int
    address: str
    domain: str
    company: str
    created_at: datetime | None
    domain_created_at: datetime | None
    can_send: bool
    signup_ip: str | None


class SqlCounters:
    """Counters answered by the database in the decision's own transaction."""

    def __init__(self, session: Session, queries: CounterQueries) -> None:
        self._session = session
        self._queries = queries

    def count(
        self,
        counter: Counter,
        subject: Subject,
        at: datetime,
        params: dict[str, Value],
        cap: int | None,
    ) -> int:
        query = self._queries.get(counter)
        values = query.values(subject, at, params, NO_CAP if cap is None else cap)
        if isinstance(query, CounterQuery) and query.buckets is not None:
            return self._bucketed(query, values)
        return int(self._session.connection().execute(query.count, values).scalar_one())

    def _bucketed(self, query: CounterQuery, values: dict[str, Any]) -> int:
        """Whole hours from the buckets, the two partial hours at the edges row by row.

        The window (start, end] holds the whole hours [first, last) and the
        partial ones (start, first) and [last, end]. Counting stops at the cap as
        ever: when the whole hours reach it, no row is read at all.
        """
        assert query.buckets is not None
        start, end, cap = values["start"], values["end"], values["cap"]
        first, last = bucket_hour(start) + HOUR, bucket_hour(end)
        execute = self._session.connection().execute
        if first >= last:  # a window shorter than two hours: rows only
            return int(execute(query.count, values).scalar_one())
        whole = int(execute(query.buckets, {**values, "first": first, "last": last}).scalar_one())
        if whole >= cap:
            return int(cap)
        edges = {**values, "first": first, "last": last, "cap": cap - whole}
        return whole + int(execute(query.edges, edges).scalar_one())

    def evidence(
        self, counter: Counter, subject: Subject, at: datetime, params: dict[str, Value]
    ) -> list[int]:
        """The ids of the rows the counter counted (newest first, at most `EVIDENCE_LIMIT`)."""
        query = self._queries.get(counter)
        if isinstance(query, VolumeQuery):
            return []  # sent volume is sums of hourly buckets: no rows to point at
        values = query.values(subject, at, params, EVIDENCE_LIMIT)
        return [int(row[0]) for row in self._session.connection().execute(query.rows, values)]


class CounterQueries:
    """Each counter's statements, built once per rules version: building costs more than running."""

    def __init__(self) -> None:
        self._built: dict[int, CounterQuery | VolumeQuery] = {}
        self._lock = threading.Lock()

    def get(self, counter: Counter) -> CounterQuery | VolumeQuery:
        key = id(counter)
        if key not in self._built:
            with self._lock:
                query = (
                    VolumeQuery(counter)
                    if isinstance(counter.count, Volume)
                    else CounterQuery(counter)
                )
                self._built.setdefault(key, query)
        return self._built[key]


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
                values[name] = at - timedelta(seconds=bound)
            else:
                values[name] = bound  # NULL when missing: the comparison is then false
        return values


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
