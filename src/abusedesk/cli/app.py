"""The `abusedesk` command tree: one line per command in `COMMANDS`, each in a module of its own.

A command's module is imported only when that command is looked up: when it runs,
or when `--help` lists them all. `abusedesk ingest -` runs once per report from an
MTA's pipe transport and `--version` should answer at once, so neither may pay for
the web console, the demo or the rules tools that other commands import.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, MutableMapping
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from typer.core import TyperGroup
from typer.main import get_command_from_info, get_group_from_info
from typer.models import CommandInfo, TyperInfo

from abusedesk import __version__
from abusedesk.cli.context import CliContext

if TYPE_CHECKING:
    # Typer vendors Click; its command type is only reachable there.
    from typer._click import Command

# name -> "module:attribute": a command function, or a `typer.Typer` for a group of commands.
# Single commands come first and groups after them, the order `--help` has always shown.
COMMANDS: dict[str, str] = {
    "parse": "abusedesk.cli.reports:parse_command",
    "ingest": "abusedesk.cli.reports:ingest_command",
    "serve": "abusedesk.cli.serve:serve_command",
    "demo": "abusedesk.cli.demo:demo_command",
    "init": "abusedesk.cli.init:init_command",
    "doctor": "abusedesk.cli.doctor:doctor_command",
    "db": "abusedesk.cli.db:app",
    "accounts": "abusedesk.cli.accounts:app",
    "mailbox": "abusedesk.cli.mailbox:app",
    "reports": "abusedesk.cli.reports:app",
    "rules": "abusedesk.cli.rules:app",
    "decisions": "abusedesk.cli.decisions:app",
    "users": "abusedesk.cli.users:app",
    "suspensions": "abusedesk.cli.suspensions:app",
    "candidates": "abusedesk.cli.candidates:app",
    "audit": "abusedesk.cli.audit:app",
    "notices": "abusedesk.cli.notices:app",
}


class LazyCommands(MutableMapping[str, "Command"]):
    """`COMMANDS` as the Click commands Typer would build for `root`, each built on first use.

    Looking a name up (to run it) imports nothing but that command's module;
    listing the names (a typo's "did you mean") imports nothing; listing the
    commands themselves (`--help`) builds them all.
    """

    def __init__(self, table: dict[str, str], root: typer.Typer) -> None:
        self._entries: dict[str, Command | str] = dict(table)
        self._root = root

    def __getitem__(self, name: str) -> Command:
        entry = self._entries[name]
        if isinstance(entry, str):
            module, _, attribute = entry.partition(":")
            entry = self._build(name, getattr(importlib.import_module(module), attribute))
            self._entries[name] = entry
        return entry

    def _build(self, name: str, found: Any) -> Command:
        # What `root.add_typer(found, name=name)` or `root.command(name)(found)` would
        # register, made into a Click command the way Typer makes the whole tree.
        if isinstance(found, typer.Typer):
            return get_group_from_info(
                TyperInfo(found, name=name),
                pretty_exceptions_short=self._root.pretty_exceptions_short,
                rich_markup_mode=self._root.rich_markup_mode,
                suggest_commands=self._root.suggest_commands,
            )
        return get_command_from_info(
            CommandInfo(name=name, callback=found),
            pretty_exceptions_short=self._root.pretty_exceptions_short,
            rich_markup_mode=self._root.rich_markup_mode,
        )

    def __setitem__(self, name: str, command: Command) -> None:
        self._entries[name] = command

    def __delitem__(self, name: str) -> None:
        del self._entries[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)


class CommandTree(TyperGroup):
    """The root `abusedesk` group: its commands are `LazyCommands`."""

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        self.commands = LazyCommands(COMMANDS, app)


app = typer.Typer(
    name="abusedesk",
    cls=CommandTree,
    help="The abuse desk of an email hosting platform: feedback-loop reports in, "
    "fair soft-suspensions out.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


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
    context = CliContext(config_path=config, debug=debug)
    ctx.obj = context
    ctx.call_on_close(context.close)
