"""Keep the schema current: create an empty database, refuse to run on an outdated one."""

from __future__ import annotations

from sqlalchemy import Engine

from abusedesk.errors import StorageError
from abusedesk.store.migrate import (
    apply_migrations,
    current_revision,
    head_revision,
    schema_is_current,
    schema_lock,
)


def ensure_schema(engine: Engine) -> None:
    """Upgrade an empty database; an older schema needs an explicit `abusedesk db upgrade`."""
    # The look at the revision is under the lock too: a node must not read (or, on
    # SQLite, switch a new file to WAL) while another node is creating the schema.
    with schema_lock(engine):
        if schema_is_current(engine):
            return  # the common case, answered without loading Alembic
        current = current_revision(engine)
        if current is None:
            apply_migrations(engine)
            return
    head = head_revision(engine)
    if current != head:
        raise StorageError(
            f"the database schema is at revision {current} but this abusedesk needs {head}: "
            "run `abusedesk db upgrade`"
        )
