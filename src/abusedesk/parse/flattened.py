"""Put back the MIME structure a forwarding hop flattened out of a Microsoft JMRP report.

A JMRP report is a multipart/mixed whose one part is the reported message
(`formats/jmrp.py` reads it). Collected over POP (fetchmail, a webmail's
"fetch mail from another account") and passed on, some reach us with that
structure gone: the report's header fields and then the original's run
together in one header block above the original's body, the boundary lines
and the part's own header fields lost or left in the middle of the block.

Two things still say what it is. Microsoft writes `X-HmXmrOriginalRecipient`
as the first field of the original, so the original starts there; and the
report's own hops, above it, name Microsoft's hosts (`BAY0-JMR-DB02`,
`*.hotmail.com`, `*.outlook.com`). Only when both are there is the block cut at
that field and the report rebuilt as the multipart/mixed it was. The cut is
what keeps the report's hops (the forwarder's, Microsoft's outbound ones) out of
the original's Received chain, whose top attribution reads as the provider's
receipt. A block that merely carries the field, with no Microsoft hop above it,
is left as it came: it is not called JMRP.
"""

from __future__ import annotations

import re
from email.message import Message
from email.parser import Parser

from abusedesk.parse.formats.jmrp import RECIPIENT_HEADER
from abusedesk.parse.mime import FEEDBACK_REPORT, FULL_ORIGINAL_TYPES, ReportMessage, raw_text
from abusedesk.parse.text import MAX_HEADER_CHARS

FLATTENED_NOTE = (
    "the report's MIME structure was flattened on its way here (the JMRP report's and "
    "the original's header fields ran together in one block); split at "
    f"{RECIPIENT_HEADER} and rebuilt"
)

_MAX_FIELDS = 1000
"""Header fields searched for the cut; a real flattened block has about fifty."""
_MICROSOFT_DOMAINS = ("hotmail.com", "outlook.com")
_HOST = re.compile(r"\b(?:from|by)\s+\(?([A-Za-z0-9][A-Za-z0-9.-]{0,252})", re.IGNORECASE)
_JMR_HOST = re.compile(r"[a-z]{2,6}[0-9]{0,3}-jmr(?:-[a-z0-9]+)*")
"""Microsoft's JMRP senders name themselves like `BAY0-JMR-DB02` in their HELO."""
_PARSER = Parser(_class=ReportMessage)
_STRUCTURE_FIELDS = ("content-", "mime-version")
_REPORT_PARTS = FULL_ORIGINAL_TYPES | {FEEDBACK_REPORT}


def restore_flattened_jmrp(message: Message) -> tuple[Message, str | None]:
    """`message` rebuilt as a JMRP report with a note, when it is a flattened one;
    else `message` itself and None."""
    if message.get(RECIPIENT_HEADER) is None:
        return message, None  # every other report: one lookup
    fields = [(str(name), str(value)) for name, value in message.raw_items()]
    wanted = RECIPIENT_HEADER.lower()
    cut = next(
        (i for i, (name, _) in enumerate(fields[:_MAX_FIELDS]) if name.strip().lower() == wanted),
        0,
    )
    report_fields, original_fields = fields[:cut], fields[cut:]
    if not any(
        name.strip().lower() == "received" and is_microsoft_hop(value)
        for name, value in report_fields
    ):
        return message, None
    original = _original(message, report_fields, original_fields)
    if original is None:
        return message, None
    wrapper = ReportMessage()
    for name, value in report_fields:
        # The report's structure fields describe parts that no longer exist.
        if not name.strip().lower().startswith(_STRUCTURE_FIELDS):
            wrapper.set_raw(name, value)
    wrapper.set_raw("MIME-Version", "1.0")
    wrapper.set_raw("Content-Type", "multipart/mixed")
    part = ReportMessage()
    part.set_raw("Content-Type", "message/rfc822")
    part.attach(original)
    wrapper.attach(part)
    return wrapper, FLATTENED_NOTE


def is_microsoft_hop(received: str) -> bool:
    """True when a Received value names a Microsoft mail host in its from or by clause."""
    for match in _HOST.finditer(received[:MAX_HEADER_CHARS]):
        host = match.group(1).lower().rstrip(".")
        if _JMR_HOST.fullmatch(host) or any(
            host == domain or host.endswith("." + domain) for domain in _MICROSOFT_DOMAINS
        ):
            return True
    return False


def _original(
    message: Message,
    report_fields: list[tuple[str, str]],
    original_fields: list[tuple[str, str]],
) -> Message | None:
    """The original: its own header fields over the flattened message's body."""
    report_declares_structure = any(
        name.strip().lower() == "content-type" for name, _ in report_fields
    )
    if message.is_multipart():
        parts = message.get_payload()
        if report_declares_structure or not isinstance(parts, list):
            return None  # the report's own parts survived: it was not flattened
        if any(isinstance(p, Message) and p.get_content_type() in _REPORT_PARTS for p in parts):
            return None  # a report's parts, not an original's
        # The original's own Content-Type came first, so the stdlib already
        # read the body as the original's parts.
        return _under_fields(original_fields, message)
    # The body was read by the report's structure fields; it is read again by
    # the original's (only those: the other fields need no second parse).
    structure = "".join(
        f"{name}: {value}\n"
        for name, value in original_fields
        if name.strip().lower().startswith(_STRUCTURE_FIELDS)
    )
    return _under_fields(
        original_fields, _PARSER.parsestr(f"{structure}\n{raw_text(message) or ''}")
    )


def _under_fields(fields: list[tuple[str, str]], body: Message) -> Message:
    """A message with header `fields` and the body (parts, text, defects) of `body`."""
    original = ReportMessage()
    for name, value in fields:
        original.set_raw(name, value)
    text = raw_text(body)
    if text is not None:
        original.set_payload(text)
    else:
        for child in body.get_payload():
            if isinstance(child, Message):
                original.attach(child)
    original.preamble, original.epilogue = body.preamble, body.epilogue
    original.defects.extend(body.defects)
    return original
