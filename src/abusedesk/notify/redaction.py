"""Keep the complainant out of what a reseller sees: every trace of them a report
reveals, redacted from any text in every spelling.

A feedback report exists because a person complained, and the reseller who is
told about it must not learn who. The AUP and escalation notices, and the
console pages and API answers that reseller admins read, show report text
only through the `Redactor` of that report; platform staff read it raw.

`redactor_for` prepares what `complainant` finds; `Redactor.redact` replaces
with `MARKER`:

- each address in every spelling `spellings` knows, and cut off by the end of
  a truncated excerpt (`jane.doe@yah`); a base64 token holding it, whole; a
  wrapped base64 body is decoded, redacted and encoded again, so what it
  hides in other spellings is found as well;
- each distinctive local part where it stands as a word of its own: not
  inside a longer word, host name, Message-ID or another address
  (`jane.doe@gmail.example` is someone else's, and stays);
- each name, as whole words, separated by any punctuation.

Nothing inside one of the sender's kept addresses is redacted. A redactor is
prepared once per report (per notice, per page), for the cost of parsing the
report and a small pattern of its local parts and names; each text then
costs a decoding pass or two and a lookup of each spelling.
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

_LEFT = r"(?<![\w.+\-@%&#])"
_RIGHT = r"(?![\w+\-@]|\.\w|=40)"
"""A local part alone starts and ends where no address, host name or longer word goes on."""
_NAME_LEFT = r"(?<![\w@.\-])"
_NAME_RIGHT = r"(?![\w@\-]|\.\w)"
_NAME_GAP = r"[\W_]{1,3}"
_BASE64_LINES = re.compile(r"^(?:[A-Za-z0-9+/]{4,}={0,2}[ \t]*\r?(?:\n|\Z))+", re.MULTILINE)
_BASE64_MIN_BLOCK = 16


@dataclass(frozen=True, slots=True)
class Redactor:
    """The complainant of one report, ready to look for; `redact` takes them out of a text."""

    addresses: tuple[str, ...] = ()
    """The complainant's addresses, longest first; none: text is shown as it is."""
    spellings: tuple[str, ...] = ()
    """What is looked up in each decoded view (`spellings.spellings_of`)."""
    kept: tuple[str, ...] = ()
    """The sender's addresses: nothing inside them is redacted."""
    loose: re.Pattern[str] | None = None
    """The local parts and names, where they stand as words of their own."""

    @overload
    def redact(self, text: str) -> str: ...
    @overload
    def redact(self, text: None) -> None: ...
    def redact(self, text: str | None) -> str | None:
        """`text` with every trace of the complainant replaced by `MARKER`."""
        if text is None or not self.addresses:
            return text
        return _redact(self, text, 0)


NO_REDACTION: Final = Redactor()


def redactor_for(report: Report, keep: Iterable[str | None] = ()) -> Redactor:
    """The redactor of one parsed report; `keep` names the mailbox it is charged to."""
    return prepare_redactor(complainant_of(report, keep))


def prepare_redactor(complainant: Complainant) -> Redactor:
    if not complainant.addresses:
        return NO_REDACTION
    addresses = tuple(sorted(complainant.addresses, key=len, reverse=True))
    loose = [_LEFT + re.escape(local) + _RIGHT for local in complainant.local_parts]
    loose += [
        _NAME_LEFT + _NAME_GAP.join(re.escape(w) for w in words) + _NAME_RIGHT
        for words in complainant.names
    ]
    return Redactor(
        addresses=addresses,
        spellings=tuple(dict.fromkeys(s for a in addresses for s in spellings.spellings_of(a))),
        kept=tuple(k.translate(spellings.ASCII_LOWER) for k in complainant.kept),
        loose=re.compile("|".join(loose), re.IGNORECASE) if loose else None,
    )


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


def _redact(redactor: Redactor, text: str, depth: int) -> str:
    if depth < MAX_NESTING:
        text = _redact_base64_blocks(redactor, text, depth)
    first = spellings.DecodedView.of(text)
    views = [first] + [v for v in [first.quoted_printable()] if v is not None]
    found: list[tuple[int, int]] = []
    kept: list[tuple[int, int]] = []
    needles = [needle for a in redactor.addresses for needle in _needles(a)]
    for view in views:
        spans = list(spellings.find_all(view, redactor.spellings))
        spans += spellings.base64_holding(view.text, needles)
        if redactor.loose is not None:
            spans += [match.span() for match in redactor.loose.finditer(view.text)]
        if (cut := _cut_off(view.text, redactor.addresses)) is not None:
            spans.append(cut)
        found += [view.source_span(*span) for span in spans]
        kept += [view.source_span(*span) for span in spellings.find_all(view, redactor.kept)]
    # Nothing inside one of the sender's addresses is the complainant's.
    found = [s for s in found if not any(k[0] <= s[0] and s[1] <= k[1] for k in kept)]
    if not found:
        return text
    merged: list[list[int]] = []
    for start, end in sorted(found):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    pieces: list[str] = []
    position = 0
    for start, end in merged:
        pieces += [text[position:start], MARKER]
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
    tail = text[-max(len(a) for a in addresses) :].translate(spellings.ASCII_LOWER)
    for address in addresses:
        local = address.rpartition("@")[0]
        for spelling in (address, address.replace("@", "=", 1)):
            for length in range(len(spelling) - 1, len(local), -1):
                if tail.endswith(spelling[:length]):
                    return len(text) - length, len(text)
    return None


def _redact_base64_blocks(redactor: Redactor, text: str, depth: int) -> str:
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
        redacted = _redact(redactor, decoded, depth + 1)
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
