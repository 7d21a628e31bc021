"""`abusedesk mailbox …`: one mailbox."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from sqlmodel import Session

from abusedesk.access.scope import load_actor
from abusedesk.act.lifecycle import delete_mailbox
from abusedesk.cli.context import cli_context
from abusedesk.errors import NotFoundError
from abusedesk.store.directory import find_mailbox, mailbox_record

app = typer.Typer(help="Look at and act on one mailbox.", no_args_is_help=True)


@app.command("show")
def show(
    ctx: typer.Context,
    address: Annotated[str, typer.Argument(help="The mailbox address (any case).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Show a mailbox's status, services, company, domain, complaints and suspensions."""
    engine = cli_context(ctx).engine
    view = find_mailbox(engine, address)
    if view is None:
        raise NotFoundError(f"no mailbox {address.strip().lower()} in the account directory")
    data = view.as_json() | mailbox_record(engine, view.address)
    if as_json:
        typer.echo(json.dumps(data, indent=2))
        return
    for key, value in data.items():
        typer.echo(f"{key:12} {value}")


@app.command("delete")
def delete(
    ctx: typer.Context,
    address: Annotated[str, typer.Argument(help="The mailbox address (any case).")],
    acting_user: Annotated[str, typer.Option("--as", help="The admin user who deletes it.")],
    note: Annotated[str | None, typer.Option("--note", help="Why (audited).")] = None,
) -> None:
    """Delete a mailbox (every service off); refused while its sending is soft-suspended."""
    with Session(cli_context(ctx).engine) as session:
        actor = load_actor(session, acting_user, "cli")
        mailbox = delete_mailbox(session, actor, address, note)
        session.commit()
        typer.echo(f"{mailbox.address}: deleted by {actor.username}")
