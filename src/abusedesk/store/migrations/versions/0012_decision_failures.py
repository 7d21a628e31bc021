"""complaint decision failures: a complaint whose decision failed is kept, retried, and shown

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04 22:50:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Added in place (SQLite too): a nullable column and one with a constant default
    # need no copy of every complaint.
    op.add_column("complaint", sa.Column("decision_error", sa.String(), nullable=True))
    op.add_column(
        "complaint",
        sa.Column("decision_attempts", sa.Integer(), nullable=False, server_default="0"),
    )
    # Only the complaints whose decision failed are in it: it stays a few rows.
    op.create_index(
        "ix_complaint_decision_failed",
        "complaint",
        ["decision_attempts"],
        unique=False,
        sqlite_where=sa.text("decision_error IS NOT NULL"),
        postgresql_where=sa.text("decision_error IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_complaint_decision_failed", table_name="complaint")
    with op.batch_alter_table("complaint", schema=None) as batch_op:
        batch_op.drop_column("decision_attempts")
        batch_op.drop_column("decision_error")
