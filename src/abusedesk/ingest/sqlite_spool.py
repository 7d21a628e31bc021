"""Store a batch of raw reports on SQLite straight through the driver, taking the lock finely.

SQLite has no multi-row INSERT whose RETURNING order is defined, so SQLAlchemy
sends one statement a row; doing that itself costs the listener a third of what
SQLAlchemy's execution costs, and the listener's thread is what limits intake.
Values are converted by the columns' own SQLAlchemy types, so they are stored
exactly as through SQLAlchemy.

SQLite has one writer at a time. A worker recording its batch holds the write
lock for milliseconds, and SQLite's own busy handler waits for it in sleeps of
1, 2, 5, 10, 15 … ms, so a report arriving meanwhile would wait well past the
lock's release with its sender, and every sender behind it. The listener polls
for the lock every half millisecond instead (up to the same 30 s).
"""

from __future__ import annotations

import sqlite3
import time
from typing import Any

from sqlalchemy import Engine, Table
from sqlalchemy.engine.interfaces import DBAPICursor

from abusedesk.errors import StorageError

LOCK_POLL_SECONDS = 0.0005
LOCK_TIMEOUT_SECONDS = 30.0


def store_rows_on_sqlite(engine: Engine, table: Table, rows: list[dict[str, Any]]) -> list[int]:
    """Insert `rows` (all with the same keys) into `table` in one transaction; their ids."""
    columns = list(rows[0])
    sql = (
        f"INSERT INTO {table.name} ({', '.join(columns)}) "
        f"VALUES ({', '.join('?' for _ in columns)})"
    )
    convert = [
        table.c[name].type.dialect_impl(engine.dialect).bind_processor(engine.dialect)
        for name in columns
    ]
    connection = engine.raw_connection()
    try:
        cursor = connection.cursor()
        try:
            _begin_immediate(cursor)
            ids = []
            for row in rows:
                values = [
                    value if to_db is None else to_db(value)
                    for value, to_db in zip(row.values(), convert, strict=True)
                ]
                cursor.execute(sql, values)
                assert cursor.lastrowid is not None
                ids.append(int(cursor.lastrowid))
            connection.commit()
        except sqlite3.Error as exc:
            connection.rollback()
            raise StorageError(f"could not store {len(rows)} report(s): {exc}") from exc
        finally:
            cursor.close()
    finally:
        connection.close()  # back to the pool
    return ids


def _begin_immediate(cursor: DBAPICursor) -> None:
    """Begin a transaction holding the write lock, polling for it every `LOCK_POLL_SECONDS`."""
    (busy_timeout,) = cursor.execute("PRAGMA busy_timeout").fetchone()
    cursor.execute("PRAGMA busy_timeout = 0")
    try:
        deadline = time.monotonic() + LOCK_TIMEOUT_SECONDS
        while True:
            try:
                cursor.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                if exc.sqlite_errorcode != sqlite3.SQLITE_BUSY or time.monotonic() > deadline:
                    raise
            time.sleep(LOCK_POLL_SECONDS)
    finally:
        cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout)}")
