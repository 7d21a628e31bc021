"""Count what a counter counts, from the database, at the moment of one event.

Every count is an indexed range query bounded three ways, so its cost does not
grow with stored history: by scope (the mailbox's rows through
`ix_complaint_mailbox_kind_time`, a domain's through
`ix_complaint_domain_time_kind_trusted`, a domain's young mailboxes through
`ix_mailbox_domain_created`), by the window measured back from the event's own
time (never the wall clock), and by a cap — counting stops as soon as the value
decides every rule that reads it (see `evaluate.counter_caps`). Complaints
across a domain or company are summed from hourly buckets (record/buckets.py)
for the window's whole hours, so even a cap of thousands reads a few rows.
The statements themselves are built in counter_sql.py.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session

from abusedesk.decide.counter_sql import CounterQuery
from abusedesk.decide.model import Counter, Value, Volume
from abusedesk.decide.volume import HOUR, VolumeQuery
from abusedesk.record.buckets import bucket_hour

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
