"""What the policy service answers to one request, and what it meters.

The decision is taken at RCPT (also at MAIL, for a Postfix that asks there):
the sender is the SASL user when the client authenticated, else the envelope
sender — which only ever matches a mailbox we host, since only those are held.
A mailbox that may not send gets the configured reject; everyone else DUNNO,
so that the rest of Postfix's restrictions decide. At END-OF-MESSAGE, when
Postfix knows the queue id and the recipient count, the message is metered.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from abusedesk.enforce.metering import SendMeter
from abusedesk.enforce.protocol import PolicyRequest, ProtocolState, encode_action
from abusedesk.enforce.state import SendState
from abusedesk.enforce.stats import PolicyStats
from abusedesk.errors import ConfigError

DUNNO = encode_action("DUNNO")
_DECIDING = frozenset({ProtocolState.RCPT, ProtocolState.MAIL})
_REJECTING_VERBS = ("REJECT", "DEFER", "DEFER_IF_PERMIT", "4", "5")


def reject_answer(action: str) -> bytes:
    """The configured reject as an answer line; `ConfigError` for one Postfix would misread."""
    if "\n" in action or "\r" in action or not action.strip():
        raise ConfigError("policy.reject_action must be one non-empty line")
    if not action.upper().startswith(_REJECTING_VERBS):
        raise ConfigError(
            f"policy.reject_action must start with REJECT, DEFER or an SMTP code (got {action!r})"
        )
    if "spam" in action.lower():
        # The end user is not told why: the reseller's abuse contact is.
        raise ConfigError("policy.reject_action must not tell the sender about spam")
    return encode_action(action.strip())


@dataclass(frozen=True, slots=True)
class PolicyDecider:
    state: SendState
    meter: SendMeter
    reject: bytes
    stats: PolicyStats = field(default_factory=PolicyStats)

    def answer(self, request: PolicyRequest) -> bytes:
        if request.protocol_state in _DECIDING:
            sender = request.sasl_username or request.sender
            if sender and not self.state.may_send(sender):
                self.stats.rejected += 1
                return self.reject
            return DUNNO
        if request.protocol_state is ProtocolState.END_OF_MESSAGE:
            self.meter.record(
                request.sasl_username or request.sender,
                request.recipient_count,
                queue_id=request.queue_id,
                sasl_username=request.sasl_username,
            )
        return DUNNO
