"""Migrations build the schema from empty on both databases and match the models."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect, text
from sqlmodel import SQLModel

from abusedesk.store.migrate import (
    alembic_config,
    current_revision,
    head_revision,
    upgrade_database,
)
from abusedesk.store.schema import ensure_schema


def test_upgrade_from_empty_creates_every_table(empty_engine: Engine) -> None:
    assert current_revision(empty_engine) is None
    upgrade_database(empty_engine)
    assert current_revision(empty_engine) == head_revision(empty_engine)
    tables = set(inspect(empty_engine).get_table_names())
    assert set(SQLModel.metadata.tables) <= tables


def test_upgrade_is_idempotent(empty_engine: Engine) -> None:
    upgrade_database(empty_engine)
    upgrade_database(empty_engine)
    assert current_revision(empty_engine) == head_revision(empty_engine)


def test_migrations_match_the_models(engine: Engine) -> None:
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)
    assert differences == []


def test_ensure_schema_creates_an_empty_database(empty_engine: Engine) -> None:
    ensure_schema(empty_engine)
    assert current_revision(empty_engine) == head_revision(empty_engine)


def test_0010_adds_the_candidate_to_complaints_already_recorded(empty_engine: Engine) -> None:
    upgrade_database(empty_engine, "0009")
    with empty_engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO rawreport (sha256, raw, size, received_at, source, envelope, "
                "trusted, status, attempts) VALUES ('0', :raw, 0, :at, 'file', '{}', "
                "true, 'quarantined', 0)"
            ),
            {"raw": b"", "at": "2026-12-01 08:00:00.000000"},
        )
        connection.execute(
            text(
                "INSERT INTO complaint (raw_report_id, dedupe_key, kind, format, trusted, "
                "occurred_at, recorded_at, unattributed_reason, problems) VALUES "
                "(1, 'k', 'complaint', 'arf', true, :at, :at, 'no relay hop', '[]')"
            ),
            {"at": "2026-12-01 08:00:00.000000"},
        )
    upgrade_database(empty_engine)
    read = text(
        "SELECT unattributed_reason, candidate_mailbox, candidate_mailbox_id, "
        "candidate_evidence FROM complaint"
    )
    with empty_engine.connect() as connection:
        assert connection.execute(read).all() == [("no relay hop", None, None, None)]
    assert "ix_complaint_candidate" in {
        index["name"] for index in inspect(empty_engine).get_indexes("complaint")
    }

    command.downgrade(alembic_config(empty_engine), "0009")
    columns = {column["name"] for column in inspect(empty_engine).get_columns("complaint")}
    assert not {"candidate_mailbox", "candidate_mailbox_id", "candidate_evidence"} & columns
    with empty_engine.connect() as connection:
        kept = connection.execute(text("SELECT unattributed_reason FROM complaint")).all()
    assert kept == [("no relay hop",)]
