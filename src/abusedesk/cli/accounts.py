"""`abusedesk accounts …`: the account directory."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from abusedesk.accounts.csv_reader import read_account_rows
from abusedesk.accounts.importer import import_accounts
from abusedesk.accounts.signup import add_account, decide_signups, signup_from
from abusedesk.cli.context import cli_context, cli_policy
from abusedesk.cli.users import operator_actor
from abusedesk.store.directory import list_mailboxes

app = typer.Typer(
    help="The account directory: companies, domains, mailboxes.", no_args_is_help=True
)


@app.command("import")
def import_file(
    ctx: typer.Context,
    file: Annotated[
        Path,
        typer.Argument(
            help="CSV: company,company_abuse_contact,domain,address,created_at", dir_okay=False
        ),
    ],
) -> None:
    """Create or update accounts from a CSV file; re-importing changes nothing."""
    engine = cli_context(ctx).engine
    policy = cli_policy(ctx)  # a broken rules file stops the import before it starts
    rows = read_account_rows(file)
    with Progress(
        TextColumn("importing"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        transient=True,
        disable=len(rows) < 1000,
    ) as progress:
        task = progress.add_task("import", total=len(rows))
        summary = import_accounts(engine, rows, lambda n: progress.advance(task, n))
    signups = decide_signups(engine, policy, summary.created_addresses)
    typer.echo(
        f"{summary.rows} rows: {summary.mailboxes_created} mailboxes created, "
        f"{summary.mailboxes_updated} updated, {summary.companies_created} companies and "
        f"{summary.domains_created} domains created, {summary.contacts_changed} abuse contacts "
        "set"
        + ("" if summary.changed_anything else " (nothing changed)")
        + (f"; {signups} signups decided" if signups else "")
    )


@app.command("add")
def add(
    ctx: typer.Context,
    address: Annotated[str, typer.Argument(help="The new mailbox's address.")],
    company: Annotated[
        str | None, typer.Option(help="Its company (needed when the domain is new).")
    ] = None,
    abuse_contact: Annotated[
        str | None, typer.Option(help="The company's abuse contact address.")
    ] = None,
    created_at: Annotated[
        datetime | None, typer.Option(help="When the account was created (default: now).")
    ] = None,
    signup_ip: Annotated[str | None, typer.Option(help="The address it signed up from.")] = None,
) -> None:
    """Add one mailbox to the directory (a `signup` event for the rules)."""
    signup = signup_from(
        address,
        company=company,
        abuse_contact=abuse_contact,
        created_at=created_at.astimezone(UTC) if created_at else None,
        signup_ip=signup_ip,
    )
    result = add_account(cli_context(ctx).engine, cli_policy(ctx), signup, operator_actor())
    state = "added" if result.created else "already in the directory"
    typer.echo(f"{result.address}: {state}")


@app.command("list")
def list_accounts(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON array.")] = False,
    limit: Annotated[int | None, typer.Option(help="Show at most this many.", min=1)] = None,
) -> None:
    """List mailboxes with their company, domain and services."""
    views = list_mailboxes(cli_context(ctx).engine, limit=limit)
    if as_json:
        typer.echo(json.dumps([view.as_json() for view in views], indent=2))
        return
    for view in views:
        typer.echo(f"{view.address:40} {view.status:24} {view.domain:24} {view.company}")
