"""`abusedesk decisions …`: what the rules decided, and why, in words."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from sqlalchemy import select
from sqlmodel import Session, col

from abusedesk.cli.context import cli_context
from abusedesk.decide.explain import explain_decision
from abusedesk.errors import NotFoundError
from abusedesk.store.addresses import normalize_address
from abusedesk.store.tables import Decision, Mailbox

app = typer.Typer(help="What the rules decided, and why.", no_args_is_help=True)


def _summary(decision: Decision, address: str | None) -> dict[str, Any]:
    return {
        "id": decision.id,
        "event": decision.event,
        "mailbox": address,
        "complaint_id": decision.complaint_id,
        "occurred_at": decision.occurred_at.isoformat(),
        "decided_at": decision.decided_at.isoformat(),
        "fired": [f["rule"] for f in decision.fired],
        "actions": [f"{a['action']}: {a.get('status', '')}" for a in decision.actions],
        "shadow": decision.shadow,
        "rules_hash": decision.rules_hash,
    }


@app.command("list")
def list_command(
    ctx: typer.Context,
    mailbox: Annotated[str | None, typer.Option("--mailbox", help="Only this mailbox.")] = None,
    limit: Annotated[int, typer.Option("--limit", help="At most this many, newest first.")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Recent decisions, newest first."""
    query = (
        select(Decision, col(Mailbox.address))
        .join(Mailbox, col(Mailbox.id) == col(Decision.mailbox_id), isouter=True)
        .order_by(col(Decision.id).desc())
        .limit(limit)
    )
    if mailbox is not None:
        query = query.where(col(Mailbox.address) == normalize_address(mailbox))
    with Session(cli_context(ctx).engine) as session:
        rows = [_summary(decision, address) for decision, address in session.execute(query)]
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    for row in rows:
        fired = ", ".join(row["fired"]) or "no rule fired"
        typer.echo(
            f"{row['id']:>6}  {row['occurred_at']}  {row['event']:10} "
            f"{row['mailbox'] or '-':30} {fired}{' (shadow)' if row['shadow'] else ''}"
        )


@app.command("explain")
def explain(
    ctx: typer.Context,
    decision_id: Annotated[int, typer.Argument(help="The decision's id.")],
) -> None:
    """A decision in words: the event, the facts, which rules fired or not and why, the actions."""
    with Session(cli_context(ctx).engine) as session:
        decision = session.get(Decision, decision_id)
        if decision is None:
            raise NotFoundError(f"no decision {decision_id}")
        address = None
        if decision.mailbox_id is not None:
            found = session.get(Mailbox, decision.mailbox_id)
            address = found.address if found else None
        typer.echo("\n".join(explain_decision(decision, address)))
