"""`abusedesk notices …`: the outbox — what was queued, sent or failed, and sending due ones."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from sqlmodel import Session

from abusedesk.cli.context import cli_context
from abusedesk.errors import NotFoundError
from abusedesk.notify.deliver import BATCH, deliver_due
from abusedesk.notify.message import render_as_text
from abusedesk.notify.outbox import list_notices, notice_json
from abusedesk.store.tables import Notice
from abusedesk.store.types import NoticeStatus

app = typer.Typer(help="The notice outbox.", no_args_is_help=True)


@app.command("list")
def list_command(
    ctx: typer.Context,
    status: Annotated[
        NoticeStatus | None, typer.Option("--status", help="Only notices in this state.")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="At most this many.")] = 1000,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List notices, newest first."""
    with Session(cli_context(ctx).engine) as session:
        chosen = status.value if status is not None else None
        rows = [notice_json(n) for n in list_notices(session, status=chosen, limit=limit)]
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    for row in rows:
        fallback = " (fallback)" if row["fallback"] else ""
        error = f" — {row['last_error']}" if row["last_error"] else ""
        typer.echo(
            f"{row['id']:6} {row['status']:8} {row['template']:18} "
            f"{row['recipient']}{fallback}: {row['subject']}{error}"
        )


@app.command("show")
def show(
    ctx: typer.Context, notice_id: Annotated[int, typer.Argument(help="The notice id.")]
) -> None:
    """Show a notice as its recipient reads it: headers, text part, HTML part."""
    context = cli_context(ctx)
    with Session(context.engine) as session:
        notice = session.get(Notice, notice_id)
        if notice is None:
            raise NotFoundError(f"no notice {notice_id}")
        typer.echo(render_as_text(notice, context.settings.notices.from_address), nl=False)


@app.command("send")
def send(ctx: typer.Context) -> None:
    """Deliver every notice that is due now to the smarthost, once, and say how it went."""
    context = cli_context(ctx)
    totals = [0, 0, 0]
    while True:
        done = deliver_due(context.engine, context.settings.notices)
        totals = [totals[0] + done.sent, totals[1] + done.retried, totals[2] + done.failed]
        if done.claimed < BATCH or done.sent == 0:
            break
    typer.echo(f"notices: {totals[0]} sent, {totals[1]} to retry later, {totals[2]} failed")
