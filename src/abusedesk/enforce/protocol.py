"""The Postfix SMTP access policy delegation protocol: `name=value` blocks in, actions out.

A request is a block of `name=value` lines ended by an empty line; the answer
is `action=...` and an empty line; a connection carries many requests, and a
client may send the next before the answer to the previous one (pipelining).
Unknown attributes are ignored, as the protocol asks. Anything else that is not
a well-formed block is `MalformedRequest`: the server logs it and closes the
connection without answering, so that Postfix logs a policy server error
instead of acting on a guess.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from abusedesk.errors import AbusedeskError

MAX_LINE = 2048
"""Bytes in one `name=value` line; Postfix's own default line_length_limit."""
MAX_ATTRIBUTES = 100
"""Lines in one block; Postfix 3.x sends about 40."""
MAX_BLOCK = 32 * 1024
"""Bytes in one block, the empty line included."""

REQUEST_TYPE = "smtpd_access_policy"


class MalformedRequest(AbusedeskError):
    """A request that does not follow the protocol; the connection is closed unanswered."""


class ProtocolState(StrEnum):
    CONNECT = "CONNECT"
    EHLO = "EHLO"
    HELO = "HELO"
    MAIL = "MAIL"
    RCPT = "RCPT"
    DATA = "DATA"
    END_OF_MESSAGE = "END-OF-MESSAGE"
    VRFY = "VRFY"
    ETRN = "ETRN"
    UNKNOWN = "UNKNOWN"


@dataclass(frozen=True, slots=True)
class PolicyRequest:
    """The attributes of one request that enforcement reads; the rest are ignored."""

    protocol_state: ProtocolState
    sasl_username: str = ""
    sender: str = ""
    recipient: str = ""
    queue_id: str = ""
    recipient_count: int = 0
    client_address: str = ""


_STATES = {state.value: state for state in ProtocolState}
_READ = tuple(
    (name, name.encode())
    for name in (
        "request",
        "protocol_state",
        "sasl_username",
        "sender",
        "recipient",
        "queue_id",
        "recipient_count",
        "client_address",
    )
)


def parse_block(block: bytes) -> PolicyRequest:
    """One request from its lines (without the empty line that ends it).

    Every request passes here, so the checks are whole-block operations rather than a
    Python loop over some thirty lines (a block no longer than a line may be cannot hold a
    line that is too long), and only the attributes enforcement reads are decoded.
    """
    lines = block.split(b"\n")
    if len(lines) > MAX_ATTRIBUTES:
        raise MalformedRequest(f"{len(lines)} attributes in one request (at most {MAX_ATTRIBUTES})")
    if len(block) > MAX_LINE and (longest := max(map(len, lines))) > MAX_LINE:
        raise MalformedRequest(f"an attribute line of {longest} bytes (at most {MAX_LINE})")
    try:
        values = dict([line.split(b"=", 1) for line in lines])
    except ValueError:
        bad = next(line for line in lines if b"=" not in line)
        raise MalformedRequest(f"not a name=value line: {bad[:80]!r}") from None
    if b"" in values:
        raise MalformedRequest("an attribute without a name")
    if len(values) != len(lines):
        # Two values for one name make the request ambiguous (which sasl_username?).
        raise MalformedRequest("an attribute given twice")
    try:
        # Only what is read must be UTF-8: Postfix passes other attributes on as it got them.
        read = {name: values[key].decode("utf-8") for name, key in _READ if key in values}
    except UnicodeDecodeError:
        raise MalformedRequest("an attribute value that is not UTF-8") from None
    return _request(read)


def _request(values: dict[str, str]) -> PolicyRequest:
    request = values.get("request")
    if request != REQUEST_TYPE:
        raise MalformedRequest(f"request={request or '(missing)'!r} is not {REQUEST_TYPE}")
    state = _STATES.get(values.get("protocol_state", "RCPT").upper(), ProtocolState.UNKNOWN)
    count = values.get("recipient_count") or "0"
    if not (count.isascii() and count.isdigit()):  # not "²", which int() refuses
        raise MalformedRequest(f"recipient_count={count[:20]!r} is not a number")
    return PolicyRequest(
        protocol_state=state,
        sasl_username=values.get("sasl_username", ""),
        sender=values.get("sender", ""),
        recipient=values.get("recipient", ""),
        queue_id=values.get("queue_id", ""),
        recipient_count=int(count),
        client_address=values.get("client_address", ""),
    )


class RequestReader:
    """Splits a connection's byte stream into requests, however the bytes arrive."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._searched = 0  # no end of a request before this offset: a slow client costs O(n)

    @property
    def buffered(self) -> int:
        return len(self._buffer)

    @property
    def pending(self) -> bool:
        """Part of a request has arrived but not its end."""
        return bool(self._buffer)

    def feed(self, data: bytes) -> tuple[list[PolicyRequest], MalformedRequest | None]:
        """The requests completed by `data`, and what was wrong if a bad one followed them.

        After a bad request the stream cannot be trusted: the caller answers the
        requests before it and closes the connection.
        """
        buffer = self._buffer
        buffer += data
        requests: list[PolicyRequest] = []
        start = 0
        try:
            while (end := buffer.find(b"\n\n", max(start, self._searched))) >= 0:
                if end - start > MAX_BLOCK:
                    raise MalformedRequest(
                        f"a request of {end - start} bytes (at most {MAX_BLOCK})"
                    )
                if end == start:
                    raise MalformedRequest("an empty line where a request should start")
                requests.append(parse_block(bytes(buffer[start:end])))
                start = end + 2
            if len(buffer) - start > MAX_BLOCK:
                raise MalformedRequest(f"more than {MAX_BLOCK} bytes without the end of a request")
        except MalformedRequest as problem:
            buffer.clear()
            return requests, problem
        del buffer[:start]
        self._searched = max(len(buffer) - 1, 0)
        return requests, None


def encode_action(action: str) -> bytes:
    """The answer line for `action`, which must be one line (it comes from config)."""
    if "\n" in action or "\r" in action:
        raise ValueError("a policy action must be a single line")
    return b"action=" + action.encode("utf-8") + b"\n\n"
