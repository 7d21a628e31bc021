"""complaints by domain: complaint.domain_id with its index, and hourly complaint buckets

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 08:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import abusedesk.store.types

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# SQLite keeps times as text, 'YYYY-MM-DD HH:MM:SS.ffffff', which the hour keeps the shape
# of. (record/buckets.py `rebuild_buckets` holds the same statement: migrations stay put.)
_HOUR = {
    "postgresql": "date_trunc('hour', occurred_at)",
    "sqlite": "strftime('%Y-%m-%d %H:00:00.000000', occurred_at)",
}


def upgrade() -> None:
    # Added in place: SQLite can add a column with an inline reference without rebuilding
    # the table (batch mode would copy every complaint ever recorded).
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE complaint ADD COLUMN domain_id INTEGER REFERENCES domain (id)")
    else:
        op.add_column("complaint", sa.Column("domain_id", sa.Integer(), nullable=True))
        op.create_foreign_key(
            "fk_complaint_domain_id", "complaint", "domain", ["domain_id"], ["id"]
        )
    op.create_index(
        "ix_complaint_domain_time_kind_trusted",
        "complaint",
        ["domain_id", "occurred_at", "kind", "trusted"],
        unique=False,
    )
    op.execute(
        "UPDATE complaint SET domain_id = "
        "(SELECT mailbox.domain_id FROM mailbox WHERE mailbox.id = complaint.mailbox_id) "
        "WHERE mailbox_id IS NOT NULL"
    )
    op.create_table(
        "complaintvolume",
        sa.Column("domain_id", sa.Integer(), nullable=False),
        sa.Column("hour", abusedesk.store.types.UtcDateTime(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("trusted", sa.Boolean(), nullable=False),
        sa.Column("complaints", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["domain_id"], ["domain.id"]),
        sa.PrimaryKeyConstraint("domain_id", "hour", "kind", "trusted"),
    )
    op.create_index(
        "ix_complaintvolume_domain_kind_hour",
        "complaintvolume",
        ["domain_id", "kind", "hour", "trusted", "complaints"],
        unique=False,
    )
    hour = _HOUR[op.get_bind().dialect.name]
    op.execute(
        "INSERT INTO complaintvolume (domain_id, hour, kind, trusted, complaints) "
        f"SELECT domain_id, {hour}, kind, trusted, count(*) FROM complaint "
        f"WHERE domain_id IS NOT NULL GROUP BY domain_id, {hour}, kind, trusted"
    )


def downgrade() -> None:
    op.drop_index("ix_complaintvolume_domain_kind_hour", table_name="complaintvolume")
    op.drop_table("complaintvolume")
    op.drop_index("ix_complaint_domain_time_kind_trusted", table_name="complaint")
    if op.get_bind().dialect.name == "sqlite":
        with op.batch_alter_table("complaint", schema=None) as batch_op:
            batch_op.drop_column("domain_id")
    else:
        op.drop_constraint("fk_complaint_domain_id", "complaint", type_="foreignkey")
        op.drop_column("complaint", "domain_id")
