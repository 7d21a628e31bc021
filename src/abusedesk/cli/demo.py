"""`abusedesk demo`: a throwaway instance with sample accounts and reports, and what to try next."""

from __future__ import annotations

import asyncio
import shutil
import signal
import tempfile
import threading
from pathlib import Path
from typing import Annotated

import typer

from abusedesk.accounts.csv_reader import read_account_rows
from abusedesk.accounts.importer import import_accounts
from abusedesk.cli.context import CliContext, cli_context
from abusedesk.cli.demo_console import create_demo_admins
from abusedesk.cli.demo_hints import Hints, hint_command
from abusedesk.cli.demo_samples import Sample, demo_data, load_samples
from abusedesk.cli.demo_smarthost import DemoSmarthost
from abusedesk.cli.demo_story import tell_story
from abusedesk.cli.init import toml_string
from abusedesk.config import load_settings
from abusedesk.service import Listening, Roles, run_service
from abusedesk.store.types import utcnow


def demo_command(
    ctx: typer.Context,
    data_dir: Annotated[
        Path | None,
        typer.Option(help="Keep the demo's data here (default: a new temporary folder)."),
    ] = None,
    smtp_port: Annotated[
        int, typer.Option(help="SMTP port for reports (0: any free port).", min=0, max=65535)
    ] = 2525,
    web_port: Annotated[
        int,
        typer.Option(help="HTTP port: console, API, metrics (0: any free port).", min=0, max=65535),
    ] = 8025,
    policy_port: Annotated[
        int,
        typer.Option(help="Postfix policy service port (0: any free port).", min=0, max=65535),
    ] = 10040,
    once: Annotated[bool, typer.Option("--once", help="Tell the story, then stop.")] = False,
) -> None:
    """Run abusedesk on SQLite with sample accounts, feed it sample reports, show what happened.

    Without --data-dir its data is in a temporary folder, removed when the demo stops.
    """
    temporary = data_dir is None
    folder = (data_dir or Path(tempfile.mkdtemp(prefix="abusedesk-demo-"))).absolute()
    try:
        _run_demo(ctx, folder, smtp_port, web_port, policy_port, once, temporary)
    finally:
        if temporary:
            shutil.rmtree(folder, ignore_errors=True)
            typer.echo(f"demo stopped; removed its temporary folder {folder}")
        else:
            typer.echo(f"demo stopped; its data stays in {folder}")


def _run_demo(
    ctx: typer.Context,
    folder: Path,
    smtp_port: int,
    web_port: int,
    policy_port: int,
    once: bool,
    temporary: bool,
) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    samples = load_samples(utcnow())
    reports = folder / "reports"  # the samples as sent, for the hints to parse and resend
    reports.mkdir(exist_ok=True)
    for sample in samples:
        (reports / sample.name).write_bytes(sample.raw)
    smarthost = DemoSmarthost()
    smarthost.start()
    try:
        _serve_demo(
            ctx, folder, samples, smarthost, smtp_port, web_port, policy_port, once, temporary
        )
    finally:
        smarthost.stop()


def _serve_demo(
    ctx: typer.Context,
    folder: Path,
    samples: list[Sample],
    smarthost: DemoSmarthost,
    smtp_port: int,
    web_port: int,
    policy_port: int,
    once: bool,
    temporary: bool,
) -> None:
    config = folder / "abusedesk.toml"
    config.write_text(
        f"data_dir = {toml_string(folder)}\n"
        + (demo_data() / "abusedesk.toml").read_text(encoding="utf-8")
        + "\n# Notices go to the demo's own smarthost, which keeps them while the demo runs.\n"
        + f"[notices]\nsmarthost_port = {smarthost.port}\n"
        + 'from_address = "abuse-desk@hostingplatform.example"\n'
        + 'platform_abuse_address = "abuse@hostingplatform.example"\n'
        + "send_interval_seconds = 0.5\n",
        encoding="utf-8",
    )
    settings = load_settings(
        config,
        environ={
            "ABUSEDESK_SMTP__PORT": str(smtp_port),
            "ABUSEDESK_WEB__PORT": str(web_port),
            "ABUSEDESK_POLICY__PORT": str(policy_port),
        },
    )
    context = CliContext.for_settings(settings, config_path=config, debug=cli_context(ctx).debug)
    engine = context.engine
    try:
        summary = import_accounts(engine, read_account_rows(demo_data() / "accounts.csv"))
        where = "a temporary folder, removed when the demo stops" if temporary else "kept"
        typer.echo(
            f"demo data in {folder} ({where}); {summary.mailboxes_created} sample mailboxes "
            "imported"
        )
        admins = create_demo_admins(engine)
        hints = Hints(hint_command(), config, folder / "reports", once and temporary)
        stop = asyncio.Event()

        def story(listening: Listening) -> None:
            assert listening.smtp is not None
            loop = asyncio.get_running_loop()
            finished = (lambda: loop.call_soon_threadsafe(stop.set)) if once else None
            threading.Thread(
                target=tell_story,
                args=(context, listening, samples, smarthost, finished, admins, hints),
                daemon=True,
            ).start()

        async def main() -> None:
            if not once:
                loop = asyncio.get_running_loop()
                for sig in (signal.SIGINT, signal.SIGTERM):
                    loop.add_signal_handler(sig, stop.set)
            await run_service(context.settings, engine, Roles(), stop=stop, on_ready=story)

        asyncio.run(main())
    finally:
        engine.dispose()
