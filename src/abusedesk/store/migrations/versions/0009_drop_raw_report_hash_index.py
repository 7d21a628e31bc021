"""raw report hash: not indexed (nothing looks reports up by it; every stored report paid for it)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 12:45:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_rawreport_sha256", table_name="rawreport")


def downgrade() -> None:
    op.create_index("ix_rawreport_sha256", "rawreport", ["sha256"], unique=False)
