"""Build the `OriginalMessage`: the reported message, as far as the report kept it.

Reports carry the original as a full message/rfc822 part, as headers only
(text/rfc822-headers and its misspellings), base64-encoded, behind an mbox
`From ` line, with its header block cut in two by a stray blank line (RFC
5965's own example), redacted down to one word, or truncated. This module
reads all of these into one shape and says in `problems` what it had to do.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from email.message import Message
from email.parser import HeaderParser, Parser

from abusedesk.parse.addresses import domain_of, extract_address, extract_addresses
from abusedesk.parse.body import body_excerpt
from abusedesk.parse.dates import parse_date
from abusedesk.parse.mime import (
    HEADERS_ORIGINAL_TYPES,
    ReportMessage,
    decoded_part_text,
    defect_notes,
    is_transfer_encoded,
    iter_parts,
)
from abusedesk.parse.received import parse_received_chain
from abusedesk.parse.report import OriginalMessage
from abusedesk.parse.text import decode_header_text, raw_header_value

_PARSER = Parser(_class=ReportMessage)
_HEADER_PARSER = HeaderParser(_class=ReportMessage)
_MAX_HEADERS = 1000
_SPLIT_BLOCK_NAMES = frozenset(
    {"message-id", "subject", "to", "cc", "date", "mime-version", "from", "content-type"}
)


@dataclass(slots=True)
class LoadedOriginal:
    message: Message
    headers_only: bool
    problems: list[str] = field(default_factory=list)


@dataclass(slots=True)
class OriginalContext:
    """What the report itself says about the original, beside the original."""

    mail_from_field: str | None = None
    """Original-Mail-From (or the format's equivalent) as written; None when absent."""
    recipients: list[str] = field(default_factory=list)
    message_ids: list[str] = field(default_factory=list)
    """Message-IDs the report names outside the original (e.g. Original-Message-ID)."""
    receiving_domains: set[str] = field(default_factory=set)
    """Domains of the receiving provider: their Message-IDs are not the sender's."""


def _strip_mbox_line(text: str) -> str:
    text = text.lstrip("\n")
    if text.startswith(("From ", ">From ")):
        text = text.partition("\n")[2].lstrip("\n")
    return text


def load_original(part: Message) -> LoadedOriginal:
    """The original message inside a report part of a full or headers-only type."""
    if part.get_content_type() in HEADERS_ORIGINAL_TYPES:
        text = _strip_mbox_line(decoded_part_text(part))
        return LoadedOriginal(_HEADER_PARSER.parsestr(text, headersonly=True), True)
    payload = part.get_payload()
    inner = payload[0] if isinstance(payload, list) and payload else None
    problems: list[str] = []
    if isinstance(inner, Message) and inner.keys() and not is_transfer_encoded(part):
        message = inner
    else:
        if is_transfer_encoded(part):
            problems.append(f"original message part is {part.get('Content-Transfer-Encoding')}")
        message = _PARSER.parsestr(_strip_mbox_line(decoded_part_text(part)))
    message = _rejoin_split_header_block(message, problems)
    problems.extend(defect_notes(iter_parts(message), "original message"))
    if not message.keys():
        problems.append("original message has no header fields (redacted or damaged)")
    body = message.get_payload()
    headers_only = body is None or not (body.strip() if isinstance(body, str) else body)
    if headers_only:
        problems.append("original message is headers only")
    return LoadedOriginal(message, headers_only, problems)


def _rejoin_split_header_block(message: Message, problems: list[str]) -> Message:
    """Rejoin a header block that a stray blank line cut in two.

    RFC 5965's B.2 example has an empty line straight after Received, so a
    strict reader sees To, Subject and Message-ID as body text. When the body
    starts with a block that consists only of header fields, at least two of
    them common ones, it is read as the rest of the header block.
    """
    body = message.get_payload()
    if message.is_multipart() or not isinstance(body, str) or len(message.keys()) > 3:
        return message
    block, _, rest = body.lstrip("\n").partition("\n\n")
    lines = block.split("\n")
    names = []
    for line in lines[:200]:
        if line[:1] in (" ", "\t"):
            continue  # the continuation of a folded field
        name, colon, _ = line.partition(":")
        if not colon or not name or " " in name or "\t" in name:
            return message
        names.append(name.lower())
    if not block or len(lines) > 200 or sum(n in _SPLIT_BLOCK_NAMES for n in names) < 2:
        return message
    head = "".join(f"{name}: {value}\n" for name, value in message.raw_items())
    problems.append("original message's header block is split by a blank line; rejoined")
    return _PARSER.parsestr(f"{head}{block}\n\n{rest}")


def header_list(message: Message) -> tuple[tuple[str, str], ...]:
    """All header fields in arrival order, values raw but unfolded."""
    items = []
    for index, (name, value) in enumerate(message.raw_items()):
        if index >= _MAX_HEADERS:
            break
        items.append((raw_header_value(name), raw_header_value(value)))
    return tuple(items)


def build_original(
    loaded: LoadedOriginal | None, context: OriginalContext
) -> tuple[OriginalMessage, list[str]]:
    """The `OriginalMessage` for a loaded original (or none) and the report's context."""
    problems = list(loaded.problems) if loaded else []
    headers = header_list(loaded.message) if loaded else ()
    original = OriginalMessage(headers=headers)
    message_id = _choose_message_id(original, context, problems)
    from_address = extract_address(original.header("From"))
    if loaded and original.header("From") is None:
        problems.append("original message has no From")
    elif loaded and from_address is None:
        problems.append(f"original From {original.header('From')!r} names no address")
    date, note = parse_date(original.header("Date"))
    if note and date is None:
        problems.append(f"original Date: {note}")
    try:
        received = parse_received_chain(original.header_values("Received"))
    except Exception as error:
        # Received parsing belongs to another module; its failure must not
        # cost us the rest of the report.
        received = ()
        problems.append(f"Received headers could not be read: {type(error).__name__}")
    return (
        OriginalMessage(
            headers=headers,
            message_id=message_id,
            from_address=from_address,
            mail_from=_mail_from(context, original, problems),
            subject=decode_header_text(original.header("Subject")),
            recipients=tuple(_unique(context.recipients)),
            date=date,
            received=received,
            body_excerpt=(
                body_excerpt(loaded.message) if loaded and not loaded.headers_only else None
            ),
            headers_only=loaded.headers_only if loaded else False,
        ),
        problems,
    )


def _mail_from(
    context: OriginalContext, original: OriginalMessage, problems: list[str]
) -> str | None:
    field_value = context.mail_from_field
    if field_value is not None and field_value.strip() not in ("", "<>"):
        address = extract_address(field_value)
        if address is None:
            problems.append(f"Original-Mail-From {field_value[:80]!r} is not an address")
        return address
    if field_value is not None:
        problems.append("Original-Mail-From is the null sender")
    return_path = original.header("Return-Path")
    if return_path is None or return_path.strip() in ("", "<>"):
        return None
    return extract_address(return_path)


def _choose_message_id(
    original: OriginalMessage, context: OriginalContext, problems: list[str]
) -> str | None:
    """The sender's Message-ID: receivers add their own, without '@' or on their domain."""
    candidates = [v.strip().strip("<>").strip() for v in original.header_values("Message-ID")]
    candidates = [c for c in candidates if c]
    if not candidates:
        if context.message_ids:
            problems.append("original has no Message-ID; using the one the report names")
            return context.message_ids[0]
        if original.headers:
            problems.append("original message has no Message-ID")
        return None
    chosen = candidates[0]
    if len(candidates) > 1:
        senders = [
            c for c in candidates if "@" in c and domain_of(c) not in context.receiving_domains
        ]
        chosen = senders[-1] if senders else candidates[-1]
        others = ", ".join(f"<{c}>" for c in candidates if c != chosen)
        problems.append(
            f"{len(candidates)} Message-ID headers; using the sender's <{chosen}> "
            f"(the other, {others}, lacks an '@' or is on the receiving provider's domain)"
        )
    for named in context.message_ids:
        if named != chosen:
            problems.append(f"the report names Message-ID <{named}>, the original <{chosen}>")
    return chosen


def _unique(values: Iterable[str]) -> list[str]:
    seen: list[str] = []
    for value in values:
        if value not in seen:
            seen.append(value)
    return seen


def addresses_of(values: Iterable[str]) -> list[str]:
    """Every addr-spec in several address field values, in order."""
    found: list[str] = []
    for value in values:
        found.extend(extract_addresses(value))
    return _unique(found)
