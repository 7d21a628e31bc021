"""`abusedesk serve`: run the service."""

from __future__ import annotations

import asyncio
import logging
from typing import Annotated

import typer

from abusedesk.cli.context import cli_context
from abusedesk.cli.roles import RoleFlags, choose_roles
from abusedesk.config import WorkerSettings
from abusedesk.service import Listening, run_service


def serve_command(
    ctx: typer.Context,
    intake: Annotated[
        bool | None,
        typer.Option("--intake/--no-intake", help="Report intake: SMTP and IMAP together."),
    ] = None,
    smtp: Annotated[
        bool | None, typer.Option("--smtp/--no-smtp", help="Run the SMTP report intake.")
    ] = None,
    imap: Annotated[
        bool | None, typer.Option("--imap/--no-imap", help="Poll the configured IMAP mailboxes.")
    ] = None,
    worker: Annotated[
        bool | None, typer.Option("--worker/--no-worker", help="Run the processing worker.")
    ] = None,
    policy: Annotated[
        bool | None,
        typer.Option("--policy/--no-policy", help="Run the Postfix policy service (enforcement)."),
    ] = None,
    web: Annotated[
        bool | None,
        typer.Option("--web/--no-web", help="Serve the console, the APIs and metrics."),
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(
            "--workers",
            min=0,
            max=64,
            help="Worker processes (default: [worker] processes, 1); 0 works in this process.",
        ),
    ] = None,
) -> None:
    """Run report intake and processing until interrupted (upgrades an empty database first).

    Naming roles runs only those (`--intake --worker`); naming none runs all of them.
    """
    context = cli_context(ctx)
    settings = context.settings
    if workers is not None:
        settings = settings.model_copy(update={"worker": WorkerSettings(processes=workers)})
    flags = RoleFlags(intake=intake, smtp=smtp, imap=imap, worker=worker, policy=policy, web=web)
    roles = choose_roles(flags, settings)
    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # aiosmtpd logs every SMTP command at INFO; our own log line per report is enough.
    logging.getLogger("mail.log").setLevel(logging.WARNING)
    engine = context.engine

    def announce(listening: Listening) -> None:
        if listening.smtp:
            typer.echo(
                f"abusedesk: reports accepted by SMTP on {listening.smtp[0]}:{listening.smtp[1]}"
            )
        if listening.web:
            host, port = listening.web
            typer.echo(f"abusedesk: metrics on http://{host}:{port}/metrics")
        if listening.policy:
            host, port = listening.policy
            typer.echo(f"abusedesk: Postfix policy service on {host}:{port}")
        if roles.imap and settings.imap.accounts:
            typer.echo(f"abusedesk: polling {len(settings.imap.accounts)} IMAP mailbox(es)")
        processes = settings.worker.processes
        running = f"{processes} process(es)" if processes else "running in this process"
        typer.echo(
            f"abusedesk: worker {running if roles.worker else 'off'}; "
            f"database {engine.url.render_as_string()}"
        )

    asyncio.run(run_service(settings, engine, roles, on_ready=announce))
