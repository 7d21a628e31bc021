"""The console's Jinja environment, built once at start-up and passed to the pages.

Autoescape is on for every template: subjects, excerpts, headers and names
come from reports that anyone on the internet can write. No template marks
report data `|safe`.
"""

from __future__ import annotations

from datetime import datetime

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape


def console_templates() -> Environment:
    environment = Environment(
        loader=PackageLoader("abusedesk", "templates/console"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["when"] = _when
    return environment


def _when(value: datetime | None) -> str:
    if value is None:
        return "—"
    return value.strftime("%Y-%m-%d %H:%M UTC")
