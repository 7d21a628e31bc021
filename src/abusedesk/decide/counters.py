"""Count what a counter counts, from the database, at the moment of one event.

Every count is one indexed range query bounded three ways, so its cost does not
grow with stored history: by scope (the mailbox's rows through
`ix_complaint_mailbox_kind_time`, a domain's mailboxes through
`ix_mailbox_domain_created`), by the window measured back from the event's own
time (never the wall clock), and by a cap — counting stops as soon as the value
decides every rule that reads it (see `evaluate.counter_caps`).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, bindparam, false, func, or_, select, true
from sqlalchemy.orm import Mapped
from sqlalchemy.sql.elements import BindParameter
from sqlmodel import Session, col

from abusedesk.decide.evaluate import value_of
from abusedesk.decide.expr import MIRROR, BoolOp, Compare, Expr, Literal, Path
from abusedesk.decide.model import Counter, EventKind, Scope, Value, Volume
from abusedesk.decide.volume import VolumeQuery
from abusedesk.store.tables import Complaint, Domain, Mailbox, Suspension

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
        return int(self._session.connection().execute(query.count, values).scalar_one())

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


def _rows(counter: Counter, query: CounterQuery, distinct: bool) -> Select[Any]:
    assert isinstance(counter.count, EventKind)
    table = _TABLES[counter.count]
    rows: Select[Any] = select(table.mailbox_column if distinct else table.id_column)
    joins_mailbox = counter.count is not EventKind.SIGNUP and (
        counter.per is not Scope.MAILBOX or _reads_age(counter.where)
    )
    if joins_mailbox:
        rows = rows.join(Mailbox, col(Mailbox.id) == table.mailbox_column)
    if counter.per is Scope.MAILBOX:
        rows = rows.where(table.mailbox_column == bindparam("mailbox_id"))
    elif counter.per is Scope.DOMAIN:
        rows = rows.where(col(Mailbox.domain_id) == bindparam("domain_id"))
    else:
        rows = rows.join(Domain, col(Domain.id) == col(Mailbox.domain_id)).where(
            col(Domain.company_id) == bindparam("company_id")
        )
    rows = rows.where(table.time_column > bindparam("start"), table.time_column <= bindparam("end"))
    if counter.where is not None:
        rows = rows.where(_sql(counter.where, table, query))
    return rows.distinct() if distinct else rows


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
