"""`abusedesk candidates …`: unproven complaints with the mailbox they name, and charging one."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from sqlmodel import Session

from abusedesk.access.scope import load_actor
from abusedesk.act.candidates import CandidateState, list_candidates
from abusedesk.act.charge import charge_candidate
from abusedesk.cli.context import cli_context, cli_policy

app = typer.Typer(
    help="Unproven complaints with a candidate mailbox: review them, charge one by hand.",
    no_args_is_help=True,
)


@app.command("list")
def list_command(
    ctx: typer.Context,
    state: Annotated[
        CandidateState, typer.Option(help="open (charged to nobody yet), charged, or all.")
    ] = CandidateState.OPEN,
    mailbox: Annotated[
        str | None, typer.Option("--mailbox", help="Only those naming this address.")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="At most this many.")] = 100,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List complaints the reports did not prove, with their candidate, newest first."""
    with Session(cli_context(ctx).engine) as session:
        views = list_candidates(session, state=state, mailbox=mailbox, limit=limit)
    if as_json:
        typer.echo(json.dumps([view.as_json() for view in views], indent=2))
        return
    for view in views:
        where = "not hosted" if not view.hosted else view.domain
        state_shown = f"charged to {view.charged_to}" if view.charged_to else "open"
        typer.echo(
            f"report {view.report_id:>6} {view.occurred_at:%Y-%m-%d %H:%M} {view.candidate} "
            f"({where}) {state_shown}: {view.reason or ''}"
        )


@app.command("charge")
def charge_command(
    ctx: typer.Context,
    report_id: Annotated[int, typer.Argument(help="The report whose candidate is charged.")],
    acting_user: Annotated[str, typer.Option("--as", help="The staff user who charges it.")],
    note: Annotated[str, typer.Option("--note", help="Why: what confirmed the sender (audited).")],
) -> None:
    """Charge an unproven complaint to its candidate by hand: it counts, and is decided, now."""
    policy = cli_policy(ctx)
    with Session(cli_context(ctx).engine) as session:
        actor = load_actor(session, acting_user, "cli")
        charged = charge_candidate(session, actor, report_id, note, policy=policy)
        session.commit()
    done = f"report {charged.report_id}: charged by hand to {charged.mailbox} by {actor.username}"
    if charged.suspended:
        done += "; the rules suspended its sending"
    typer.echo(done)
