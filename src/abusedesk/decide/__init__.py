"""Decide: compile the rules file (docs/rules.md) and decide each event against it.

Build one `PolicyEngine` at start-up (`policy_engine(settings)`), pass it to the
worker, and call `decide_after_complaint` right after a complaint is recorded,
in the same transaction. `RulesWatcher` reloads the rules when the file changes.
"""

from __future__ import annotations

from abusedesk.config import Settings
from abusedesk.decide.decide import (
    decide_after_complaint,
    decide_event,
    decide_recorded_complaint,
)
from abusedesk.decide.engine import PolicyEngine
from abusedesk.decide.events import Event, lift_event, signup_event, suspension_event
from abusedesk.decide.loader import load_rules
from abusedesk.decide.reload import RulesWatcher


def policy_engine(settings: Settings) -> PolicyEngine:
    """The engine for the configured rules and notice templates.

    `RulesError` when the rules file does not check, `ConfigError` when the configured
    rules file is missing or a notice template does not render: each stops a start-up
    (or an `ingest`, before it stores anything), not the first suspension.
    """
    from abusedesk.notify.compose import NoticeComposer

    rules = settings.rules.existing_path()
    notices = NoticeComposer.from_settings(settings.notices)
    return PolicyEngine(load_rules(rules), notices)


__all__ = [
    "Event",
    "PolicyEngine",
    "RulesWatcher",
    "decide_after_complaint",
    "decide_event",
    "decide_recorded_complaint",
    "lift_event",
    "policy_engine",
    "signup_event",
    "suspension_event",
]
