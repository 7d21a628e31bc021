"""`abusedesk audit …`: who did what, to which object, when, from where."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from sqlmodel import Session

from abusedesk.access.audit import audit_json, list_audit
from abusedesk.access.scope import load_actor
from abusedesk.cli.context import cli_context

app = typer.Typer(help="The audit trail of admin actions.", no_args_is_help=True)


@app.command("list")
def list_command(
    ctx: typer.Context,
    actor: Annotated[str | None, typer.Option("--actor", help="Only this user's actions.")] = None,
    action: Annotated[
        str | None, typer.Option("--action", help="Only this action (e.g. suspension.lift).")
    ] = None,
    target: Annotated[
        str | None, typer.Option("--target", help="Only actions on this mailbox, user, …")
    ] = None,
    viewer: Annotated[
        str | None,
        typer.Option("--as", help="Only what this admin user may see (as in the console)."),
    ] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="At most this many.")] = 1000,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List audit entries, newest first."""
    with Session(cli_context(ctx).engine) as session:
        visible_to = load_actor(session, viewer, "cli") if viewer is not None else None
        entries = list_audit(
            session, actor=actor, action=action, target=target, visible_to=visible_to, limit=limit
        )
        rows = [audit_json(e) for e in entries]
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    for row in rows:
        note = f" — {row['note']!r}" if row["note"] else ""
        typer.echo(
            f"{row['at']} {row['actor']} ({row['origin']}) {row['action']} "
            f"{row['target_type']} {row['target']}{note}"
        )
