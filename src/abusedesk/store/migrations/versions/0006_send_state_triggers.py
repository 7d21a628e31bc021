"""send state: a version row and a change log, bumped by triggers on changes of the right to send

The policy service keeps the set of mailboxes that may not send in memory and
learns of changes from the database by itself: these triggers fire on every
write that changes `mailbox.can_send` or `mailbox.deleted_at` (and on the
insert or delete of a mailbox that may not send), whoever makes it. On
PostgreSQL they also `pg_notify` the channel the policy service LISTENs on.

Revision ID: 0006
Revises: 0004
Create Date: 2026-12-01 08:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CHANNEL = "abusedesk_send_state"

_SQLITE_BUMP = """
  UPDATE sendstateversion SET version = version + 1 WHERE id = 1;
  INSERT INTO sendstatechange (version, mailbox_id)
    SELECT version, {row}.id FROM sendstateversion WHERE id = 1;
"""

SQLITE_TRIGGERS = [
    "CREATE TRIGGER send_state_on_update AFTER UPDATE OF can_send, deleted_at ON mailbox "
    "WHEN OLD.can_send IS NOT NEW.can_send OR OLD.deleted_at IS NOT NEW.deleted_at "
    f"BEGIN {_SQLITE_BUMP.format(row='NEW')} END",
    "CREATE TRIGGER send_state_on_insert AFTER INSERT ON mailbox "
    "WHEN NOT NEW.can_send OR NEW.deleted_at IS NOT NULL "
    f"BEGIN {_SQLITE_BUMP.format(row='NEW')} END",
    "CREATE TRIGGER send_state_on_delete AFTER DELETE ON mailbox "
    "WHEN NOT OLD.can_send OR OLD.deleted_at IS NOT NULL "
    f"BEGIN {_SQLITE_BUMP.format(row='OLD')} END",
]

# The UPDATE of the one version row serialises the writers, so versions commit
# in order and without gaps (a rolled-back change rolls its bump back too).
POSTGRES_FUNCTION = f"""
CREATE FUNCTION send_state_changed() RETURNS trigger
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
DECLARE
  changed bigint;
  changed_mailbox integer;
BEGIN
  IF TG_OP = 'DELETE' THEN changed_mailbox := OLD.id; ELSE changed_mailbox := NEW.id; END IF;
  UPDATE sendstateversion SET version = version + 1 WHERE id = 1 RETURNING version INTO changed;
  INSERT INTO sendstatechange (version, mailbox_id) VALUES (changed, changed_mailbox);
  PERFORM pg_notify('{CHANNEL}', changed::text);
  RETURN NULL;
END $$
"""

POSTGRES_TRIGGERS = [
    "CREATE TRIGGER send_state_on_update AFTER UPDATE OF can_send, deleted_at ON mailbox "
    "FOR EACH ROW WHEN (OLD.can_send IS DISTINCT FROM NEW.can_send "
    "OR OLD.deleted_at IS DISTINCT FROM NEW.deleted_at) EXECUTE FUNCTION send_state_changed()",
    "CREATE TRIGGER send_state_on_insert AFTER INSERT ON mailbox "
    "FOR EACH ROW WHEN (NOT NEW.can_send OR NEW.deleted_at IS NOT NULL) "
    "EXECUTE FUNCTION send_state_changed()",
    "CREATE TRIGGER send_state_on_delete AFTER DELETE ON mailbox "
    "FOR EACH ROW WHEN (NOT OLD.can_send OR OLD.deleted_at IS NOT NULL) "
    "EXECUTE FUNCTION send_state_changed()",
]

TRIGGER_NAMES = ("send_state_on_update", "send_state_on_insert", "send_state_on_delete")


def upgrade() -> None:
    op.create_table(
        "sendstateversion",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "sendstatechange",
        sa.Column("version", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("mailbox_id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("version"),
    )
    op.execute("INSERT INTO sendstateversion (id, version) VALUES (1, 0)")
    if op.get_bind().dialect.name == "postgresql":
        op.execute(POSTGRES_FUNCTION)
        for statement in POSTGRES_TRIGGERS:
            op.execute(statement)
    else:
        for statement in SQLITE_TRIGGERS:
            op.execute(statement)


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for name in TRIGGER_NAMES:
        op.execute(f"DROP TRIGGER IF EXISTS {name}" + (" ON mailbox" if postgres else ""))
    if postgres:
        op.execute("DROP FUNCTION IF EXISTS send_state_changed()")
    op.drop_table("sendstatechange")
    op.drop_table("sendstateversion")
