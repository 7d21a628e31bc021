"""Extract a short plain-text excerpt of a message body, for samples in notices.

The excerpt comes from the first text/plain part, else from the text of the
first text/html part with its markup removed: raw HTML never leaves this
module. Only the first few KiB of a part are decoded, whatever its size, and
unknown or lying charsets fall back instead of failing.
"""

from __future__ import annotations

import codecs
from email.message import Message
from html.parser import HTMLParser

from abusedesk.parse.mime import ReportParts, decode_transfer, transfer_encoding, typed_parts
from abusedesk.parse.normalize import normalise_line_endings
from abusedesk.parse.text import safe_body_text

EXCERPT_CHARS = 2048
_RAW_CHARS = 64 * 1024
"""Encoded body text read per part: enough for 2 KiB of text even from
base64-encoded, markup-heavy HTML, and a bound on the work per part."""
_SKIPPED_ELEMENTS = frozenset({"script", "style", "head", "title", "noscript", "template"})
_BLOCK_ELEMENTS = frozenset({"br", "p", "div", "tr", "li", "h1", "h2", "h3", "table", "hr"})


class _TextExtractor(HTMLParser):
    """Collects the text of an HTML document, minus scripts and styles."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.chunks: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIPPED_ELEMENTS:
            self._skipping += 1
        elif tag in _BLOCK_ELEMENTS:
            self.chunks.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED_ELEMENTS and self._skipping:
            self._skipping -= 1

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.chunks.append(data)


def html_to_text(html: str) -> str:
    """The visible text of an HTML fragment, whitespace tidied."""
    extractor = _TextExtractor()
    try:
        extractor.feed(html)
        extractor.close()
    except Exception:
        # HTMLParser is lenient, but a reviewer excerpt is never worth a crash.
        pass
    text = "".join(extractor.chunks)
    # Whatever the parser left of a tag it could not read must not survive.
    text = text.replace("<", " ").replace(">", " ")
    lines = (" ".join(line.split()) for line in text.split("\n"))
    return "\n".join(line for line in lines if line)


def _charset_of(part: Message) -> str:
    charset = part.get_content_charset() or "us-ascii"
    try:
        name = codecs.lookup(charset).name
    except (LookupError, ValueError):
        return "utf-8"
    # Mail labelled Latin-1 or ASCII is in practice Windows-1252, as browsers
    # also assume; Latin-1 would turn its euro signs into control characters.
    return "cp1252" if name in ("latin-1", "iso8859-1", "ascii") else name


def part_text(part: Message) -> str:
    """The decoded start of a leaf text part."""
    payload = part.get_payload()
    if not isinstance(payload, str):
        return ""
    raw = normalise_line_endings(decode_transfer(payload[:_RAW_CHARS], transfer_encoding(part)))
    charset = _charset_of(part)
    try:
        text = raw.decode(charset)
    except (UnicodeDecodeError, LookupError):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            text = raw.decode("cp1252", "replace")
    return safe_body_text(text)


def body_excerpt(message: Message) -> str | None:
    """Up to `EXCERPT_CHARS` of readable body text, or None when there is none."""
    html_part: Message | None = None
    for content_type, part in typed_parts(message):
        if content_type == "text/plain" and not _is_attachment(part):
            text = part_text(part).strip()
            if text:
                return text[:EXCERPT_CHARS]
        elif content_type == "text/html" and html_part is None:
            html_part = part
    if html_part is not None:
        text = html_to_text(part_text(html_part)).strip()
        if text:
            return text[:EXCERPT_CHARS]
    return None


def _is_attachment(part: Message) -> bool:
    return str(part.get("Content-Disposition", "")).strip().lower().startswith("attachment")


def first_text(tree: ReportParts) -> str:
    """The decoded start of the first text/plain part of a report (not of its original)."""
    part = tree.find("text/plain")
    return part_text(part) if part is not None else ""
