"""Store batches of raw reports on SQLite straight through the driver, in one statement each.

SQLAlchemy cannot send a batch as one multi-row INSERT on SQLite and still say
which id each row got (SQLite does not define the order of RETURNING rows), so
it sends one statement a row. For the SMTP listener that was the expensive
part of a commit: each statement is a round trip through SQLAlchemy and hands
the interpreter lock to the event loop and waits to get it back, while the
report's sender waits for its `250`. Here a batch is one INSERT of all its
rows: SQLite inserts a VALUES list in order, and a table whose id is an
INTEGER PRIMARY KEY gives each new row the largest id so far plus one, so
under the write lock the batch's ids are the consecutive ones ending at the
last row's. Values are converted by the columns' own SQLAlchemy types, so they
are stored exactly as through SQLAlchemy.

SQLite has one writer at a time. A worker recording its batch holds the write
lock for milliseconds, and SQLite's own busy handler waits for it in sleeps of
1, 2, 5, 10, 15 … ms, so a report arriving meanwhile would wait well past the
lock's release, with its sender and every sender behind it. The listener's
spool has a connection of its own that polls for the lock every half
millisecond instead (up to the same 30 s).
"""

from __future__ import annotations

import contextlib
import sqlite3
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine, Table
from sqlalchemy.engine.interfaces import DBAPICursor
from sqlalchemy.pool import PoolProxiedConnection

from abusedesk.errors import StorageError

LOCK_POLL_SECONDS = 0.0005
LOCK_TIMEOUT_SECONDS = 30.0
MAX_VARIABLES = 999
"""Bound parameters per statement: the least any SQLite build allows."""

Row = dict[str, Any]


class SqliteInsert:
    """The multi-row INSERT of one table's rows, with each column's conversion to SQLite."""

    def __init__(self, engine: Engine, table: Table, columns: list[str]) -> None:
        self._table = table
        self._columns = columns
        self._convert = [
            table.c[name].type.dialect_impl(engine.dialect).bind_processor(engine.dialect)
            for name in columns
        ]
        self._row_marks = f"({', '.join('?' for _ in columns)})"

    def run(self, cursor: DBAPICursor, rows: list[Row]) -> list[int]:
        """Insert `rows` inside the caller's write transaction; their ids, in order."""
        per_statement = max(1, MAX_VARIABLES // len(self._columns))
        ids: list[int] = []
        for start in range(0, len(rows), per_statement):
            ids += self._insert(cursor, rows[start : start + per_statement])
        return ids

    def _insert(self, cursor: DBAPICursor, rows: list[Row]) -> list[int]:
        values: list[Any] = []
        for row in rows:
            for name, to_db in zip(self._columns, self._convert, strict=True):
                value = row[name]
                values.append(value if to_db is None else to_db(value))
        cursor.execute(
            f"INSERT INTO {self._table.name} ({', '.join(self._columns)}) "
            f"VALUES {', '.join(self._row_marks for _ in rows)}",
            values,
        )
        last = cursor.lastrowid
        if last is None or cursor.rowcount != len(rows):
            raise StorageError(f"{len(rows)} rows inserted, but SQLite reports {cursor.rowcount}")
        return list(range(last - len(rows) + 1, last + 1))


def store_rows(engine: Engine, table: Table, rows: list[Row]) -> list[int]:
    """Insert `rows` (all with the same keys) in one transaction of a pooled connection."""
    insert = SqliteInsert(engine, table, list(rows[0]))
    connection = engine.raw_connection()
    try:
        return _in_transaction(connection, rows, lambda cursor: _begin(cursor, poll=False), insert)
    finally:
        connection.close()  # back to the pool


class ListenerSpool:
    """The SMTP listener's writer: a connection of its own that polls for the write lock.

    Used by one thread at a time (the group committer's).
    """

    def __init__(self, engine: Engine, table: Table) -> None:
        self._engine = engine
        self._table = table
        self._connection: PoolProxiedConnection | None = None
        self._inserts: dict[tuple[str, ...], SqliteInsert] = {}

    def store(self, rows: list[Row]) -> list[int]:
        columns = tuple(rows[0])
        insert = self._inserts.get(columns)
        if insert is None:
            insert = self._inserts[columns] = SqliteInsert(self._engine, self._table, list(columns))
        connection = self._connect()
        try:
            return _in_transaction(
                connection, rows, lambda cursor: _begin(cursor, poll=True), insert
            )
        except StorageError:
            self.close()  # a connection that failed is not trusted again: the next batch opens one
            raise

    def close(self) -> None:
        if self._connection is not None:
            connection, self._connection = self._connection, None
            connection.close()

    def _connect(self) -> PoolProxiedConnection:
        if self._connection is None:
            try:
                connection = self._engine.raw_connection()
            except Exception as exc:
                raise StorageError(f"could not open the database: {exc}") from exc
            # Its own from now on: the pool's other users keep SQLite's busy timeout.
            connection.detach()
            cursor = connection.cursor()
            cursor.execute("PRAGMA busy_timeout = 0")
            cursor.close()
            self._connection = connection
        return self._connection


def _in_transaction(
    connection: PoolProxiedConnection,
    rows: list[Row],
    begin: Callable[[DBAPICursor], None],
    insert: SqliteInsert,
) -> list[int]:
    cursor = connection.cursor()
    try:
        begin(cursor)
        ids = insert.run(cursor, rows)
        connection.commit()
        return ids
    except (sqlite3.Error, StorageError) as exc:
        with contextlib.suppress(sqlite3.Error):
            connection.rollback()
        raise StorageError(f"could not store {len(rows)} report(s): {exc}") from exc
    finally:
        cursor.close()


def _begin(cursor: DBAPICursor, *, poll: bool) -> None:
    """Begin a transaction holding the write lock; when `poll`ing, retry every
    `LOCK_POLL_SECONDS` (the connection's busy timeout is 0) rather than wait in SQLite."""
    deadline = time.monotonic() + LOCK_TIMEOUT_SECONDS
    while True:
        try:
            cursor.execute("BEGIN IMMEDIATE")
            return
        except sqlite3.OperationalError as exc:
            busy = exc.sqlite_errorcode == sqlite3.SQLITE_BUSY
            if not (poll and busy) or time.monotonic() > deadline:
                raise
        time.sleep(LOCK_POLL_SECONDS)
