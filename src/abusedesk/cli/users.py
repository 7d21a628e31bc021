"""`abusedesk users …`: the people who review cases (staff, company admins, domain admins)."""

from __future__ import annotations

import getpass
import json
import sys
from typing import Annotated

import typer
from sqlalchemy import select
from sqlmodel import Session, col

from abusedesk.access import Role
from abusedesk.access.audit import AuditAction, record_audit
from abusedesk.access.scope import Actor
from abusedesk.access.users import add_user, issue_api_token, list_users
from abusedesk.cli.context import cli_context
from abusedesk.errors import UsageError
from abusedesk.store.tables import Company, Domain

app = typer.Typer(help="Add and list admin users; issue API tokens.", no_args_is_help=True)


def operator_actor() -> Actor:
    """Whoever runs the CLI without `--as`: an operator of the platform, audited by OS user."""
    return Actor(f"operator:{getpass.getuser()}", Role.STAFF, None, None, "cli")


@app.command("add")
def add(
    ctx: typer.Context,
    username: Annotated[str, typer.Argument(help="Login name.")],
    role: Annotated[Role, typer.Option("--role", help="What the user may see and do.")],
    company: Annotated[
        str | None, typer.Option("--company", help="The company (company-admin).")
    ] = None,
    domain: Annotated[
        str | None, typer.Option("--domain", help="The domain (domain-admin).")
    ] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from stdin's first line.")
    ] = False,
) -> None:
    """Add an admin user: staff see all, a company admin one company, a domain admin one domain."""
    password = None
    if password_stdin:
        try:
            line = sys.stdin.buffer.readline().decode("utf-8")
        except UnicodeDecodeError as exc:
            raise UsageError("--password-stdin: the password is not UTF-8 text") from exc
        password = line.rstrip("\r\n")
        if not password:
            raise UsageError("--password-stdin: stdin gave no password")
    with Session(cli_context(ctx).engine) as session:
        user = add_user(session, username, role, company=company, domain=domain, password=password)
        record_audit(
            session,
            operator_actor(),
            AuditAction.USER_ADD,
            "user",
            user.username,
            detail={"role": user.role, "company": company, "domain": domain},
        )
        session.commit()
        typer.echo(f"added {user.role} {user.username}")


@app.command("list")
def list_command(
    ctx: typer.Context, as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False
) -> None:
    """List admin users (never their passwords or tokens)."""
    with Session(cli_context(ctx).engine) as session:
        # A Result has .keys(): dict() would read it as a mapping, not as pairs.
        companies = {i: n for i, n in session.execute(select(col(Company.id), col(Company.name)))}
        domains = {i: n for i, n in session.execute(select(col(Domain.id), col(Domain.name)))}
        rows = [
            {
                "username": user.username,
                "role": user.role,
                "company": companies.get(user.company_id) if user.company_id else None,
                "domain": domains.get(user.domain_id) if user.domain_id else None,
                "disabled": user.disabled,
                "has_password": user.password_hash is not None,
                "has_api_token": user.api_token_hash is not None,
                "created_at": user.created_at.isoformat(),
            }
            for user in list_users(session)
        ]
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    for row in rows:
        place = row["domain"] or row["company"] or "everything"
        typer.echo(f"{row['username']:24} {row['role']:14} {place}")


@app.command("token")
def token(ctx: typer.Context, username: Annotated[str, typer.Argument(help="The user.")]) -> None:
    """Issue a new API token for USER and print it (shown once; the previous one stops working)."""
    with Session(cli_context(ctx).engine) as session:
        plain = issue_api_token(session, username)
        record_audit(session, operator_actor(), AuditAction.USER_TOKEN, "user", username.strip())
        session.commit()
    typer.echo(plain)
