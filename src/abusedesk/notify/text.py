"""Text for notices from untrusted sources: one safe line for a header, bounded body excerpts."""

from __future__ import annotations

import re

from abusedesk.parse.text import safe_body_text

_BREAKS_AND_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u0085]+")
_SPACES = re.compile(r"\s{2,}")


def one_line(text: str) -> str:
    """`text` on one line: CR, LF and every other control become a space (no header injection)."""
    flat = _BREAKS_AND_CONTROL.sub(" ", _valid_unicode(text))
    return _SPACES.sub(" ", flat).strip()


def excerpt(text: str, limit: int) -> tuple[str, bool]:
    """At most `limit` characters of body text (cut at a line or word), and whether it was cut."""
    normalised = text.replace("\r\n", "\n").replace("\r", "\n")
    body = _valid_unicode(safe_body_text(normalised)).strip()
    if len(body) <= limit:
        return body, False
    cut = body[:limit]
    boundary = max(cut.rfind("\n"), cut.rfind(" "))
    if boundary > limit // 2:
        cut = cut[:boundary]
    return cut.rstrip(), True


def _valid_unicode(text: str) -> str:
    """Lone surrogates (from undecodable bytes) cannot be encoded as UTF-8: replace them."""
    return text.encode("utf-8", "replace").decode("utf-8")
