"""The `abusedesk` command tree; each group lives in a module of its own."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from abusedesk import __version__
from abusedesk.cli import (
    accounts,
    audit,
    candidates,
    db,
    decisions,
    demo,
    doctor,
    init,
    mailbox,
    notices,
    reports,
    rules,
    serve,
    suspensions,
    users,
)
from abusedesk.cli.context import CliContext

app = typer.Typer(
    name="abusedesk",
    help="The abuse desk of an email hosting platform: feedback-loop reports in, "
    "fair soft-suspensions out.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(db.app, name="db")
app.add_typer(accounts.app, name="accounts")
app.add_typer(mailbox.app, name="mailbox")
app.add_typer(reports.app, name="reports")
app.command("parse")(reports.parse_command)
app.command("ingest")(reports.ingest_command)
app.command("serve")(serve.serve_command)
app.command("demo")(demo.demo_command)
app.command("init")(init.init_command)
app.add_typer(rules.app, name="rules")
app.add_typer(decisions.app, name="decisions")
app.add_typer(users.app, name="users")
app.add_typer(suspensions.app, name="suspensions")
app.add_typer(candidates.app, name="candidates")
app.add_typer(audit.app, name="audit")
app.add_typer(notices.app, name="notices")
app.command("doctor")(doctor.doctor_command)


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"abusedesk {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            "-c",
            help="TOML config file (else $ABUSEDESK_CONFIG, else ./abusedesk.toml).",
            dir_okay=False,
        ),
    ] = None,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")] = False,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_show_version, is_eager=True, help="Show the version."),
    ] = False,
) -> None:
    ctx.obj = CliContext(config_path=config, debug=debug)
