"""Every way an address can be written in a report: a decoded view of a text, patterns,
and base64 tokens.

A complainant's address reaches a report's text in many forms: as typed, in
any letter case; percent-encoded in a tracking link (`jane%40…`, `%2B` for
`+`, `+` for a space, often only some characters, or the link encoded twice,
`%2540`); quoted-printable in a body (`=40`, and a soft line break `=` +
newline wherever the encoder wrapped the line); as HTML character references
(`&#64;`, `&#x40;`, `&commat;`); JSON escapes (`\\u0040`); VERP's `=` for `@`
in a bounce address; base64 inside a link parameter or an encoded-word, at
any of the three byte alignments of a longer encoded string; hex, or a hex
MD5/SHA-1/SHA-256 digest of it.

Three parts share the work. `DecodedView` undoes the encodings that cannot
be mistaken for text — soft line breaks first (an encoder wraps inside a
`%40` as well), then percent-encoding, HTML references and JSON escapes — and
remembers where each of its characters came from. Quoted-printable `=XX` can
be mistaken (`?e=dave@…` is not the byte 0xDA), so it stays in the view and
`address` spells it instead, character by character, beside the plain
character in any case: spellings mix freely within one address. Base64
keeps letter case, so no pattern could spell every case of it:
`base64_holding` decodes each token instead, at each alignment, and looks
for the address in the lowercased bytes. The patterns are fixed sequences
of small alternations: nothing in them can backtrack badly.
"""

from __future__ import annotations

import binascii
import hashlib
import html
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Final

_SOFT_BREAK = re.compile(r"=\r?\n")
"""Removed first: an encoder wraps wherever a line is full, inside a `%40` as well."""
_ESCAPE = re.compile(
    r"(?P<percent>(?:%(?:25)?[0-9A-Fa-f]{2})+)"
    r"|(?P<reference>&(?:amp;)?(?:#(?:[0-9]{1,7}|[xX][0-9A-Fa-f]{1,6});?|[A-Za-z]{2,12};))"
    r"|(?P<json>\\u[0-9A-Fa-f]{4}|\\x[0-9A-Fa-f]{2})"
)
"""What the view decodes; `%25` (a link encoded twice) may stand before a byte."""
_ONE_PERCENT = re.compile(r"%(?:25)?([0-9A-Fa-f]{2})")
_ALSO: Final = {"+": (r"\ ",), " ": (r"\+", "_"), "@": ("=",)}
"""Form decoding turns `+` into a space and form encoding the reverse (`_` in an
encoded-word); VERP writes `local=domain`."""
_BASE64_TOKEN = re.compile(r"[A-Za-z0-9+/_\-]{8,}={0,2}")
_URL_SAFE = str.maketrans("-_", "+/")
"""URL-safe base64 writes `-` and `_` for `+` and `/`."""


@dataclass(frozen=True, slots=True)
class DecodedView:
    """A text with its unmistakable encodings undone, and where each character came from."""

    text: str
    starts: tuple[int, ...] | None = None
    """The source position of each character of `text`; None when nothing was decoded."""
    ends: tuple[int, ...] | None = None

    @classmethod
    def of(cls, source: str) -> DecodedView:
        view = cls(source)
        for pattern in (_SOFT_BREAK, _ESCAPE):
            if pattern.search(view.text) is not None:
                view = view._then(pattern)
        return view

    def source_span(self, start: int, end: int) -> tuple[int, int]:
        """The source span of the view's characters `start` to `end` (end exclusive)."""
        if self.starts is None or self.ends is None or end <= start:
            return start, end
        return self.starts[start], self.ends[end - 1]

    def _then(self, pattern: re.Pattern[str]) -> DecodedView:
        """This view with what `pattern` finds decoded, still mapped to the source."""
        chars: list[str] = []
        starts: list[int] = []
        ends: list[int] = []

        def keep(start: int, end: int) -> None:
            chars.append(self.text[start:end])
            starts.extend(range(start, end))
            ends.extend(range(start + 1, end + 1))

        position = 0
        for match in pattern.finditer(self.text):
            keep(position, match.start())
            for text, start, end in _decoded(match):
                chars.append(text)
                starts.extend([start] * len(text))
                ends.extend([end] * len(text))
            position = match.end()
        keep(position, len(self.text))
        if self.starts is not None and self.ends is not None:
            # Positions in this view's text, mapped on to the source.
            starts = [self.starts[i] for i in starts]
            ends = [self.ends[i - 1] for i in ends]
        return DecodedView("".join(chars), tuple(starts), tuple(ends))


