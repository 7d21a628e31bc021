"""Keep the schema current: create an empty database, refuse to run on an outdated one."""

from __future__ import annotations

from sqlalchemy import Engine

from abusedesk.errors import StorageError
from abusedesk.store.migrate import current_revision, head_revision, upgrade_database


def ensure_schema(engine: Engine) -> None:
    """Upgrade an empty database; an older schema needs an explicit `abusedesk db upgrade`."""
    current = current_revision(engine)
    if current is None:
        upgrade_database(engine)
        return
    head = head_revision(engine)
    if current != head:
        raise StorageError(
            f"the database schema is at revision {current} but this abusedesk needs {head}: "
            "run `abusedesk db upgrade`"
        )
