"""Walk a report's MIME tree: find its parts and read their decoded text.

The stdlib parser (`compat32`, the fast one) builds the tree. This module
knows what it gets wrong for reports: a `message/*` part whose body is
base64 or quoted-printable (the stdlib parses the encoded text as if it were
header fields, and a soft line break ends its header block), the misspelt
original-headers types generators really send, parts that a truncated
multipart leaves half-read, and defects worth telling a reviewer. It also
tells quoted-printable text from plain text, for parts sent encoded without
saying so.
"""

from __future__ import annotations

import base64
import binascii
import quopri
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from email import errors
from email.message import Message
from email.parser import BytesParser
from typing import Any

from abusedesk.parse.normalize import cap_containers, normalise_line_endings

MAX_PARTS = 500
"""Parts beyond this many are not looked at; no report has more than a handful."""

FEEDBACK_REPORT = "message/feedback-report"
FULL_ORIGINAL_TYPES = frozenset({"message/rfc822", "text/rfc822", "message/rfc-822"})
HEADERS_ORIGINAL_TYPES = frozenset(
    {
        "text/rfc822-headers",
        # Misspellings real generators send (corpus files 05 and 06).
        "message/rfc822-headers",
        "text/rfc822-header",
        "message/rfc822-header",
    }
)


class ReportMessage(Message):
    """The stdlib's `Message`, but it works out its content type once.

    The parser asks each part for its content type half a dozen times while
    reading it, and the format readers ask again; each time the stdlib scans
    every header field. The answer is kept until a header field changes.
    """

    _content_type: str | None = None

    def get_content_type(self) -> str:
        if self._content_type is None:
            self._content_type = super().get_content_type()
        return self._content_type

    def raw_body(self) -> str | None:
        """The body text as parsed, or None for a multipart (see `raw_text`)."""
        payload: object = self.__dict__.get("_payload")
        return payload if isinstance(payload, str) else None

    # Every way the stdlib changes a message's header fields or its default type.
    def set_raw(self, name: str, value: Any) -> None:
        self._content_type = None
        super().set_raw(name, value)

    def __setitem__(self, name: str, val: Any) -> None:
        self._content_type = None
        super().__setitem__(name, val)

    def __delitem__(self, name: str) -> None:
        self._content_type = None
        super().__delitem__(name)

    def replace_header(self, _name: str, _value: Any) -> None:
        self._content_type = None
        super().replace_header(_name, _value)

    def add_header(self, _name: str, _value: str, **_params: Any) -> None:
        self._content_type = None
        super().add_header(_name, _value, **_params)

    def set_boundary(self, boundary: str) -> None:
        self._content_type = None
        super().set_boundary(boundary)

    def set_default_type(self, ctype: str) -> None:
        self._content_type = None
        super().set_default_type(ctype)


# compat32: the fastest policy, and the most forgiving.
_PARSER = BytesParser(_class=ReportMessage)

_DEFECT_NOTES: dict[type[errors.MessageDefect], str] = {
    errors.CloseBoundaryNotFoundDefect: "multipart truncated: closing boundary missing",
    errors.StartBoundaryNotFoundDefect: "multipart boundary never appears; parts lost",
    errors.NoBoundaryInMultipartDefect: "multipart has no boundary parameter",
    errors.MissingHeaderBodySeparatorDefect: "a header block ends without a blank line",
    errors.FirstHeaderLineIsContinuationDefect: "a header block starts with a continuation line",
    errors.MultipartInvariantViolationDefect: "multipart content-type on a part that has no parts",
}


def parse_bytes(data: bytes) -> Message:
    """The MIME tree of normalised report bytes."""
    return _PARSER.parsebytes(data)


def typed_parts(message: Message) -> Iterator[tuple[str, Message]]:
    """Every part of `message` in order with its content type, itself first, not
    descending into `message/*` parts: the original message's own parts are not the
    report's."""
    stack = [message]
    seen = 0
    while stack and seen < MAX_PARTS:
        part = stack.pop()
        seen += 1
        content_type = part.get_content_type()
        yield content_type, part
        if part.is_multipart() and not content_type.startswith("message/"):
            children = part.get_payload()
            stack.extend(reversed([child for child in children if isinstance(child, Message)]))


def iter_parts(message: Message) -> Iterator[Message]:
    """Every part of `message`, as `typed_parts` walks them."""
    return (part for _, part in typed_parts(message))


@dataclass(frozen=True, slots=True)
class ReportParts:
    """A report's parts with their content types, computed once.

    Every format reader looks for parts by type; asking the stdlib for a
    part's content type re-parses its header each time.
    """

    message: Message
    parts: tuple[tuple[str, Message], ...]

    @classmethod
    def of(cls, message: Message) -> ReportParts:
        return cls(message, tuple(typed_parts(message)))

    def messages(self) -> Iterator[Message]:
        return (part for _, part in self.parts)

    def find(self, content_types: frozenset[str] | str) -> Message | None:
        """The first part of one of `content_types`."""
        wanted = frozenset({content_types}) if isinstance(content_types, str) else content_types
        for content_type, part in self.parts:
            if content_type in wanted:
                return part
        return None


