"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-27 20:50:31.286904
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import abusedesk.store.types

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "auditentry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", abusedesk.store.types.UtcDateTime(), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("target_type", sa.String(length=32), nullable=False),
        sa.Column("target", sa.String(length=320), nullable=False),
        sa.Column("origin", sa.String(length=255), nullable=False),
        sa.Column("note", sa.String(), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("auditentry", schema=None) as batch_op:
        batch_op.create_index("ix_auditentry_at", ["at"], unique=False)

    op.create_table(
        "company",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("created_at", abusedesk.store.types.UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "rawreport",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("raw", sa.LargeBinary(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("received_at", abusedesk.store.types.UtcDateTime(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("peer", sa.String(length=255), nullable=True),
        sa.Column("envelope", sa.JSON(), nullable=False),
        sa.Column("trusted", sa.Boolean(), nullable=False),
        sa.Column("trust_reason", sa.String(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("claimed_at", abusedesk.store.types.UtcDateTime(), nullable=True),
        sa.Column("claimed_by", sa.String(length=128), nullable=True),
        sa.Column("processed_at", abusedesk.store.types.UtcDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("rawreport", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_rawreport_sha256"), ["sha256"], unique=False)
        batch_op.create_index("ix_rawreport_status_id", ["status", "id"], unique=False)

    op.create_table(
        "submittedmessage",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("queue_id", sa.String(length=64), nullable=False),
        sa.Column("sasl_username", sa.String(length=320), nullable=False),
        sa.Column("submitted_at", abusedesk.store.types.UtcDateTime(), nullable=False),
        sa.Column("recipient_count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("queue_id"),
    )
    with op.batch_alter_table("submittedmessage", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_submittedmessage_submitted_at"), ["submitted_at"], unique=False
        )

    op.create_table(
        "domain",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=253), nullable=False),
        sa.Column("company_id", sa.Integer(), nullable=False),
        sa.Column("created_at", abusedesk.store.types.UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["company.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    with op.batch_alter_table("domain", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_domain_company_id"), ["company_id"], unique=False)

    op.create_table(
        "adminuser",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("company_id", sa.Integer(), nullable=True),
        sa.Column("domain_id", sa.Integer(), nullable=True),
        sa.Column("password_hash", sa.String(), nullable=True),
        sa.Column("api_token_hash", sa.String(length=128), nullable=True),
        sa.Column("created_at", abusedesk.store.types.UtcDateTime(), nullable=False),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["company.id"],
        ),
        sa.ForeignKeyConstraint(
            ["domain_id"],
            ["domain.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("username"),
    )
    with op.batch_alter_table("adminuser", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_adminuser_api_token_hash"), ["api_token_hash"], unique=False
        )

    op.create_table(
        "contact",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("company_id", sa.Integer(), nullable=False),
        sa.Column("domain_id", sa.Integer(), nullable=True),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("verified", sa.Boolean(), nullable=False),
        sa.Column("created_at", abusedesk.store.types.UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["company.id"],
        ),
        sa.ForeignKeyConstraint(
            ["domain_id"],
            ["domain.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("contact", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_contact_company_id"), ["company_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_contact_domain_id"), ["domain_id"], unique=False)

    op.create_table(
        "mailbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("address", sa.String(length=320), nullable=False),
        sa.Column("domain_id", sa.Integer(), nullable=False),
        sa.Column("created_at", abusedesk.store.types.UtcDateTime(), nullable=True),
        sa.Column("signup_ip", sa.String(length=45), nullable=True),
        sa.Column("can_send", sa.Boolean(), nullable=False),
        sa.Column("can_receive", sa.Boolean(), nullable=False),
        sa.Column("can_login", sa.Boolean(), nullable=False),
        sa.Column("deleted_at", abusedesk.store.types.UtcDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["domain_id"],
            ["domain.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("address"),
    )
    with op.batch_alter_table("mailbox", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_mailbox_domain_id"), ["domain_id"], unique=False)

    op.create_table(
        "complaint",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("raw_report_id", sa.Integer(), nullable=False),
        sa.Column("dedupe_key", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("format", sa.String(length=16), nullable=False),
        sa.Column("feedback_type", sa.String(length=64), nullable=True),
        sa.Column("reporter", sa.String(length=255), nullable=True),
        sa.Column("trusted", sa.Boolean(), nullable=False),
        sa.Column("occurred_at", abusedesk.store.types.UtcDateTime(), nullable=False),
        sa.Column("recorded_at", abusedesk.store.types.UtcDateTime(), nullable=False),
        sa.Column("source_ip", sa.String(length=45), nullable=True),
        sa.Column("original_message_id", sa.String(length=998), nullable=True),
        sa.Column("original_from", sa.String(length=320), nullable=True),
        sa.Column("original_mail_from", sa.String(length=320), nullable=True),
        sa.Column("original_subject", sa.String(), nullable=True),
        sa.Column("original_excerpt", sa.String(), nullable=True),
        sa.Column("mailbox_id", sa.Integer(), nullable=True),
        sa.Column("attribution_method", sa.String(length=32), nullable=True),
        sa.Column("attribution_evidence", sa.String(), nullable=True),
        sa.Column("attribution_confidence", sa.String(length=16), nullable=True),
        sa.Column("queue_id", sa.String(length=64), nullable=True),
        sa.Column("unattributed_reason", sa.String(), nullable=True),
        sa.Column("problems", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["mailbox_id"],
            ["mailbox.id"],
        ),
        sa.ForeignKeyConstraint(
            ["raw_report_id"],
            ["rawreport.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("dedupe_key"),
        sa.UniqueConstraint("raw_report_id"),
    )
    with op.batch_alter_table("complaint", schema=None) as batch_op:
        batch_op.create_index(
            "ix_complaint_mailbox_kind_time", ["mailbox_id", "kind", "occurred_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_complaint_original_message_id"), ["original_message_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_complaint_reporter"), ["reporter"], unique=False)
        batch_op.create_index("ix_complaint_time", ["occurred_at"], unique=False)

    op.create_table(
        "decision",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event", sa.String(length=32), nullable=False),
        sa.Column("mailbox_id", sa.Integer(), nullable=True),
        sa.Column("complaint_id", sa.Integer(), nullable=True),
        sa.Column("occurred_at", abusedesk.store.types.UtcDateTime(), nullable=False),
        sa.Column("decided_at", abusedesk.store.types.UtcDateTime(), nullable=False),
        sa.Column("facts", sa.JSON(), nullable=False),
        sa.Column("fired", sa.JSON(), nullable=False),
        sa.Column("missed", sa.JSON(), nullable=False),
        sa.Column("actions", sa.JSON(), nullable=False),
        sa.Column("rules_path", sa.String(length=1024), nullable=False),
        sa.Column("rules_hash", sa.String(length=64), nullable=False),
        sa.Column("shadow", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["complaint_id"],
            ["complaint.id"],
        ),
        sa.ForeignKeyConstraint(
            ["mailbox_id"],
            ["mailbox.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("decision", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_decision_mailbox_id"), ["mailbox_id"], unique=False)

    op.create_table(
        "escalation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("pattern", sa.String(length=64), nullable=False),
        sa.Column("scope", sa.String(length=16), nullable=False),
        sa.Column("scope_key", sa.String(length=320), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", abusedesk.store.types.UtcDateTime(), nullable=False),
        sa.Column("decision_id", sa.Integer(), nullable=True),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("resolved_by", sa.String(length=200), nullable=True),
        sa.Column("resolved_at", abusedesk.store.types.UtcDateTime(), nullable=True),
        sa.Column("note", sa.String(), nullable=True),
        sa.ForeignKeyConstraint(
            ["decision_id"],
            ["decision.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("escalation", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_escalation_scope_key"), ["scope_key"], unique=False)

    op.create_table(
        "notice",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=200), nullable=False),
        sa.Column("decision_id", sa.Integer(), nullable=True),
        sa.Column("template", sa.String(length=100), nullable=False),
        sa.Column("recipient", sa.String(length=320), nullable=False),
        sa.Column("fallback", sa.Boolean(), nullable=False),
        sa.Column("subject", sa.String(), nullable=False),
        sa.Column("body_text", sa.String(), nullable=False),
        sa.Column("body_html", sa.String(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", abusedesk.store.types.UtcDateTime(), nullable=True),
        sa.Column("last_error", sa.String(), nullable=True),
        sa.Column("message_id", sa.String(length=998), nullable=True),
        sa.Column("created_at", abusedesk.store.types.UtcDateTime(), nullable=False),
        sa.Column("sent_at", abusedesk.store.types.UtcDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["decision_id"],
            ["decision.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("idempotency_key"),
    )
    with op.batch_alter_table("notice", schema=None) as batch_op:
        batch_op.create_index("ix_notice_status_due", ["status", "next_attempt_at"], unique=False)

    op.create_table(
        "suspension",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("mailbox_id", sa.Integer(), nullable=False),
        sa.Column("service", sa.String(length=16), nullable=False),
        sa.Column("started_at", abusedesk.store.types.UtcDateTime(), nullable=False),
        sa.Column("decision_id", sa.Integer(), nullable=True),
        sa.Column("rule", sa.String(length=200), nullable=True),
        sa.Column("complaint_ids", sa.JSON(), nullable=False),
        sa.Column("lifted_at", abusedesk.store.types.UtcDateTime(), nullable=True),
        sa.Column("lifted_by", sa.String(length=200), nullable=True),
        sa.Column("outcome", sa.String(length=32), nullable=True),
        sa.Column("note", sa.String(), nullable=True),
        sa.ForeignKeyConstraint(
            ["decision_id"],
            ["decision.id"],
        ),
        sa.ForeignKeyConstraint(
            ["mailbox_id"],
            ["mailbox.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("suspension", schema=None) as batch_op:
        batch_op.create_index(
            "ix_suspension_mailbox_time", ["mailbox_id", "started_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("suspension", schema=None) as batch_op:
        batch_op.drop_index("ix_suspension_mailbox_time")

    op.drop_table("suspension")
    with op.batch_alter_table("notice", schema=None) as batch_op:
        batch_op.drop_index("ix_notice_status_due")

    op.drop_table("notice")
    with op.batch_alter_table("escalation", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_escalation_scope_key"))

    op.drop_table("escalation")
    with op.batch_alter_table("decision", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_decision_mailbox_id"))

    op.drop_table("decision")
    with op.batch_alter_table("complaint", schema=None) as batch_op:
        batch_op.drop_index("ix_complaint_time")
        batch_op.drop_index(batch_op.f("ix_complaint_reporter"))
        batch_op.drop_index(batch_op.f("ix_complaint_original_message_id"))
        batch_op.drop_index("ix_complaint_mailbox_kind_time")

    op.drop_table("complaint")
    with op.batch_alter_table("mailbox", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mailbox_domain_id"))

    op.drop_table("mailbox")
    with op.batch_alter_table("contact", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_contact_domain_id"))
        batch_op.drop_index(batch_op.f("ix_contact_company_id"))

    op.drop_table("contact")
    with op.batch_alter_table("adminuser", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_adminuser_api_token_hash"))

    op.drop_table("adminuser")
    with op.batch_alter_table("domain", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_domain_company_id"))

    op.drop_table("domain")
    with op.batch_alter_table("submittedmessage", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_submittedmessage_submitted_at"))

    op.drop_table("submittedmessage")
    with op.batch_alter_table("rawreport", schema=None) as batch_op:
        batch_op.drop_index("ix_rawreport_status_id")
        batch_op.drop_index(batch_op.f("ix_rawreport_sha256"))

    op.drop_table("rawreport")
    op.drop_table("company")
    with op.batch_alter_table("auditentry", schema=None) as batch_op:
        batch_op.drop_index("ix_auditentry_at")

    op.drop_table("auditentry")
