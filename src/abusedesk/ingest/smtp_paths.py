"""Read the address of a `MAIL FROM:` or `RCPT TO:` command quickly when it is a plain one.

aiosmtpd reads every path with the stdlib's RFC 5322 header parser, which
costs more than anything else the listener does for a report but storing it.
Nearly every path a provider sends is `<local@domain>` with dot-atoms on both
sides, perhaps followed by ESMTP parameters; for those the answer is known
without the full parser. Anything else (quoted local parts, domain literals,
comments, obsolete forms, malformed input) is left to aiosmtpd, so every
answer, refusals included, stays what aiosmtpd itself would give.
"""

from __future__ import annotations

import re

_ATEXT = r"[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~]+"
_DOT_ATOM = rf"{_ATEXT}(?:\.{_ATEXT})*"
_PLAIN_PATH = re.compile(
    rf"[ \t]*<(?P<address>(?P<local>{_DOT_ATOM})@{_DOT_ATOM})>[ \t]*(?P<rest>[^ \t(].*)?",
    re.DOTALL,
)


def plain_path(argument: str) -> tuple[str, str, str] | None:
    """(address, its local part, the text after it) for a plain `<local@domain>` path
    with what follows; None when the argument needs the full parser."""
    match = _PLAIN_PATH.fullmatch(argument)
    if match is None:
        return None
    return match["address"], match["local"], match["rest"] or ""
