"""`abusedesk suspensions …`: the suspensions to review, and lifting one."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from sqlmodel import Session

from abusedesk.access.scope import load_actor
from abusedesk.act.lifecycle import lift_suspension
from abusedesk.act.review import list_suspensions
from abusedesk.cli.context import cli_context, cli_policy
from abusedesk.store.types import LiftOutcome

app = typer.Typer(help="Review and lift soft-suspensions.", no_args_is_help=True)


@app.command("list")
def list_command(
    ctx: typer.Context,
    company: Annotated[str | None, typer.Option("--company", help="Only this company's.")] = None,
    domain: Annotated[str | None, typer.Option("--domain", help="Only this domain's.")] = None,
    include_lifted: Annotated[
        bool, typer.Option("--all", help="Lifted suspensions too, not only active ones.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List active suspensions (with --all: every suspension), newest first."""
    with Session(cli_context(ctx).engine) as session:
        views = list_suspensions(
            session, company=company, domain=domain, include_lifted=include_lifted
        )
    if as_json:
        typer.echo(json.dumps([v.as_json() for v in views], indent=2))
        return
    for view in views:
        state = "active" if view.active else f"lifted ({view.outcome}) by {view.lifted_by}"
        typer.echo(
            f"{view.id:6} {view.started_at:%Y-%m-%d %H:%M} {view.mailbox:40} {view.rule or ''} "
            f"{state}"
        )


@app.command("lift")
def lift(
    ctx: typer.Context,
    address: Annotated[str, typer.Argument(help="The suspended mailbox.")],
    acting_user: Annotated[str, typer.Option("--as", help="The admin user who lifts it.")],
    outcome: Annotated[
        LiftOutcome,
        typer.Option(
            "--outcome",
            help="lifted, educated (educated, then lifted), or account-deleted "
            "(lifted for deletion: sending stays off).",
        ),
    ],
    note: Annotated[str, typer.Option("--note", help="What was done and why (audited).")],
) -> None:
    """Lift a soft-suspension: sending is restored at once; who, when and why are audited."""
    policy = cli_policy(ctx)
    with Session(cli_context(ctx).engine) as session:
        actor = load_actor(session, acting_user, "cli")
        suspension = lift_suspension(session, actor, address, outcome, note, policy=policy)
        session.commit()
        restored = (
            "sending restored"
            if outcome is not LiftOutcome.ACCOUNT_DELETED
            else ("sending stays off until the account is deleted")
        )
        typer.echo(
            f"{address.strip().lower()}: suspension {suspension.id} lifted "
            f"({suspension.outcome}) by {actor.username}; {restored}"
        )
