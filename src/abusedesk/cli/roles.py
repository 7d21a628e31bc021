"""Which roles `abusedesk serve` runs on this node, from its flags.

Naming roles (`--intake --worker`) runs exactly those; naming none runs every
role; `--no-<role>` always takes one away. So a node of any mix can be said
positively, and the older negative spelling (`--no-smtp --no-imap` for a
worker node) keeps meaning what it meant. `--intake` is SMTP and IMAP
together: both only store raw reports, which any worker then processes.
"""

from __future__ import annotations

from dataclasses import dataclass

from abusedesk.config import Settings
from abusedesk.errors import UsageError
from abusedesk.service import Roles


@dataclass(frozen=True, slots=True)
class RoleFlags:
    """Each flag as given: True (`--x`), False (`--no-x`) or None (not given)."""

    intake: bool | None = None
    smtp: bool | None = None
    imap: bool | None = None
    worker: bool | None = None
    policy: bool | None = None
    web: bool | None = None


def choose_roles(flags: RoleFlags, settings: Settings) -> Roles:
    """The roles to run; a `ConfigError` when that leaves nothing to run."""
    named = any(
        flag is True
        for flag in (flags.intake, flags.smtp, flags.imap, flags.worker, flags.policy, flags.web)
    )

    def chosen(flag: bool | None, *, part_of_intake: bool = False) -> bool:
        if flag is not None:
            return flag and not (part_of_intake and flags.intake is False)
        if part_of_intake and flags.intake is not None:
            return flags.intake
        return not named

    roles = Roles(
        smtp=chosen(flags.smtp, part_of_intake=True) and settings.smtp.enabled,
        imap=chosen(flags.imap, part_of_intake=True),
        worker=chosen(flags.worker),
        policy=chosen(flags.policy) and settings.policy.enabled,
        web=chosen(flags.web) and settings.web.enabled,
    )
    if not (roles.smtp or roles.imap or roles.worker or roles.policy or roles.web):
        raise UsageError("serve: no role left to run (see `abusedesk serve --help`)")
    return roles
