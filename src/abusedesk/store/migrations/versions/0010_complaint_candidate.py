"""complaint candidate: the mailbox an unproven complaint points at, for staff to review

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Added in place: SQLite can add columns (one with an inline reference) without
    # rebuilding the table, which batch mode would do by copying every complaint.
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE complaint ADD COLUMN candidate_mailbox VARCHAR(320)")
        op.execute(
            "ALTER TABLE complaint ADD COLUMN candidate_mailbox_id INTEGER REFERENCES mailbox (id)"
        )
        op.execute("ALTER TABLE complaint ADD COLUMN candidate_evidence VARCHAR")
    else:
        op.add_column(
            "complaint", sa.Column("candidate_mailbox", sa.String(length=320), nullable=True)
        )
        op.add_column("complaint", sa.Column("candidate_mailbox_id", sa.Integer(), nullable=True))
        op.add_column("complaint", sa.Column("candidate_evidence", sa.String(), nullable=True))
        op.create_foreign_key(
            "fk_complaint_candidate_mailbox_id",
            "complaint",
            "mailbox",
            ["candidate_mailbox_id"],
            ["id"],
        )
    # Every complaint recorded so far has no candidate: the index starts empty.
    op.create_index("ix_complaint_candidate", "complaint", ["candidate_mailbox"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_complaint_candidate", table_name="complaint")
    if op.get_bind().dialect.name == "sqlite":
        with op.batch_alter_table("complaint", schema=None) as batch_op:
            batch_op.drop_column("candidate_evidence")
            batch_op.drop_column("candidate_mailbox_id")
            batch_op.drop_column("candidate_mailbox")
    else:
        op.drop_constraint("fk_complaint_candidate_mailbox_id", "complaint", type_="foreignkey")
        op.drop_column("complaint", "candidate_evidence")
        op.drop_column("complaint", "candidate_mailbox_id")
        op.drop_column("complaint", "candidate_mailbox")
