"""Read report dates into timezone-aware UTC datetimes, or say why not.

`email.utils.parsedate_to_datetime` knows RFC 5322 and the US zones of RFC
822 (EDT, PST, UT…). Reports also use zones it does not know (JST, CET,
NZDT…), trailing comments such as `-0000 (EST)`, two-digit years, and no zone
at all. A date that cannot be read, or lies outside the plausible range, is
None: the caller then uses when the report was received.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

EARLIEST_PLAUSIBLE = datetime(1995, 1, 1, tzinfo=UTC)
"""Feedback loops did not exist before this; an earlier date is a typo or a forgery."""
FUTURE_TOLERANCE = timedelta(days=1)

_COMMENT = re.compile(r"\([^()]*\)")
_MAX_DATE_CHARS = 200

# Zones seen in real reports that the stdlib does not know. The US zones
# (EST, EDT, CST, CDT, MST, MDT, PST, PDT), UT, UTC, GMT and Z are known already.
_EXTRA_ZONES = {
    "JST": "+0900",
    "KST": "+0900",
    "HKT": "+0800",
    "SGT": "+0800",
    "IST": "+0530",
    "MSK": "+0300",
    "EET": "+0200",
    "EEST": "+0300",
    "CET": "+0100",
    "CEST": "+0200",
    "MET": "+0100",
    "MEST": "+0200",
    "WET": "+0000",
    "WEST": "+0100",
    "BST": "+0100",
    "AEST": "+1000",
    "AEDT": "+1100",
    "ACST": "+0930",
    "AWST": "+0800",
    "NZST": "+1200",
    "NZDT": "+1300",
    "HST": "-1000",
    "AKST": "-0900",
    "AKDT": "-0800",
    "AST": "-0400",
    "ADT": "-0300",
    "NST": "-0330",
    "NDT": "-0230",
}


def parse_date(value: str | None) -> tuple[datetime | None, str | None]:
    """`(datetime in UTC, None)`, or `(None, why)` when `value` is unusable.

    A date without a zone (or with `-0000`, "zone unknown") is read as UTC,
    and the second element says so.
    """
    if value is None or not value.strip():
        return None, None
    text = " ".join(_COMMENT.sub(" ", value[:_MAX_DATE_CHARS]).split())
    words = text.split(" ")
    if words and words[-1].upper() in _EXTRA_ZONES:
        words[-1] = _EXTRA_ZONES[words[-1].upper()]
        text = " ".join(words)
    try:
        parsed = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None, f"date {value.strip()[:80]!r} cannot be read"
    note = None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
        note = f"date {value.strip()[:80]!r} has no time zone; read as UTC"
    try:
        parsed = parsed.astimezone(UTC)
    except (OverflowError, ValueError):
        return None, f"date {value.strip()[:80]!r} is out of range"
    if parsed < EARLIEST_PLAUSIBLE or parsed > datetime.now(UTC) + FUTURE_TOLERANCE:
        return None, f"date {value.strip()[:80]!r} is implausible"
    return parsed, note
