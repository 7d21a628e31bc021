"""`abusedesk demo`: a throwaway instance with sample accounts and reports, and what to try next."""

from __future__ import annotations

import asyncio
import re
import signal
import smtplib
import socket
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy import select
from sqlmodel import Session, col

from abusedesk.accounts.csv_reader import read_account_rows
from abusedesk.accounts.importer import import_accounts
from abusedesk.cli.context import CliContext, cli_context
from abusedesk.cli.demo_smarthost import DemoSmarthost
from abusedesk.config import load_settings
from abusedesk.errors import AbusedeskError
from abusedesk.notify.message import render_as_text
from abusedesk.pipeline.claims import pending_count
from abusedesk.service import Listening, Roles, run_service
from abusedesk.store.tables import Complaint, Mailbox, Notice, RawReport, Suspension
from abusedesk.store.types import NoticeStatus

REPO_FIXTURES = Path(__file__).resolve().parents[3] / "fixtures"
DEMO_RECIPIENT = "fbl@abusedesk.example"


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
        int, typer.Option(help="HTTP port for metrics (0: any free port).", min=0, max=65535)
    ] = 8025,
    policy_port: Annotated[
        int,
        typer.Option(help="Postfix policy service port (0: any free port).", min=0, max=65535),
    ] = 10040,
    once: Annotated[bool, typer.Option("--once", help="Tell the story, then stop.")] = False,
) -> None:
    """Run abusedesk on SQLite with sample accounts, feed it sample reports, show what happened."""
    if not (REPO_FIXTURES / "accounts.csv").is_file():
        raise AbusedeskError(f"the demo needs the repository's fixtures/ folder ({REPO_FIXTURES})")
    folder = data_dir or Path(tempfile.mkdtemp(prefix="abusedesk-demo-"))
    folder.mkdir(parents=True, exist_ok=True)
    config = folder / "abusedesk.toml"
    smarthost = DemoSmarthost()
    smarthost.start()
    config.write_text(
        f'data_dir = "{folder}"\n'
        + (REPO_FIXTURES / "abusedesk.toml").read_text()
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
            "ABUSEDESK_RULES__PATH": str(REPO_FIXTURES.parent / "rules" / "default.yaml"),
        },
    )
    context = CliContext.for_settings(settings, config_path=config, debug=cli_context(ctx).debug)
    engine = context.engine
    summary = import_accounts(engine, read_account_rows(REPO_FIXTURES / "accounts.csv"))
    typer.echo(f"demo data in {folder}; {summary.mailboxes_created} sample mailboxes imported")

    stop = asyncio.Event()
    reports = sorted((REPO_FIXTURES / "reports" / "attribution").glob("*.eml")) + sorted(
        (REPO_FIXTURES / "reports" / "demo").glob("*.eml")
    )

    def story(listening: Listening) -> None:
        assert listening.smtp is not None
        loop = asyncio.get_running_loop()
        finished = (lambda: loop.call_soon_threadsafe(stop.set)) if once else None
        threading.Thread(
            target=_tell_story,
            args=(context, listening, reports, smarthost, finished),
            daemon=True,
        ).start()

    async def main() -> None:
        if not once:
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, stop.set)
        await run_service(context.settings, engine, Roles(), stop=stop, on_ready=story)

    try:
        asyncio.run(main())
    finally:
        smarthost.stop()


def _ask_policy(address: tuple[str, int], sasl_username: str) -> str:
    """One RCPT request to the policy service, as Postfix would ask it."""
    with socket.create_connection(address, timeout=10) as sock:
        sock.sendall(
            b"request=smtpd_access_policy\nprotocol_state=RCPT\n"
            + f"sasl_username={sasl_username}\n\n".encode()
        )
        answer = b""
        while not answer.endswith(b"\n\n"):
            chunk = sock.recv(4096)
            if not chunk:
                break
            answer += chunk
    return answer.decode().strip().removeprefix("action=")


