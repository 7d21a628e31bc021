"""`abusedesk rules …`: check, test and replay a rules file; its status; params overrides."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Annotated

import typer

from abusedesk.cli.context import cli_context
from abusedesk.config import packaged_rules
from abusedesk.decide.expr import parse_duration
from abusedesk.decide.loader import load_rules, read_rules
from abusedesk.decide.params import list_params, set_param
from abusedesk.decide.reload import read_status
from abusedesk.decide.replay import replay
from abusedesk.decide.scenarios import run_scenarios, scenarios_path
from abusedesk.errors import RulesError
from abusedesk.notify.templates import NoticeTemplates
from abusedesk.store.types import utcnow

app = typer.Typer(help="Check, test and replay the rules; their params.", no_args_is_help=True)
params_app = typer.Typer(help="Per-company and per-domain param overrides.", no_args_is_help=True)
app.add_typer(params_app, name="params")

RulesFile = Annotated[
    Path | None,
    typer.Argument(help="The rules file (default: the configured rules.path).", dir_okay=False),
]


def _rules_path(ctx: typer.Context, given: Path | None) -> Path:
    return given if given is not None else cli_context(ctx).settings.rules.existing_path()


def _named(path: Path | str) -> str:
    """A rules file's path, and whether it is the default policy packaged with abusedesk."""
    packaged = Path(path) == packaged_rules()
    return f"{path} (the packaged default policy)" if packaged else str(path)


@app.command("check")
def check(ctx: typer.Context, file: RulesFile = None) -> None:
    """Check a rules file; each mistake is shown with file:line:column and rule."""
    result = read_rules(_rules_path(ctx, file))
    if result.ruleset is None:
        for problem in result.problems:
            typer.echo(problem, err=True)
        # An error (not typer.Exit, whose code `main` would not pass on) sets the exit status.
        raise RulesError(f"{result.path}: {len(result.problems)} problem(s); nothing loaded")
    rules = result.ruleset
    # The notices the rules name must render too: a broken override fails here, not at send.
    NoticeTemplates(cli_context(ctx).settings.notices.templates_dir).check()
    typer.echo(
        f"{rules.path}: OK ({len(rules.rules)} rules, {len(rules.counters)} counters, "
        f"{len(rules.params)} params, sha256 {rules.sha256[:12]})"
    )


@app.command("test")
def test(ctx: typer.Context, file: RulesFile = None) -> None:
    """Run the scenarios next to a rules file (NAME.scenarios.yaml)."""
    path = _rules_path(ctx, file)
    results = run_scenarios(load_rules(path), scenarios_path(path))
    for result in results:
        typer.echo(f"{'PASS' if result.passed else 'FAIL'}  {result.name}")
        for line in result.missing:
            typer.echo(f"        expected, not done: {line}")
        for line in result.unexpected:
            typer.echo(f"        done, not expected: {line}")
        if result.error:
            typer.echo(f"        error: {result.error}")
    failed = sum(not r.passed for r in results)
    typer.echo(f"{len(results) - failed} passed, {failed} failed")
    if failed:
        raise RulesError(f"{scenarios_path(path)}: {failed} scenario(s) failed")


@app.command("replay")
def replay_command(
    ctx: typer.Context,
    rules: Annotated[
        Path, typer.Option("--rules", help="The candidate rules file.", dir_okay=False)
    ],
    since: Annotated[str, typer.Option("--since", help="How far back: 30d, 12h, 2w.")] = "30d",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Replay stored history against candidate rules; nothing is carried out."""
    seconds = parse_duration(since)
    if seconds is None:
        raise RulesError(f"--since {since!r}: expected a duration like 30d, 12h or 2w")
    candidate = load_rules(rules)
    until = utcnow()
    report = replay(cli_context(ctx).engine, candidate, until - timedelta(seconds=seconds), until)
    if as_json:
        typer.echo(json.dumps(report.as_json(), indent=2))
    else:
        typer.echo("\n".join(report.lines()))


@app.command("status")
def status(ctx: typer.Context) -> None:
    """Which rules the running service uses, and whether a newer file was rejected."""
    settings = cli_context(ctx).settings
    current = read_status(settings.data_dir)
    if current is None:
        typer.echo(f"no running service has loaded rules (no status in {settings.data_dir})")
    else:
        typer.echo(
            f"active:   {_named(current.path)} sha256 {current.active_sha256[:12]} "
            f"(loaded {current.loaded_at}, pid {current.pid})"
        )
        if current.rejected_at:
            typer.echo(
                f"rejected: sha256 {(current.rejected_sha256 or '')[:12]} at "
                f"{current.rejected_at}; the active rules keep running:"
            )
            for problem in current.problems or []:
                typer.echo(f"  {problem}")
    # Not existing_path(): a service may run on rules whose file has gone since it started.
    path = settings.rules.path
    on_disk = read_rules(path)
    if not path.is_file():
        typer.echo(f"on disk:  {path}: no such rules file")
    elif on_disk.ruleset is None:
        typer.echo(
            f"on disk:  {_named(path)} does not check "
            f"({len(on_disk.problems)} problem(s): run `abusedesk rules check`)"
        )
    else:
        same = current is not None and current.active_sha256 == on_disk.ruleset.sha256
        typer.echo(
            f"on disk:  {_named(path)} sha256 {on_disk.ruleset.sha256[:12]}"
            f"{' (active)' if same else ' (not active yet)'}"
        )


@params_app.command("set")
def params_set(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="A param of the rules file.")],
    value: Annotated[str, typer.Argument(help="Its value for this company or domain.")],
    company: Annotated[str | None, typer.Option("--company", help="Company name.")] = None,
    domain: Annotated[str | None, typer.Option("--domain", help="Domain name.")] = None,
) -> None:
    """Override a param for one company or one domain (a domain's wins)."""
    context = cli_context(ctx)
    ruleset = load_rules(context.settings.rules.existing_path())
    row = set_param(context.engine, ruleset, name, value, company=company, domain=domain)
    typer.echo(f"{row.name} = {row.value} for {row.scope} {row.scope_key}")


@params_app.command("list")
def params_list(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Every override, with the rules file's defaults."""
    context = cli_context(ctx)
    rows = list_params(context.engine)
    if as_json:
        typer.echo(json.dumps([row.as_json() for row in rows], indent=2))
        return
    ruleset = load_rules(context.settings.rules.existing_path())
    for param in ruleset.params.values():
        typer.echo(f"{param.name:24} {param.default!s:>10}  (default, {ruleset.path})")
        for row in rows:
            if row.name == param.name:
                typer.echo(f"{'':24} {row.value:>10}  {row.scope} {row.scope_key}")
