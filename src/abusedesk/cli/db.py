"""`abusedesk db …`: the database schema."""

from __future__ import annotations

import typer

from abusedesk.cli.context import cli_context
from abusedesk.store.migrate import current_revision, head_revision, upgrade_database

app = typer.Typer(help="Manage the database schema.", no_args_is_help=True)


@app.command("upgrade")
def upgrade(ctx: typer.Context) -> None:
    """Apply every pending migration (safe to run again)."""
    engine = cli_context(ctx).unmigrated_engine
    before = current_revision(engine)
    upgrade_database(engine)
    after = current_revision(engine)
    if before == after:
        typer.echo(f"database already at revision {after}")
    else:
        typer.echo(f"database upgraded from {before or 'empty'} to {after}")


@app.command("status")
def status(ctx: typer.Context) -> None:
    """Show the schema revision of the database and of this abusedesk."""
    engine = cli_context(ctx).unmigrated_engine
    typer.echo(f"database: {current_revision(engine) or 'empty'}; code: {head_revision(engine)}")