def transfer_encoding(part: Message) -> str:
    return str(part.get("Content-Transfer-Encoding", "7bit")).strip().lower()


def decode_transfer(text: str, encoding: str) -> bytes:
    """`text` with its content-transfer-encoding undone; broken base64 is read
    as far as it goes instead of failing."""
    raw = text.encode("utf-8", "surrogateescape")
    if encoding == "base64":
        compact = b"".join(raw.split())
        compact = compact[: len(compact) - len(compact) % 4]
        try:
            return base64.b64decode(compact)
        except (binascii.Error, ValueError):
            return raw
    if encoding == "quoted-printable":
        return quopri.decodestring(raw)
    return raw


def message_part_source(part: Message) -> str:
    """The text inside a `message/*` part, before the stdlib read it as a message.

    The stdlib has already parsed the inside of every `message/*` part. When
    that inside was base64 (no header field can contain base64), it kept it
    all as the body of a header-less message, which is returned here. When it
    was quoted-printable, a soft line break inside a field ended the header
    block with the rest taken for the body: the text is put back together line
    for line (regenerating it would insert a blank line there and lose every
    field after it).
    """
    payload = part.get_payload()
    if isinstance(payload, str):
        return payload
    if not isinstance(payload, list) or not payload or not isinstance(payload[0], Message):
        return ""
    inner = payload[0]
    inner_payload = raw_text(inner)
    if not inner.keys() and isinstance(inner_payload, str):
        return inner_payload
    if isinstance(inner_payload, str):
        # compat32 keeps each value as written, folding included, minus the
        # whitespace after the colon.
        head = "".join(f"{name}: {value}\n" for name, value in inner.raw_items())
        cut = any(isinstance(d, errors.MissingHeaderBodySeparatorDefect) for d in inner.defects)
        return head + ("" if cut else "\n") + inner_payload
    try:
        return inner.as_string()
    except Exception:
        # The generator chokes on some broken trees; header-less text is
        # still better than nothing.
        return inner_payload if isinstance(inner_payload, str) else ""


def raw_text(part: Message) -> str | None:
    """A leaf part's body exactly as parsed, 8-bit bytes kept as surrogate escapes;
    None for a multipart. (`get_payload()` replaces those bytes, decoding them by the
    part's charset parameter, ASCII when there is none.)"""
    if isinstance(part, ReportMessage):
        return part.raw_body()
    payload = part.get_payload()
    return payload if isinstance(payload, str) else None


def decoded_part_text(part: Message) -> str:
    """The text of a report part with its transfer encoding undone, LF line endings."""
    if part.get_content_maintype() == "message":
        source = message_part_source(part)
    else:
        payload = part.get_payload()
        source = payload if isinstance(payload, str) else ""
    encoding = transfer_encoding(part)
    if encoding not in ("base64", "quoted-printable"):
        return source
    raw, _ = cap_containers(normalise_line_endings(decode_transfer(source, encoding)))
    # Non-ASCII bytes become surrogate escapes, exactly as the stdlib's bytes
    # parser leaves them, so every later step treats both paths alike.
    return raw.decode("ascii", "surrogateescape")


def is_transfer_encoded(part: Message) -> bool:
    return transfer_encoding(part) in ("base64", "quoted-printable")


# An `=` that starts neither a soft line break (transport padding allowed) nor an
# escape. Lowercase hex counts as broken: no encoder writes it (RFC 2045 asks for
# uppercase), and text mislabelled quoted-printable is full of it (`spf=fail`,
# `smtp.mailfrom=bad@…`), which decoding would turn into stray bytes.
_QP_BROKEN_ESCAPE = re.compile(r"=(?![0-9A-F]{2}|[ \t]*(?:\n|\Z))")
# What only a quoted-printable encoder writes: an escaped `=`, or a soft line break
# inside a value, i.e. not followed by a new field, a folded continuation or a
# blank line (a plain field may end in `=`, as base64 ids do).
_QP_EVIDENCE = re.compile(r"=3D|=[ \t]*\n(?![ \t\n]|[!-9;-~]{1,100}:)")


def quoted_printable_damage(text: str) -> str | None:
    """Why `text` is not valid quoted-printable (its first bad `=`), or None when it is."""
    bad = _QP_BROKEN_ESCAPE.search(text)
    if bad is None:
        return None
    return f"{text[bad.start() : bad.start() + 3]!r} at character {bad.start()} is no escape"


def looks_quoted_printable(text: str) -> bool:
    """True when unmarked `text` is clearly quoted-printable: it is valid and has an
    escaped `=` or a soft line break that a plain field would not have."""
    return (
        "=" in text
        and _QP_EVIDENCE.search(text) is not None
        and quoted_printable_damage(text) is None
    )


def defect_notes(parts: Iterable[Message], where: str) -> list[str]:
    """Reviewer notes for the stdlib's defects in `parts` (a message's, as `iter_parts`
    walks them)."""
    notes: list[str] = []
    for part in parts:
        for defect in part.defects:
            note = _DEFECT_NOTES.get(type(defect))
            if note is not None:
                text = f"{note} (in the {where})"
                if text not in notes:
                    notes.append(text)
    return notes