def _decoded(match: re.Match[str]) -> list[tuple[str, int, int]]:
    """(decoded text, start, end) for each piece of one escape."""
    start, end = match.span()
    token = match.group(0)
    if match.re is _SOFT_BREAK:
        return []
    if match.lastgroup == "percent":
        pieces = list(_ONE_PERCENT.finditer(token))
        data = bytes(int(piece.group(1), 16) for piece in pieces)
        if data.isascii():
            return [
                (chr(byte), start + piece.start(), start + piece.end())
                for byte, piece in zip(data, pieces, strict=True)
            ]
        try:
            return [(data.decode("utf-8"), start, end)]
        except UnicodeDecodeError:
            return [(token, start, end)]
    if match.lastgroup == "json":
        return [(chr(int(token[2:], 16)), start, end)]
    # `&amp;#64;` is an HTML text that shows the reference `&#64;`: decoded twice.
    return [(html.unescape(html.unescape(token)), start, end)]


def literal(text: str) -> str:
    """`text` as written, in any letter case."""
    return re.escape(text)


def character(char: str) -> str:
    """One character of an address, plain or quoted-printable, for the decoded view.

    A letter may be encoded from either case (`=4A` and `=6A` are both a `j` to
    a pattern that matches any case); `=25` before the hex is a percent-encoded
    character in quoted-printable.
    """
    forms = [re.escape(char), *_ALSO.get(char, ())]
    data = char.lower().encode("utf-8")
    if len(data) == 1 and char.isascii() and char.isalpha():
        low, high = f"{data[0]:02x}", f"{data[0] - 0x20:02x}"
        forms.append(f"=(?:25)?[{high[0]}{low[0]}]{low[1]}")
    else:
        for variant in dict.fromkeys((char.lower(), char.upper())):
            if len(variant) == 1:  # "ß".upper() is "SS": no single code point to encode
                encoded = "".join(f"={byte:02x}" for byte in variant.encode("utf-8"))
                forms.append(f"(?:{encoded}|{encoded.replace('=', '=25')})")
    if char == "@":
        forms.append("=3d")
    return "(?:" + "|".join(forms) + ")"


def address(addr_spec: str) -> str:
    """An address in every spelling the decoded view leaves to patterns."""
    return "".join(character(char) for char in addr_spec)


def base64_holding(text: str, needles: Sequence[bytes]) -> Iterator[tuple[int, int]]:
    """The spans of the base64 tokens of `text` that decode, at some alignment, to
    bytes holding one of `needles` (lowercase), in any letter case.

    A token is read from each of its first four characters: whatever stands
    before the encoded string in it (`u/`, a parameter glued on), one of them
    is where its four-character groups begin; standard and URL-safe alike.
    """
    shortest = min((len(n) for n in needles), default=0)
    if not shortest:
        return
    for match in _BASE64_TOKEN.finditer(text):
        token = match.group(0).rstrip("=").translate(_URL_SAFE)
        if len(token) * 3 // 4 < shortest:
            continue
        for offset in range(4):
            piece = token[offset:]
            piece = piece[: len(piece) - 1] if len(piece) % 4 == 1 else piece
            try:
                decoded = binascii.a2b_base64(piece + "=" * (-len(piece) % 4)).lower()
            except binascii.Error:
                continue
            if any(needle in decoded for needle in needles):
                yield match.span()
                break


def digests(addr_spec: str) -> list[str]:
    """The address as hex, and the hex MD5, SHA-1 and SHA-256 of its lowercase form.

    Some links and hashed-recipient reports carry these: not the address, but
    enough for a reseller who guesses it to confirm who complained.
    """
    data = addr_spec.lower().encode("utf-8")
    hexes = [data.hex()] + [
        hashlib.new(name, data, usedforsecurity=False).hexdigest()
        for name in ("md5", "sha1", "sha256")
    ]
    return [literal(value) for value in hexes]
