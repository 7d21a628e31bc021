"""The command line: `abusedesk`. Errors are one line on stderr and a non-zero exit."""

from __future__ import annotations

import gc
import sys
import traceback

import typer

from abusedesk.errors import AbusedeskError

INTERNAL_ERROR = 70  # EX_SOFTWARE


def main() -> None:
    try:
        run_command()
    finally:
        # What is left at exit goes with the process. Frozen, it is spared the collection
        # the interpreter would otherwise make on the way out, which costs a short command
        # (`ingest -`, once per report) a fifth of its time. The database connections were
        # closed when the command ended (`CliContext.close`).
        gc.freeze()


def run_command() -> None:
    from abusedesk.cli.app import app

    debug = "--debug" in sys.argv[1:]
    try:
        # Without standalone mode a command's `typer.Exit(code)` comes back as the result.
        sys.exit(app(standalone_mode=False) or 0)
    except typer.Exit as done:
        sys.exit(done.exit_code)
    except typer.Abort:
        sys.stderr.write("abusedesk: aborted\n")
        sys.exit(130)
    except typer.TyperException as exc:  # usage errors: bad option, missing argument, …
        sys.stderr.write(f"abusedesk: {exc.format_message()}\n")
        sys.exit(exc.exit_code)
    except AbusedeskError as exc:
        if debug:
            traceback.print_exc()
        sys.stderr.write(f"abusedesk: {exc}\n")
        sys.exit(exc.exit_code)
    except Exception as exc:
        if debug:
            traceback.print_exc()
        name = type(exc).__name__
        sys.stderr.write(f"abusedesk: internal error: {name}: {exc} (--debug shows where)\n")
        sys.exit(INTERNAL_ERROR)
