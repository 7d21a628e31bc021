"""imap cursor

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 21:15:28.640057
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import abusedesk.store.types

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "imapcursor",
        sa.Column("account", sa.String(length=600), nullable=False),
        sa.Column("folder", sa.String(length=255), nullable=False),
        sa.Column("uidvalidity", sa.BigInteger(), nullable=False),
        sa.Column("last_uid", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", abusedesk.store.types.UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("account", "folder"),
    )


def downgrade() -> None:
    op.drop_table("imapcursor")
