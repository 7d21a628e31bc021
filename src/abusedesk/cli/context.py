"""What every CLI command shares: the settings and the database, built once on demand.

The settings, the database and the rules are imported where they are first
built, not at the top: the root command makes a `CliContext` for every command,
`--version` included, and most commands need only some of them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from abusedesk.config import Settings
    from abusedesk.decide import PolicyEngine


@dataclass
class CliContext:
    config_path: Path | None = None
    debug: bool = False
    _settings: Settings | None = field(default=None, repr=False)
    _engine: Engine | None = field(default=None, repr=False)

    @classmethod
    def for_settings(
        cls, settings: Settings, config_path: Path | None = None, debug: bool = False
    ) -> CliContext:
        """A context whose settings were built by the caller (the demo does that)."""
        return cls(config_path=config_path, debug=debug, _settings=settings)

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            from abusedesk.config import load_settings

            self._settings = load_settings(self.config_path)
        return self._settings

    @property
    def engine(self) -> Engine:
        """The database, reachable and with an up-to-date schema (an empty one is created)."""
        from abusedesk.store.schema import ensure_schema

        engine = self.unmigrated_engine
        ensure_schema(engine)
        return engine

    @property
    def unmigrated_engine(self) -> Engine:
        """The database, reachable, whatever its schema: for `db upgrade`."""
        if self._engine is None:
            from abusedesk.store.engine import check_database, create_database_engine

            engine = create_database_engine(self.settings.effective_database_url)
            check_database(engine)
            self._engine = engine
        return self._engine

    def close(self) -> None:
        """Close the database connections: the root command calls this when it ends."""
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None


def cli_context(ctx: typer.Context) -> CliContext:
    obj = ctx.find_root().obj
    assert isinstance(obj, CliContext)
    return obj


def cli_policy(ctx: typer.Context) -> PolicyEngine:
    """The configured rules, checked (a `RulesError` names what is wrong)."""
    from abusedesk.decide import policy_engine

    return policy_engine(cli_context(ctx).settings)
