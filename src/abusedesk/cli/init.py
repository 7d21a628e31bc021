"""`abusedesk init [DIR]`: a commented config file and an editable copy of the default policy.

It writes `DIR/abusedesk.toml`, `DIR/rules/default.yaml` and
`DIR/rules/default.scenarios.yaml` (the copy is what `rules check`, `rules test`
and `serve` then run). It never overwrites: when one of those files exists it
writes none of them and names the first it found.
"""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Annotated

import typer

from abusedesk.cli.demo_hints import hint_command
from abusedesk.config import packaged_rules
from abusedesk.decide.scenarios import scenarios_path
from abusedesk.errors import RefusedError

CONFIG_TEMPLATE = """\
# abusedesk configuration, written by `abusedesk init`. Every key is described in the
# README ("Configuration"); a commented-out key shows its default or an example.
# Any key can be overridden from the environment: ABUSEDESK_<KEY> at the top level,
# ABUSEDESK_<SECTION>__<KEY> inside a section (ABUSEDESK_SMTP__PORT=2526).

# Where the SQLite database (and the rules status file) lives.
data_dir = {data_dir}
# database_url = "postgresql+psycopg://abusedesk@db.example/abusedesk"   # several nodes
# log_level = "INFO"

[rules]
# The policy: a copy of the default, yours to edit. Check a change with
# `abusedesk rules check`, run its scenarios with `abusedesk rules test`.
# Without this key abusedesk runs the default policy packaged with it.
path = {rules_path}
# reload = true                    # pick up a changed file within a second

[smtp]
# The listener feedback-loop providers deliver reports to.
# host = "127.0.0.1"
# port = 2525
# recipients = ["fbl@localhost", "abuse@localhost"]   # addresses, or "@domain"

[providers]
# Reports from these networks, or DKIM-signed by these domains, are trusted.
# peers = ["198.51.100.0/24"]
# dkim_domains = ["yahoo.com", "aol.com", "hotmail.com", "comcast.net"]

[attribution]
# Your outbound relays: a complaint is charged only through evidence they wrote.
# Until they are listed, every complaint is quarantined as unattributed.
# relays = ["relay1.out.example.net", "203.0.113.0/28"]
# authenticated_header = "X-Authenticated-Sender"

[notices]
# Where AUP and escalation notices are sent from, and through.
# smarthost = "127.0.0.1"
# smarthost_port = 25
# from_address = "abuse-desk@localhost"
# platform_abuse_address = "abuse@localhost"

[policy]
# The Postfix policy service (check_policy_service inet:127.0.0.1:10040).
# host = "127.0.0.1"
# port = 10040

[web]
# The review console, the APIs and /metrics.
# host = "127.0.0.1"
# port = 8025
# secret_key = "at least 32 random characters; nodes behind one balancer share it"

[worker]
# processes = 1                    # worker processes beside the service
"""


def init_command(
    directory: Annotated[
        Path,
        typer.Argument(
            help="Where to write abusedesk.toml and rules/ (default: here).", file_okay=False
        ),
    ] = Path("."),
) -> None:
    """Write a commented abusedesk.toml and an editable copy of the default rules."""
    folder = directory.absolute()
    rules = folder / "rules" / "default.yaml"
    config = folder / "abusedesk.toml"
    sources = {rules: packaged_rules(), scenarios_path(rules): scenarios_path(packaged_rules())}
    for target in (config, *sources):
        if target.exists():
            raise RefusedError(
                f"{target} exists; init wrote nothing (move it away, or init another folder)"
            )
    rules.parent.mkdir(parents=True, exist_ok=True)
    for target, source in sources.items():
        target.write_bytes(source.read_bytes())
    config.write_text(
        CONFIG_TEMPLATE.format(
            data_dir=toml_string(folder / "data"), rules_path=toml_string(rules)
        ),
        encoding="utf-8",
    )
    typer.echo(f"wrote {config}, {rules} and {scenarios_path(rules).name} beside it")
    typer.echo(f"next: {hint_command()} --config {shlex.quote(str(config))} rules check")


def toml_string(path: Path) -> str:
    """`path` as a TOML basic string (JSON's escapes are TOML's: quotes, backslashes)."""
    return json.dumps(str(path), ensure_ascii=False)
