"""Every way an address can be written in a report: decoded views of a text, and where an
address stands in them.

A complainant's address reaches a report's text in many forms: as typed, in
any letter case; percent-encoded in a tracking link (`jane%40…`, `%2B` for
`+`, `+` for a space, often only some characters, or the link encoded twice,
`%2540`); quoted-printable in a body (`=40`, and a soft line break `=` +
newline wherever the encoder wrapped the line); as HTML character references
(`&#64;`, `&#x40;`, `&commat;`); JSON escapes (`\\u0040`); VERP's `=` for `@`
in a bounce address; base64 inside a link parameter or an encoded-word, at
any of the three byte alignments of a longer encoded string; hex, or a hex
MD5/SHA-1/SHA-256 digest of it.

Rather than a pattern for every mixture of these, the text is decoded into
views that remember where each of their characters came from, and an
address is looked up in them as plain lowercase text (`find_all`). The first
view (`DecodedView.of`) undoes what cannot be mistaken for text: soft line
breaks first (an encoder wraps inside a `%40` as well), then percent-encoding,
HTML references and JSON escapes. Quoted-printable `=XX` can be mistaken
(`?e=dave@…` is not the byte 0xDA), so it is undone only in a second view
(`quoted_printable`), and both are searched. Base64 keeps letter case, so
`base64_holding` decodes each token at each alignment and looks for the
address in the lowercased bytes.
"""

from __future__ import annotations

import binascii
import hashlib
import html
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Final

_SOFT_BREAK = re.compile(r"=\r?\n")
_ESCAPE = re.compile(
    r"(?P<percent>(?:%(?:25)?[0-9A-Fa-f]{2})+)"
    r"|(?P<reference>&(?:amp;)?(?:#(?:[0-9]{1,7}|[xX][0-9A-Fa-f]{1,6});?|[A-Za-z]{2,12};))"
    r"|(?P<json>\\u[0-9A-Fa-f]{4}|\\x[0-9A-Fa-f]{2})"
)
"""What the first view decodes; `%25` (a link encoded twice) may stand before a byte."""
_ONE_PERCENT = re.compile(r"%(?:25)?([0-9A-Fa-f]{2})")
_QUOTED_PRINTABLE = re.compile(r"(?:=[0-9A-Fa-f]{2})+")
_BASE64_TOKEN = re.compile(r"[A-Za-z0-9+/_\-]{8,}={0,2}")
_URL_SAFE = str.maketrans("-_", "+/")
"""URL-safe base64 writes `-` and `_` for `+` and `/`."""
ASCII_LOWER: Final = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
"""Lowercase that keeps every character where it was (`str.lower` may not: `İ`)."""

Decoder = Callable[[re.Match[str]], list[tuple[str, int, int]]]


@dataclass(frozen=True, slots=True)
class DecodedView:
    """A text with some of its encodings undone, and where each character came from."""

    text: str
    starts: tuple[int, ...] | None = None
    """The source position of each character of `text`; None when nothing was decoded."""
    ends: tuple[int, ...] | None = None

    @classmethod
    def of(cls, source: str) -> DecodedView:
        """`source` with soft line breaks, percent-encoding, HTML references and JSON
        escapes undone."""
        return cls(source)._then(_SOFT_BREAK, _drop)._then(_ESCAPE, _unescape)

    def quoted_printable(self) -> DecodedView | None:
        """This view with quoted-printable `=XX` undone too (and what that reveals), or
        None when it has none."""
        decoded = self._then(_QUOTED_PRINTABLE, _unquote)
        return None if decoded is self else decoded._then(_ESCAPE, _unescape)

    def source_span(self, start: int, end: int) -> tuple[int, int]:
        """The source span of the view's characters `start` to `end` (end exclusive)."""
        if self.starts is None or self.ends is None or end <= start:
            return start, end
        return self.starts[start], self.ends[end - 1]

    def _then(self, pattern: re.Pattern[str], decode: Decoder) -> DecodedView:
        """This view with what `pattern` finds decoded, still mapped to the source."""
        if pattern.search(self.text) is None:
            return self
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
            for text, start, end in decode(match):
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


def find_all(view: DecodedView, needles: Sequence[str]) -> Iterator[tuple[int, int]]:
    """The view's spans where a needle (lowercase) stands, in any letter case."""
    text = view.text.translate(ASCII_LOWER)
    for needle in needles:
        start = text.find(needle)
        while start >= 0:
            yield start, start + len(needle)
            start = text.find(needle, start + 1)


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


def spellings_of(addr_spec: str) -> list[str]:
    """What to look up in a decoded view for one address: itself, VERP's `local=domain`,
    with a space for a `+` (form decoding), its hex, and the hex MD5, SHA-1 and SHA-256
    of it — not the address, but enough for a reseller who guesses it to confirm it."""
    address = addr_spec.translate(ASCII_LOWER)
    data = address.encode("utf-8")
    found = [address, address.replace("@", "=", 1), data.hex()]
    if "+" in address:
        found.append(address.replace("+", " "))
    found += [
        hashlib.new(name, data, usedforsecurity=False).hexdigest()
        for name in ("md5", "sha1", "sha256")
    ]
    return found


def _drop(match: re.Match[str]) -> list[tuple[str, int, int]]:
    return []


def _unescape(match: re.Match[str]) -> list[tuple[str, int, int]]:
    """(decoded text, start, end) for each piece of one escape."""
    start, end = match.span()
    token = match.group(0)
    if match.lastgroup == "percent":
        return _bytes_decoded(token, start, _ONE_PERCENT)
    if match.lastgroup == "json":
        return [(chr(int(token[2:], 16)), start, end)]
    # `&amp;#64;` is an HTML text that shows the reference `&#64;`: decoded twice.
    return [(html.unescape(html.unescape(token)), start, end)]


def _unquote(match: re.Match[str]) -> list[tuple[str, int, int]]:
    return _bytes_decoded(match.group(0), match.start(), _ONE_QUOTED)


_ONE_QUOTED = re.compile(r"=([0-9A-Fa-f]{2})")


def _bytes_decoded(token: str, start: int, one: re.Pattern[str]) -> list[tuple[str, int, int]]:
    """A run of escaped bytes: each ASCII one where it stood, UTF-8 as one piece."""
    pieces = list(one.finditer(token))
    data = bytes(int(piece.group(1), 16) for piece in pieces)
    if data.isascii():
        return [
            (chr(byte), start + piece.start(), start + piece.end())
            for byte, piece in zip(data, pieces, strict=True)
        ]
    try:
        return [(data.decode("utf-8"), start, start + len(token))]
    except UnicodeDecodeError:
        return [(token, start, start + len(token))]
