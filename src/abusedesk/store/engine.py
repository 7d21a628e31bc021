"""Build the database engine: SQLite (WAL, durable commits) or PostgreSQL.

Two flavours. The default engine makes every commit durable: intake answers
"accepted" only after one. The worker's engine (`for_worker=True`) commits
without waiting for the disk, which is safe because everything it writes can
be derived again from the raw report, stored durably before: a commit lost to
a power cut leaves the report pending, and it is processed again. On SQLite the
worker's transactions also take the write lock when they begin (BEGIN
IMMEDIATE): a transaction that reads and then writes would otherwise fail with
"database is locked" whenever intake committed in between.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from abusedesk.errors import StorageError


def create_database_engine(url: str, *, for_worker: bool = False) -> Engine:
    """An engine for `url`; for SQLite the file's folder is created and WAL switched on."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(url, parsed.database, for_worker)
    engine = create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)
    if for_worker:

        @event.listens_for(engine, "connect")
        def _asynchronous_commit(dbapi_connection: Any, _record: Any) -> None:
            with dbapi_connection.cursor() as cursor:
                cursor.execute("SET synchronous_commit = off")
            dbapi_connection.commit()

    return engine


def _sqlite_engine(url: str, database: str | None, for_worker: bool) -> Engine:
    if database and database != ":memory:":
        try:
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StorageError(f"cannot create the data directory for {database}: {exc}") from exc
    engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _set_pragmas(dbapi_connection: Any, _record: Any) -> None:
        # SQLAlchemy, not the sqlite3 module, decides where transactions begin
        # (the module's own guesswork breaks SAVEPOINT and BEGIN IMMEDIATE).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        # WAL lets readers run beside the one writer; synchronous=FULL makes every
        # commit durable before we answer "accepted" to a report's sender.
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={'NORMAL' if for_worker else 'FULL'}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE" if for_worker else "BEGIN")

    return engine


def check_database(engine: Engine) -> None:
    """Raise `StorageError` with a readable message when the database cannot be reached."""
    try:
        with engine.connect() as connection:
            connection.exec_driver_sql("SELECT 1")
    except OperationalError as exc:
        raise StorageError(
            f"database unavailable ({engine.url.render_as_string()}): "
            f"{str(exc.orig).strip().splitlines()[0]}"
        ) from exc
