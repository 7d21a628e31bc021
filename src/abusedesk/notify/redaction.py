"""Keep the complainant out of what a reseller sees: every trace of them a report
reveals, redacted from any text in every spelling.

A feedback report exists because a person complained, and the reseller who is
told about it must not learn who. The AUP and escalation notices, and the
console pages and API answers that reseller admins read, show report text
only through the `Redactor` of that report; platform staff read it raw.

`redactor_for` compiles what `complainant` finds into one pattern per report;
`Redactor.redact` replaces with `MARKER`:

- each address in every spelling `spellings` knows, and cut off by the end of
  a truncated excerpt (`jane.doe@yah`); a base64 token holding it, whole; a
  wrapped base64 body is decoded, redacted and encoded again, so what it
  hides in other spellings is found as well;
- each distinctive local part where it stands as a word of its own: not
  inside a longer word, host name, Message-ID or another address
  (`jane.doe@gmail.example` is someone else's, and stays);
- each name, as whole words, separated by any punctuation.

The sender's kept addresses are matched first and skipped whole, so nothing
inside them is redacted. Compiling costs a millisecond or two a report, and
is done once per report (per notice, per page; Python's own cache keeps the
last few hundred patterns); each text then costs one scan.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Final, overload

from sqlalchemy import select
from sqlmodel import Session, col

from abusedesk.notify import spellings
from abusedesk.notify.complainant import Complainant, complainant_of
from abusedesk.parse.reader import parse_report
from abusedesk.parse.report import Report
from abusedesk.store.tables import RawReport

MARKER: Final = "[recipient]"
MAX_NESTING: Final = 2
"""How deep base64 inside base64 is decoded."""

_LEFT = r"(?:(?<==3D)|(?<![\w.+\-@%&#]))"
_RIGHT = r"(?![\w+\-@]|\.\w|=40)"
"""A local part alone starts and ends where no address, host name or longer word goes on."""
_NAME_LEFT = r"(?<![\w@.\-])"
_NAME_RIGHT = r"(?![\w@\-]|\.\w)"
_NAME_GAP = r"[\W_]{1,3}"
_BASE64_LINES = re.compile(r"^(?:[A-Za-z0-9+/]{4,}={0,2}[ \t]*\r?(?:\n|\Z))+", re.MULTILINE)
_BASE64_MIN_BLOCK = 16


@dataclass(frozen=True, slots=True)
class Redactor:
    """The complainant of one report, compiled; `redact` takes them out of a text."""

    pattern: re.Pattern[str] | None = None
    """None: the report names no complainant, and text is shown as it is."""
    addresses: tuple[str, ...] = ()
    """What base64 tokens, and the end of a text, are searched for."""

    @overload
    def redact(self, text: str) -> str: ...
    @overload
    def redact(self, text: None) -> None: ...
    def redact(self, text: str | None) -> str | None:
        """`text` with every trace of the complainant replaced by `MARKER`."""
        if text is None or self.pattern is None:
            return text
        return _redact(self, self.pattern, text, 0)


NO_REDACTION: Final = Redactor()


def redactor_for(report: Report, keep: Iterable[str | None] = ()) -> Redactor:
    """The redactor of one parsed report; `keep` names the mailbox it is charged to."""
    return compile_redactor(complainant_of(report, keep))


def compile_redactor(complainant: Complainant) -> Redactor:
    if not complainant.addresses:
        return NO_REDACTION
    addresses = tuple(sorted(complainant.addresses, key=len, reverse=True))
    full = [spellings.address(a) for a in addresses]
    full += [digest for a in addresses for digest in spellings.digests(a)]
    loose = [_LEFT + spellings.literal(local) + _RIGHT for local in complainant.local_parts]
    loose += [
        _NAME_LEFT + _NAME_GAP.join(spellings.literal(w) for w in words) + _NAME_RIGHT
        for words in complainant.names
    ]
    groups = {
        # Kept addresses come first: where one starts, it is skipped whole, so no
        # complainant spelling can match inside it.
        "keep": [spellings.literal(a) for a in complainant.kept],
        "full": full,
        "loose": loose,
    }
    pattern = "|".join(f"(?P<{name}>{'|'.join(b)})" for name, b in groups.items() if b)
    return Redactor(re.compile(pattern, re.IGNORECASE), addresses)


def stored_redactors(session: Session, charged: Mapping[int, str | None]) -> dict[int, Redactor]:
    """A redactor per stored report id, each report parsed once; `charged` maps a report
    id to the mailbox its complaint is charged to."""
    ids = list(charged)
    if not ids:
        return {}
    rows = session.execute(
        select(col(RawReport.id), col(RawReport.raw)).where(col(RawReport.id).in_(ids))
    ).all()
    return {
        int(report_id): redactor_for(parse_report(bytes(raw)), [charged[int(report_id)]])
        for report_id, raw in rows
    }


def _redact(redactor: Redactor, pattern: re.Pattern[str], text: str, depth: int) -> str:
    if depth < MAX_NESTING:
        text = _redact_base64_blocks(redactor, pattern, text, depth)
    view = spellings.DecodedView.of(text)
    found = [m.span() for m in pattern.finditer(view.text) if m.lastgroup != "keep"]
    needles = [needle for a in redactor.addresses for needle in _needles(a)]
    found += spellings.base64_holding(view.text, needles)
    if (cut := _cut_off(view.text, redactor.addresses)) is not None:
        found.append(cut)
    if not found:
        return text
    pieces: list[str] = []
    position = 0
    for start, end in sorted(view.source_span(*span) for span in found):
        if end <= position:
            continue
        pieces += [text[position : max(start, position)], MARKER]
        position = end
    pieces.append(text[position:])
    return "".join(pieces)


def _needles(address: str) -> list[bytes]:
    """What no base64 token may hold: the address, percent-encoded, and VERP's."""
    data = address.encode("utf-8")
    return [data, data.replace(b"@", b"%40"), data.replace(b"@", b"=")]


