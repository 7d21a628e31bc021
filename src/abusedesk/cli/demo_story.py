"""What `abusedesk demo` tells: the samples sent, what became of them, the notice, what next."""

from __future__ import annotations

import logging
import smtplib
import socket
import threading
from collections.abc import Callable
from email.parser import BytesHeaderParser

import typer
from sqlalchemy import select
from sqlmodel import Session, col

from abusedesk.cli.context import CliContext
from abusedesk.cli.demo_console import DemoAdmin, console_lines
from abusedesk.cli.demo_hints import Hints
from abusedesk.cli.demo_samples import Sample
from abusedesk.cli.demo_smarthost import DemoSmarthost
from abusedesk.notify.message import render_as_text
from abusedesk.pipeline.claims import pending_count
from abusedesk.service import Listening
from abusedesk.store.tables import Complaint, Mailbox, Notice, RawReport, Suspension
from abusedesk.store.types import NoticeStatus

log = logging.getLogger(__name__)
DEMO_RECIPIENT = "fbl@abusedesk.example"
DEMO_SENDER = "scomp@aol.example"


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


def tell_story(
    context: CliContext,
    listening: Listening,
    samples: list[Sample],
    smarthost: DemoSmarthost,
    finished: Callable[[], None] | None,
    admins: list[DemoAdmin],
    hints: Hints,
) -> None:
    try:
        _send_samples(context, listening, samples)
        _show_outcomes(context, listening, samples)
        _show_notice(context, smarthost, hints)
        assert listening.smtp is not None
        typer.echo(hints.lines(listening.smtp, DEMO_RECIPIENT, listening.web))
        if listening.web:
            web_host, web_port = listening.web
            typer.echo("\n".join(console_lines(f"http://{web_host}:{web_port}", admins)))
    except Exception:  # a story cut short (say, its output closed) must still end a --once demo
        log.exception("the demo's story stopped")
    finally:
        if finished:
            finished()
    if finished is None:
        typer.echo("abusedesk is running; Ctrl-C stops it.")


def _send_samples(context: CliContext, listening: Listening, samples: list[Sample]) -> None:
    assert listening.smtp is not None
    host, port = listening.smtp
    typer.echo(
        f"\n1. Sending {len(samples)} sample feedback reports to {DEMO_RECIPIENT} over SMTP on "
        f"{host}:{port}, dated within the last hour …"
    )
    with smtplib.SMTP(host, port, timeout=30) as client:
        for sample in samples:
            client.sendmail(DEMO_SENDER, [DEMO_RECIPIENT], sample.raw)
    while pending_count(context.engine):
        threading.Event().wait(0.2)


def _show_outcomes(context: CliContext, listening: Listening, samples: list[Sample]) -> None:
    engine = context.engine
    typer.echo("\n2. What abusedesk made of them:")
    with Session(engine) as session:
        rows = session.execute(
            select(
                col(RawReport.id),
                col(RawReport.status),
                col(RawReport.reason),
                col(Mailbox.address),
                col(Complaint.kind),
                col(RawReport.raw),
            )
            .join(Complaint, col(Complaint.raw_report_id) == col(RawReport.id), isouter=True)
            .join(Mailbox, col(Mailbox.id) == col(Complaint.mailbox_id), isouter=True)
            .order_by(col(RawReport.id))
        ).all()
    by_message_id = {sample.message_id: sample for sample in samples}
    forged: list[tuple[int, Sample]] = []
    for report_id, status, reason, mailbox, kind, raw in rows:
        target = f"charged to {mailbox}" if mailbox else (reason or "")
        typer.echo(f"   report {report_id:>3}: {kind or '-':13} {status:12} {target}")
        sample = by_message_id.get(str(BytesHeaderParser().parsebytes(raw)["Message-ID"]))
        if sample is not None and sample.forged:
            forged.append((report_id, sample))
    if forged:
        typer.echo(
            f"\n   Reports {', '.join(str(i) for i, _ in forged)} are forged on purpose, as an "
            "outsider would forge them:"
        )
        for report_id, sample in forged:
            typer.echo(f"   - report {report_id} ({sample.name}): {sample.forged}.")
        typer.echo(
            "   A complaint is charged only when the provider received the message from our\n"
            "   relays and our relay's own hop names the sender. These prove neither, so they\n"
            "   are quarantined for a person to review and never count against the mailbox\n"
            "   they name."
        )
    with Session(engine) as session:
        suspended = session.execute(
            select(col(Mailbox.address), col(Suspension.rule), col(Suspension.complaint_ids))
            .join(Mailbox, col(Mailbox.id) == col(Suspension.mailbox_id))
            .where(col(Suspension.lifted_at).is_(None))
        ).all()
    rules = context.settings.rules
    named = "the default policy packaged with abusedesk" if rules.packaged else str(rules.path)
    typer.echo(f"\n3. The policy ({named}) decided:")
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


def _show_notice(context: CliContext, smarthost: DemoSmarthost, hints: Hints) -> None:
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
            f" as its reader sees it ({hints.cli(f'notices show {notice.id}')}):\n"
        )
        text = render_as_text(notice, context.settings.notices.from_address)
    readable = text.split("----- text/html -----")[0].rstrip()
    typer.echo("\n".join(f"   | {line}" for line in readable.splitlines()))
