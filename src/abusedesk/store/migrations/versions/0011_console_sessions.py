"""console sessions kept in the database, and sign-in attempts counted there

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import abusedesk.store.types

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Sessions signed in before this revision lived in their cookies only; their
    # cookies name no row here, so everyone signs in again once.
    op.create_table(
        "consolesession",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("stamp", sa.String(length=64), nullable=False),
        sa.Column("created_at", abusedesk.store.types.UtcDateTime(), nullable=False),
        sa.Column("expires_at", abusedesk.store.types.UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["adminuser.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    op.create_index("ix_consolesession_user_id", "consolesession", ["user_id"], unique=False)
    op.create_table(
        "signinattempt",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("at", abusedesk.store.types.UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_signinattempt_key_at", "signinattempt", ["key", "at"], unique=False)
    op.create_index("ix_signinattempt_at", "signinattempt", ["at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_signinattempt_at", table_name="signinattempt")
    op.drop_index("ix_signinattempt_key_at", table_name="signinattempt")
    op.drop_table("signinattempt")
    op.drop_index("ix_consolesession_user_id", table_name="consolesession")
    op.drop_table("consolesession")
