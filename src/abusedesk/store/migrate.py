"""Apply the Alembic migrations shipped inside the package.

Alembic is imported by the functions that use it: loading it costs more than
most commands do, and a database that is already current needs none of it
(`store/schema.py` checks that with one query).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError, OperationalError

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
SCHEMA_LOCK = 0x61627573  # the advisory lock that migrating nodes queue on ("abus")
HEAD_REVISION = "0012"
"""The newest migration in migrations/versions, so that a current database is recognised
without Alembic. Left behind by a new migration, it only sends every check the slow way,
through Alembic; tests/cli/test_startup.py holds it equal to Alembic's head."""


def alembic_config(engine: Engine) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["engine"] = engine
    return config


def upgrade_database(engine: Engine, revision: str = "head") -> None:
    """Bring the schema up to `revision` (idempotent), one node at a time."""
    with schema_lock(engine):
        apply_migrations(engine, revision)


def apply_migrations(engine: Engine, revision: str = "head") -> None:
    """Run the migrations up to `revision`; the caller holds `schema_lock`."""
    from alembic import command

    command.upgrade(alembic_config(engine), revision)


@contextmanager
def schema_lock(engine: Engine) -> Iterator[None]:
    """Hold PostgreSQL's advisory lock for migrations, so that nodes starting together on
    an empty database migrate it one after the other (the later ones find nothing left to
    do) instead of all creating the same tables. On SQLite, an exclusive `flock` on the
    database's folder does the same for the processes of its machine."""
    if engine.dialect.name == "sqlite":
        with _sqlite_file_lock(engine):
            yield
        return
    if engine.dialect.name != "postgresql":
        yield
        return
    with engine.connect() as connection:
        connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": SCHEMA_LOCK})
        connection.commit()
        try:
            yield
        finally:
            # A connection that was lost took the lock with it: nothing left to release,
            # and its error must not hide the migration's own.
            with contextlib.suppress(OperationalError):
                connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": SCHEMA_LOCK})
                connection.commit()


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def schema_is_current(engine: Engine) -> bool:
    """True when the database records exactly `HEAD_REVISION`: one query, no Alembic."""
    try:
        with engine.connect() as connection:
            recorded = connection.execute(text("SELECT version_num FROM alembic_version"))
            return list(recorded.scalars()) == [HEAD_REVISION]
    except DBAPIError:
        # No version table (an empty database), or no database: Alembic's own look says which.
        return False


def head_revision(engine: Engine) -> str | None:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config(engine)).get_current_head()


@contextmanager
def _sqlite_file_lock(engine: Engine) -> Iterator[None]:
    database = engine.url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        yield
        return
    # The folder, not the database file: closing any descriptor of the database file
    # would drop the POSIX locks that SQLite holds on it in this process.
    folder = os.open(os.path.dirname(os.path.abspath(database)), os.O_RDONLY)
    try:
        fcntl.flock(folder, fcntl.LOCK_EX)
        yield
    finally:
        os.close(folder)  # releases the flock
