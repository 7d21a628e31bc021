"""The seam where notices will be handed to the outbox; for now intents are only recorded.

The outbox (templates, rendering, delivery and retries) is a later piece of
work. Until it exists, `queue_notices` records each notify intent in its
decision's actions as `pending-outbox`, so nothing pretends a notice was sent
and the outbox can later pick the intents up from the decisions.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from sqlmodel import Session

from abusedesk.store.tables import Decision

# The templates the outbox will render; a rules file naming another is rejected.
NOTICE_TEMPLATES: Final = frozenset({"aup-notice", "escalation-notice"})
NOTICE_RECIPIENTS: Final = frozenset({"abuse-contact", "platform-abuse"})


def queue_notices(
    session: Session, decision: Decision, intents: Sequence[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Accept the notify intents of `decision`; returns them as recorded, not sent."""
    del session  # the outbox will write Notice rows in this same transaction
    return [{**intent, "status": "pending-outbox"} for intent in intents]
