"""`abusedesk doctor`: the problems an operator must see, each on one line; non-zero when any."""

from __future__ import annotations

from typing import Annotated

import typer
from sqlalchemy import func, select
from sqlmodel import Session, col

from abusedesk.cli.context import cli_context
from abusedesk.config import Settings
from abusedesk.decide.loader import read_rules
from abusedesk.errors import AbusedeskError, ConfigError
from abusedesk.notify.recipients import contact_problems, valid_address
from abusedesk.notify.templates import NoticeTemplates
from abusedesk.record.decision_failures import MAX_DECISION_ATTEMPTS, failed_decisions
from abusedesk.store.tables import Notice
from abusedesk.store.types import NoticeStatus


class ProblemsFound(AbusedeskError):
    """`doctor` found problems (they were printed)."""


def doctor_command(
    ctx: typer.Context,
    quiet: Annotated[bool, typer.Option("--quiet", help="Print problems only.")] = False,
) -> None:
    """Check the abuse contacts, notice templates, outbox and rules; list every problem."""
    context = cli_context(ctx)
    problems = settings_problems(context.settings)
    with Session(context.engine) as session:
        problems += [f"company {p.company!r}: {p.problem}" for p in contact_problems(session)]
        problems += outbox_problems(session)
        problems += decision_problems(session)
    for problem in problems:
        typer.echo(f"problem: {problem}")
    if problems:
        raise ProblemsFound(f"doctor: {len(problems)} problem(s) found")
    if not quiet:
        typer.echo("doctor: no problems found")


def settings_problems(settings: Settings) -> list[str]:
    problems: list[str] = []
    notices = settings.notices
    for key in ("from_address", "platform_abuse_address"):
        value = getattr(notices, key)
        if not valid_address(value):
            problems.append(f"[notices] {key} {value!r} is not a deliverable address")
    try:
        NoticeTemplates(notices.templates_dir).check()
    except ConfigError as error:
        problems.append(str(error))
    result = read_rules(settings.rules.path)
    if result.ruleset is None:
        problems.append(f"{result.path}: {len(result.problems)} problem(s) (abusedesk rules check)")
    return problems


def decision_problems(session: Session) -> list[str]:
    retrying, failed = failed_decisions(session)
    problems: list[str] = []
    if failed:
        problems.append(
            f"{failed} complaint(s) whose decision failed {MAX_DECISION_ATTEMPTS} times: they "
            f"are recorded but decided by no rule (the worker's log has each error)"
        )
    if retrying:
        problems.append(f"{retrying} complaint(s) whose decision failed and is being retried")
    return problems


def outbox_problems(session: Session) -> list[str]:
    problems: list[str] = []
    failed = session.execute(
        select(func.count()).where(col(Notice.status) == NoticeStatus.FAILED.value)
    ).scalar_one()
    if failed:
        problems.append(
            f"{failed} notice(s) failed for good (abusedesk notices list --status failed)"
        )
    retrying = session.execute(
        select(func.count(), func.max(col(Notice.attempts))).where(
            col(Notice.status) == NoticeStatus.QUEUED.value, col(Notice.attempts) > 0
        )
    ).one()
    if retrying[0]:
        last = session.execute(
            select(col(Notice.last_error))
            .where(col(Notice.status) == NoticeStatus.QUEUED.value, col(Notice.attempts) > 0)
            .order_by(col(Notice.id).desc())
            .limit(1)
        ).scalar_one()
        problems.append(
            f"{retrying[0]} notice(s) waiting to be retried (up to {retrying[1]} attempts); "
            f"last error: {last}"
        )
    return problems
