"""The suspension lifecycle after the rules: a person lifts a suspension, or deletes an account.

Lifting restores sending at once (the enforcement side sees `Mailbox.can_send`
change in the database). A soft-suspended mailbox cannot be deleted: the
reseller first decides about the suspension, so that every suspension ends
with a recorded outcome. The outcome `account-deleted` lifts the suspension
without switching sending back on, for an account that is about to be deleted.
"""

from __future__ import annotations

from sqlmodel import Session

from abusedesk.access.audit import AuditAction, record_audit
from abusedesk.access.scope import Actor, mailbox_in_scope
from abusedesk.act.suspend import active_suspension
from abusedesk.decide.decide import decide_event
from abusedesk.decide.engine import PolicyEngine
from abusedesk.decide.events import lift_event
from abusedesk.decide.locks import lock_mailbox
from abusedesk.errors import RefusedError, UsageError
from abusedesk.store.tables import Mailbox, Suspension
from abusedesk.store.types import LiftOutcome, utcnow

MAX_NOTE = 4000


def lift_suspension(
    session: Session,
    actor: Actor,
    address: str,
    outcome: LiftOutcome | str,
    note: str,
    *,
    policy: PolicyEngine | None = None,
) -> Suspension:
    """End the mailbox's send suspension with `outcome`, audited; the rules see a `lift` event."""
    result = _outcome(outcome)
    text = _note(note, required=True)
    assert text is not None
    mailbox = mailbox_in_scope(session, actor, address)
    assert mailbox.id is not None
    lock_mailbox(session, mailbox.id)
    suspension = active_suspension(session, mailbox.id)
    if suspension is None:
        raise RefusedError(f"{mailbox.address} is not suspended: there is nothing to lift")
    suspension.lifted_at = utcnow()
    suspension.lifted_by = actor.username
    suspension.outcome = result.value
    suspension.note = text
    if result is not LiftOutcome.ACCOUNT_DELETED:
        mailbox.can_send = True
    session.add_all([suspension, mailbox])
    session.flush()
    record_audit(
        session,
        actor,
        AuditAction.SUSPENSION_LIFT,
        "mailbox",
        mailbox.address,
        note=text,
        detail={
            "suspension_id": suspension.id,
            "outcome": result.value,
            "rule": suspension.rule,
            "started_at": suspension.started_at.isoformat(),
            "can_send": mailbox.can_send,
        },
    )
    if policy is not None:
        decide_event(session, policy, lift_event(suspension))
    return suspension


def delete_mailbox(
    session: Session, actor: Actor, address: str, note: str | None = None
) -> Mailbox:
    """Mark the mailbox deleted with every service off; refused while sending is suspended."""
    text = _note(note, required=False)
    mailbox = mailbox_in_scope(session, actor, address)
    assert mailbox.id is not None
    lock_mailbox(session, mailbox.id)
    if mailbox.deleted_at is not None:
        raise RefusedError(f"{mailbox.address} is already deleted")
    if active_suspension(session, mailbox.id) is not None:
        raise RefusedError(
            f"{mailbox.address} is soft-suspended: lift the suspension first, "
            "then delete the account"
        )
    mailbox.deleted_at = utcnow()
    mailbox.can_send = mailbox.can_receive = mailbox.can_login = False
    session.add(mailbox)
    session.flush()
    record_audit(
        session,
        actor,
        AuditAction.MAILBOX_DELETE,
        "mailbox",
        mailbox.address,
        note=text,
        detail={"deleted_at": mailbox.deleted_at.isoformat()},
    )
    return mailbox


def _outcome(outcome: LiftOutcome | str) -> LiftOutcome:
    try:
        return LiftOutcome(outcome)
    except ValueError:
        choices = ", ".join(o.value for o in LiftOutcome)
        raise UsageError(f"unknown outcome {outcome!r}: one of {choices}") from None


def _note(note: str | None, *, required: bool) -> str | None:
    text = (note or "").strip()
    if not text:
        if required:
            raise UsageError("a note is required: say what was done and why")
        return None
    if len(text) > MAX_NOTE:
        raise UsageError(f"the note is too long ({len(text)} characters, at most {MAX_NOTE})")
    return text
