"""Turn header and body text from hostile mail into safe, printable `str`.

The stdlib parser hands back 8-bit header bytes as surrogate escapes, which
cannot be stored or printed as UTF-8; encoded-words may name charsets nobody
knows or hide a CR LF that would start a new header when a notice quotes
them. Every string the parse stage returns goes through one of these helpers.
"""

from __future__ import annotations

import contextlib
import re

MAX_HEADER_CHARS = 8 * 1024
"""Header values are read only this far. No real header comes near it, and
the stdlib's encoded-word decoder is not linear on hostile input."""

_SURROGATE = re.compile("[\udc80-\udcff]")
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]")
_LINE_BREAKS_AND_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]+")
_SPACES = re.compile(r"[ \t]{2,}")


def restore_8bit(text: str) -> str:
    """Undo the stdlib's surrogate escapes: 8-bit bytes are read as UTF-8,
    or Latin-1 when they are not UTF-8."""
    if not _SURROGATE.search(text):
        return text
    raw = text.encode("utf-8", "surrogateescape")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("cp1252", "replace")


def unfold(value: str) -> str:
    """A header value on one line: line breaks removed, as RFC 5322 unfolding says."""
    return value.replace("\r", "").replace("\n", "").strip()


def raw_header_value(value: object) -> str:
    """A stored header value as readable raw text, unfolded, never decoded."""
    text = unfold((value if isinstance(value, str) else str(value))[:MAX_HEADER_CHARS])
    if text.isascii() and text.isprintable():
        return text  # the common case: no 8-bit bytes and no control characters
    return _CONTROL.sub(" ", restore_8bit(text))


def decode_header_text(value: str | None) -> str | None:
    """A header value with its encoded-words decoded, on one safe line.

    Decoded text may contain CR, LF or other controls (`=?utf-8?q?x=0D=0ABcc:?=`);
    they become spaces, so the value can never start a header of its own.
    """
    if value is None:
        return None
    text = restore_8bit(unfold(value[:MAX_HEADER_CHARS]))
    if "=?" in text:
        # mail-parser is imported only for a value that has encoded-words: importing it
        # costs more than parsing a whole report, and most header values have none.
        from mailparser.utils import decode_header_part

        # mail-parser already absorbs the charset errors it knows; anything
        # else leaves the raw text, which is still a faithful record.
        with contextlib.suppress(Exception):
            text = decode_header_part(text)
    text = _LINE_BREAKS_AND_CONTROL.sub(" ", text)
    return _SPACES.sub(" ", text).strip()


def safe_body_text(text: str) -> str:
    """Body text without NULs or control characters other than newline and tab."""
    return _CONTROL.sub("", restore_8bit(text))
