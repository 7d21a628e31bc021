"""sent volume: hourly per-mailbox message and recipient counts from the policy service

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 08:05:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import abusedesk.store.types

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sentvolume",
        sa.Column("mailbox_id", sa.Integer(), nullable=False),
        sa.Column("hour", abusedesk.store.types.UtcDateTime(), nullable=False),
        sa.Column("messages", sa.Integer(), nullable=False),
        sa.Column("recipients", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["mailbox_id"], ["mailbox.id"]),
        sa.PrimaryKeyConstraint("mailbox_id", "hour"),
    )


def downgrade() -> None:
    op.drop_table("sentvolume")
