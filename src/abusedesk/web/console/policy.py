"""The policy page (staff): the running rules and their version, the last rejected reload,
the decisions shadow-mode rules recorded, and a replay of the rules file on disk."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlmodel import col

from abusedesk.config import packaged_rules
from abusedesk.decide.expr import parse_duration
from abusedesk.decide.loader import read_rules
from abusedesk.decide.reload import read_status
from abusedesk.decide.replay import replay
from abusedesk.errors import UsageError
from abusedesk.store.tables import Decision, Mailbox
from abusedesk.store.types import utcnow
from abusedesk.web.console.endpoint import Call, Page

SHADOW_LIMIT = 50
MAX_REPLAY_SECONDS = 30 * 86400


def show_policy(call: Call) -> Page:
    policy = call.deps.policy
    path = call.deps.rules_path
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        text = f"(cannot read {path}: {exc})"
    on_disk = read_rules(path)
    shadow = call.session.execute(
        select(Decision, col(Mailbox.address))
        .join(Mailbox, col(Mailbox.id) == col(Decision.mailbox_id), isouter=True)
        .where(col(Decision.shadow).is_(True))
        .order_by(col(Decision.id).desc())
        .limit(SHADOW_LIMIT)
    ).all()
    return Page(
        "policy.html",
        {
            "path": path,
            "packaged": path == packaged_rules(),
            "text": text,
            "active_sha256": policy.ruleset.sha256 if policy else None,
            "disk_sha256": on_disk.ruleset.sha256 if on_disk.ruleset else None,
            "disk_problems": on_disk.problems,
            "status": read_status(call.deps.data_dir),
            "shadow": shadow,
        },
    )


def replay_policy(call: Call) -> Page:
    since = call.query.get("since", "7d")
    seconds = parse_duration(since)
    if seconds is None or not 0 < seconds <= MAX_REPLAY_SECONDS:
        raise UsageError(f"since {since!r}: a duration like 24h or 7d, at most 30d")
    result = read_rules(call.deps.rules_path)
    if result.ruleset is None:
        raise UsageError(f"{call.deps.rules_path} does not check: {'; '.join(result.problems)}")
    until = utcnow()
    report = replay(call.deps.engine, result.ruleset, until - timedelta(seconds=seconds), until)
    return Page(
        "replay.html", {"since": since, "lines": report.lines(), "path": call.deps.rules_path}
    )
