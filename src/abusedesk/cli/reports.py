"""`abusedesk parse`, `ingest` and `reports …`: reports in, and what became of them.

Each command imports the stages it runs when it runs: `parse` needs neither the
rules nor the worker, and `ingest -`, which an MTA's pipe transport starts once
per report, needs no progress bar and none of the `reports` listings.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated

import typer

from abusedesk.cli.context import cli_context
from abusedesk.errors import NotFoundError
from abusedesk.store.types import ReportSource, ReportStatus

app = typer.Typer(help="Stored reports and what became of them.", no_args_is_help=True)

STORE_BATCH = 200
PROGRESS_FROM = 20
"""Fewer reports than this are stored without a progress bar."""


def parse_command(
    ctx: typer.Context,
    files: Annotated[list[str], typer.Argument(help="Report files, folders or mbox files.")],
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per report.")] = False,
) -> None:
    """Parse and attribute reports without storing anything."""
    from abusedesk.attribute import attribute_report
    from abusedesk.ingest.files import read_reports
    from abusedesk.parse import parse_report
    from abusedesk.record.summary import readable_summary, report_summary
    from abusedesk.store.directory import DatabaseDirectory

    context = cli_context(ctx)
    directory = DatabaseDirectory(context.engine)
    for found in read_reports(files):
        report = parse_report(found.raw)
        outcome = attribute_report(report, context.settings.attribution, directory)
        summary = report_summary(found.origin, report, outcome)
        typer.echo(
            json.dumps(summary, ensure_ascii=False) if as_json else readable_summary(summary)
        )


def ingest_command(
    ctx: typer.Context,
    paths: Annotated[
        list[str],
        typer.Argument(
            help="Files, Maildir or other folders, mbox files, or - for stdin (an MTA pipe)."
        ),
    ],
    untrusted: Annotated[
        bool,
        typer.Option(
            "--untrusted", help="These reports do not come from a trusted feedback-loop provider."
        ),
    ] = False,
) -> None:
    """Store reports, then process them. Exit 75 (try again) when the database is unavailable."""
    from abusedesk.decide import policy_engine
    from abusedesk.ingest.files import STDIN, read_reports
    from abusedesk.ingest.spool import IncomingReport, store_reports
    from abusedesk.ingest.trust import trust_for_operator
    from abusedesk.pipeline.worker import ReportWorker
    from abusedesk.store.engine import create_database_engine

    context = cli_context(ctx)
    # Before anything is stored: a missing or broken rules file stops the command here
    # (exit 78 or 1), rather than leaving stored reports that nothing processes.
    policy = policy_engine(context.settings)
    engine = context.engine
    trusted, trust_reason = trust_for_operator(untrusted)
    source = ReportSource.STDIN if paths == [STDIN] else ReportSource.FILE
    found = list(read_reports(paths))
    stored = 0
    with storing_progress(len(found)) as advance:
        for start in range(0, len(found), STORE_BATCH):
            batch = found[start : start + STORE_BATCH]
            stored += len(
                store_reports(
                    engine,
                    [
                        IncomingReport(
                            raw=item.raw,
                            source=source,
                            trusted=trusted,
                            trust_reason=trust_reason,
                            envelope={"origin": item.origin},
                        )
                        for item in batch
                    ],
                )
            )
            advance(len(batch))
    write_engine = create_database_engine(context.settings.effective_database_url, for_worker=True)
    try:
        worker = ReportWorker(engine, context.settings, write_engine=write_engine, policy=policy)
        processed = worker.run_until_idle()
    finally:
        write_engine.dispose()
    typer.echo(f"stored {stored} report(s); processed {processed}")


@contextmanager
def storing_progress(total: int) -> Iterator[Callable[[int], None]]:
    """A function that advances a progress bar on stderr by so many stored reports.

    Below `PROGRESS_FROM` reports there is no bar to draw, and rich is not loaded.
    """
    if total < PROGRESS_FROM:
        yield lambda _stored: None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    with Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), transient=True
    ) as progress:
        task = progress.add_task("storing", total=total)
        yield lambda stored: progress.advance(task, stored)


@app.command("list")
def list_reports(
    ctx: typer.Context,
    status: Annotated[ReportStatus | None, typer.Option(help="Only reports in this state.")] = None,
    limit: Annotated[int, typer.Option(help="At most this many, newest first.", min=1)] = 100,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON array.")] = False,
) -> None:
    """List stored reports with their status and, when set aside, the reason."""
    from sqlalchemy import select
    from sqlmodel import Session, col

    from abusedesk.store.tables import RawReport

    query = select(
        col(RawReport.id),
        col(RawReport.received_at),
        col(RawReport.source),
        col(RawReport.peer),
        col(RawReport.size),
        col(RawReport.trusted),
        col(RawReport.status),
        col(RawReport.reason),
    )
    if status is not None:
        query = query.where(col(RawReport.status) == status.value)
    query = query.order_by(col(RawReport.id).desc()).limit(limit)
    with Session(cli_context(ctx).engine) as session:
        rows = [
            {
                "id": r[0],
                "received_at": r[1].isoformat(),
                "source": r[2],
                "peer": r[3],
                "size": r[4],
                "trusted": r[5],
                "status": r[6],
                "reason": r[7],
            }
            for r in session.execute(query)
        ]
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    for row in rows:
        typer.echo(
            f"{row['id']:>7} {row['received_at'][:19]} {row['source']:6} "
            f"{row['status']:12} {row['reason'] or ''}"
        )


@app.command("show")
def show_report(
    ctx: typer.Context,
    report_id: Annotated[int, typer.Argument(help="The report's id.")],
) -> None:
    """Print a stored report's raw message, as text."""
    from sqlmodel import Session

    from abusedesk.store.tables import RawReport

    with Session(cli_context(ctx).engine) as session:
        raw_report = session.get(RawReport, report_id)
        if raw_report is None:
            raise NotFoundError(f"no report {report_id}")
        typer.echo(raw_report.raw.decode("utf-8", "replace"))
