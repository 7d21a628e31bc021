"""Bring raw report bytes into one canonical shape before any parsing.

Reports arrive with LF, CRLF or bare-CR line endings, behind mbox `From `
separators, with blank lines that hold stray spaces, and now and then far
larger than any real report. Everything downstream sees the same bytes for
the same report whatever its transport did to it, so the LF, CRLF and bare-CR
copies of one report parse to identical `Report` values.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_REPORT_BYTES = 4 * 1024 * 1024
"""Only this much of a report is read. Real reports are a few KiB; the
largest carry one original message of at most a few MiB. The cap bounds the
time one hostile input can take."""

MAX_CONTAINERS = 100
"""Content types that open a nested container (multipart/*, message/*) read
at most. Real reports have fewer than ten; the stdlib parser recurses once
per level and would exhaust the stack on a few thousand."""

MAX_DELIMITER_LINES = 1000
"""Lines that look like MIME boundary delimiters (`--…`) read at most. Real
reports have a dozen; tens of thousands of empty parts would make the stdlib
parser spend seconds on one hostile input."""

_WHITESPACE_ONLY_LINE = re.compile(rb"^[ \t]+$", re.MULTILINE)
_WHITESPACE_ONLY_LATER_LINE = re.compile(rb"\n[ \t]+(?=\n|\Z)")
"""The same lines but the first, found several times faster: the pattern starts with
a literal, which the regex engine scans for instead of trying every position."""
_DELIMITER_LINE = re.compile(rb"^--", re.MULTILINE)
_CONTAINER_TYPE = re.compile(rb"(?:multipart|message)/", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class NormalisedInput:
    data: bytes
    problems: tuple[str, ...]


def normalise_line_endings(data: bytes) -> bytes:
    """CRLF and bare CR become LF."""
    if b"\r" not in data:
        return data
    return data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")


def strip_mbox_separator(data: bytes) -> bytes:
    """Drop leading blank lines and an mbox `From ` (or `>From `) line at the top.

    The mbox separator is not a header; a parser that takes it for one, or
    that sees a leading blank line, would end the header block before it
    starts.
    """
    data = data.lstrip(b"\n \t")
    if data.startswith((b"From ", b">From ")):
        _, _, data = data.partition(b"\n")
        data = data.lstrip(b"\n")
    return data


def blank_whitespace_lines(data: bytes) -> bytes:
    """Lines holding only spaces or tabs become empty lines.

    Such a line was meant as a blank line; left alone, a MIME parser reads it
    as the continuation of the header above and never finds the body.
    """
    if data[:1] in (b" ", b"\t"):
        return _WHITESPACE_ONLY_LINE.sub(b"", data)
    return _WHITESPACE_ONLY_LATER_LINE.sub(b"\n", data)


def cap_containers(data: bytes) -> tuple[bytes, bool]:
    """`data` cut before the line that declares container number `MAX_CONTAINERS + 1`."""
    lowered = data.lower()  # counting is cheap; finding the cut is needed only past the cap
    if lowered.count(b"multipart/") + lowered.count(b"message/") <= MAX_CONTAINERS:
        return data, False
    for count, match in enumerate(_CONTAINER_TYPE.finditer(data), start=1):
        if count > MAX_CONTAINERS:
            return data[: data.rfind(b"\n", 0, match.start()) + 1], True
    return data, False


def cap_delimiters(data: bytes) -> tuple[bytes, bool]:
    """`data` cut before delimiter-like line number `MAX_DELIMITER_LINES + 1`."""
    if data.startswith(b"--") + data.count(b"\n--") <= MAX_DELIMITER_LINES:
        return data, False
    for count, match in enumerate(_DELIMITER_LINE.finditer(data), start=1):
        if count > MAX_DELIMITER_LINES:
            return data[: match.start()], True
    return data, False


def normalise(raw: bytes) -> NormalisedInput:
    """The canonical form of `raw`: capped, LF line endings, no mbox separator."""
    problems: list[str] = []
    if len(raw) > MAX_REPORT_BYTES:
        problems.append(f"report is {len(raw)} bytes; only the first {MAX_REPORT_BYTES} were read")
        raw = raw[:MAX_REPORT_BYTES]
    data = normalise_line_endings(raw)
    data = strip_mbox_separator(data)
    data = blank_whitespace_lines(data)
    data, capped = cap_containers(data)
    if capped:
        problems.append(f"more than {MAX_CONTAINERS} nested parts; the rest was not read")
    data, capped = cap_delimiters(data)
    if capped:
        problems.append(
            f"more than {MAX_DELIMITER_LINES} MIME part delimiters; the rest was not read"
        )
    if not data.strip():
        problems.append("report is empty")
    return NormalisedInput(data=data, problems=tuple(problems))