def _cut_off(text: str, addresses: Iterable[str]) -> tuple[int, int] | None:
    """Where a text ends inside an address's domain (an excerpt cut short: `… write to
    jane.doe@yah`), that end."""
    addresses = list(addresses)
    tail = text[-max(len(a) for a in addresses) :].lower()
    for address in addresses:
        local = address.rpartition("@")[0]
        for spelling in (address, address.replace("@", "=", 1)):
            for length in range(len(spelling) - 1, len(local), -1):
                if tail.endswith(spelling[:length]):
                    return len(text) - length, len(text)
    return None


def _redact_base64_blocks(
    redactor: Redactor, pattern: re.Pattern[str], text: str, depth: int
) -> str:
    """Lines of base64 (a MIME body, an attachment) decoded, redacted and encoded again."""

    def redo(match: re.Match[str]) -> str:
        block = match.group(0)
        if len(block) < _BASE64_MIN_BLOCK:
            return block
        try:
            data = base64.b64decode(block, validate=False)
        except (binascii.Error, ValueError):
            return block
        try:
            decoded, charset = data.decode("utf-8"), "utf-8"
        except UnicodeDecodeError:
            decoded, charset = data.decode("latin-1"), "latin-1"
        redacted = _redact(redactor, pattern, decoded, depth + 1)
        if redacted == decoded:
            return block
        return _encoded_like(block, redacted.encode(charset))

    return _BASE64_LINES.sub(redo, text)


def _encoded_like(block: str, data: bytes) -> str:
    """`data` in base64, wrapped as `block` was."""
    lines = block.splitlines()
    width = max(len(lines[0].strip()), 4) if lines else 76
    newline = "\r\n" if "\r\n" in block else "\n"
    encoded = base64.b64encode(data).decode("ascii")
    wrapped = newline.join(encoded[i : i + width] for i in range(0, len(encoded), width))
    return wrapped + (newline if block.endswith("\n") else "")