def _tell_story(
    context: CliContext,
    listening: Listening,
    reports: list[Path],
    smarthost: DemoSmarthost,
    finished: Callable[[], None] | None,
) -> None:
    assert listening.smtp is not None
    host, port = listening.smtp
    typer.echo(
        f"\n1. Sending {len(reports)} sample feedback reports to {DEMO_RECIPIENT} "
        f"over SMTP on {host}:{port} …"
    )
    with smtplib.SMTP(host, port, timeout=30) as client:
        for path in reports:
            as_sent = re.sub(rb"\r\n|\n|\r", b"\r\n", path.read_bytes())  # SMTP wants CRLF
            client.sendmail("scomp@aol.example", [DEMO_RECIPIENT], as_sent)
    engine = context.engine
    while pending_count(engine):
        threading.Event().wait(0.2)
    typer.echo("\n2. What abusedesk made of them:")
    with Session(engine) as session:
        rows = session.execute(
            select(
                col(RawReport.id),
                col(RawReport.status),
                col(RawReport.reason),
                col(Mailbox.address),
                col(Complaint.kind),
            )
            .join(Complaint, col(Complaint.raw_report_id) == col(RawReport.id), isouter=True)
            .join(Mailbox, col(Mailbox.id) == col(Complaint.mailbox_id), isouter=True)
            .order_by(col(RawReport.id))
        ).all()
    for report_id, status, reason, mailbox, kind in rows:
        target = f"charged to {mailbox}" if mailbox else (reason or "")
        typer.echo(f"   report {report_id:>3}: {kind or '-':13} {status:12} {target}")
    with Session(engine) as session:
        suspended = session.execute(
            select(col(Mailbox.address), col(Suspension.rule), col(Suspension.complaint_ids))
            .join(Mailbox, col(Mailbox.id) == col(Suspension.mailbox_id))
            .where(col(Suspension.lifted_at).is_(None))
        ).all()
    typer.echo("\n3. The policy (rules/default.yaml) decided:")
    for address, rule, complaint_ids in suspended:
        typer.echo(
            f"   {address}: sending suspended by rule {rule!r} after {len(complaint_ids)} "
            "trusted complaints within 24 hours (it can still log in, read and receive)"
        )
    if not suspended:
        typer.echo("   no suspensions")
    if listening.policy:
        typer.echo(
            f"\n   The Postfix policy service on {listening.policy[0]}:{listening.policy[1]}:"
        )
        shown = [str(row[0]) for row in suspended[:1]] + ["alice@shop.example"]
        threading.Event().wait(1.0)  # enforcement follows the database within a second
        for address in shown:
            answer = _ask_policy(listening.policy, address)
            typer.echo(f"   sasl_username={address} -> action={answer}")
    _show_notice(context, smarthost)
    config = context.config_path
    typer.echo(
        "\n5. Try it yourself (in another terminal):\n"
        f"   abusedesk --config {config} notices list\n"
        f"   abusedesk --config {config} users add me --role staff\n"
        f"   abusedesk --config {config} suspensions lift newsletter@shop.example --as me "
        "--outcome educated --note 'talked to them'\n"
        f"   abusedesk --config {config} doctor\n"
        f"   abusedesk --config {config} reports list --status quarantined\n"
        f"   abusedesk --config {config} mailbox show newsletter@shop.example --json\n"
        f"   abusedesk --config {config} decisions list --json\n"
        f"   abusedesk --config {config} parse --json fixtures/reports/attribution/*.eml\n"
        f"   swaks --server {host}:{port} --to {DEMO_RECIPIENT} --data <report.eml>\n"
        + (
            f"   curl http://{listening.web[0]}:{listening.web[1]}/metrics\n"
            if listening.web
            else ""
        )
    )
    if finished:
        finished()
    else:
        typer.echo("abusedesk is running; Ctrl-C stops it.")


def _show_notice(context: CliContext, smarthost: DemoSmarthost) -> None:
    """Wait for the outbox to deliver, then print the first AUP notice as its reader sees it."""
    engine = context.engine
    for _ in range(100):  # the delivery loop runs every half second
        with Session(engine) as session:
            waiting = session.execute(
                select(col(Notice.id)).where(col(Notice.status) != NoticeStatus.SENT.value)
            ).first()
        if waiting is None:
            break
        threading.Event().wait(0.2)
    with Session(engine) as session:
        notice = session.execute(
            select(Notice).where(col(Notice.template) == "aup-notice").order_by(col(Notice.id))
        ).scalar()
        if notice is None:
            typer.echo("\n4. No notice was queued.")
            return
        typer.echo(
            f"\n4. The AUP notice went to {notice.recipient} ({notice.status}, "
            f"{smarthost.count()} message(s) at the demo smarthost on 127.0.0.1:{smarthost.port});"
            f" as its reader sees it (abusedesk notices show {notice.id}):\n"
        )
        text = render_as_text(notice, context.settings.notices.from_address)
    readable = text.split("----- text/html -----")[0].rstrip()
    typer.echo("\n".join(f"   | {line}" for line in readable.splitlines()))
