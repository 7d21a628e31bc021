"""Read report dates into timezone-aware UTC datetimes, or say why not.

`email.utils.parsedate_to_datetime` knows RFC 5322 and the US zones of RFC
822 (EDT, PST, UT…). Reports also use zones it does not know (JST, CET,
NZDT…), trailing comments such as `-0000 (EST)`, two-digit years, and no zone
at all; X-ARF generators write ISO 8601 / RFC 3339 (`2015-07-23T01:58:17+00:00`,
`…Z`, with or without seconds and their fraction). A date that cannot be read,
or lies outside the plausible range, is None: the caller then uses when the
report was received.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from email.utils import parsedate_to_datetime

EARLIEST_PLAUSIBLE = datetime(1995, 1, 1, tzinfo=UTC)
"""Feedback loops did not exist before this; an earlier date is a typo or a forgery."""
FUTURE_TOLERANCE = timedelta(days=1)

_COMMENT = re.compile(r"\([^()]*\)")
_MAX_DATE_CHARS = 200
_ISO_8601 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?"
    r" ?(?:([Zz]|UTC|GMT)|([+-])(\d{2}):?(\d{2})?)?"
)
"""Date and time with an optional zone: `Z`, `±hh:mm`, `±hhmm` or `±hh` (RFC 3339 and
the ISO 8601 variants X-ARF generators write); never a bare date or week date."""

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

    A date without a zone (or with `-0000` or `-00:00`, "zone unknown") is read as
    UTC, and the second element says so.
    """
    if value is None or not value.strip():
        return None, None
    text = " ".join(_COMMENT.sub(" ", value[:_MAX_DATE_CHARS]).split())
    words = text.split(" ")
    if words and words[-1].upper() in _EXTRA_ZONES:
        words[-1] = _EXTRA_ZONES[words[-1].upper()]
        text = " ".join(words)
    iso = _ISO_8601.fullmatch(text)
    try:
        parsed = _from_iso_8601(iso) if iso else parsedate_to_datetime(text)
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


def _from_iso_8601(match: re.Match[str]) -> datetime:
    """The datetime an `_ISO_8601` match names; naive when it has no zone or `-00:00`
    (RFC 3339's "offset unknown", like RFC 5322's `-0000`). Raises ValueError when a
    field is out of range."""
    year, month, day, hour, minute = (int(match.group(n)) for n in range(1, 6))
    # RFC 3339 allows a leap second (`23:59:60Z`); datetime does not.
    second = min(int(match.group(6) or 0), 59)
    microsecond = int((match.group(7) or "0")[:6].ljust(6, "0"))
    moment = datetime(year, month, day, hour, minute, second, microsecond)
    if match.group(8):
        return moment.replace(tzinfo=UTC)
    sign, hours, minutes = match.group(9), match.group(10), match.group(11)
    if sign is None:
        return moment
    if int(hours) > 23 or int(minutes or 0) > 59:
        raise ValueError("time zone offset out of range")
    offset = timedelta(hours=int(hours), minutes=int(minutes or 0))
    if not offset and sign == "-":
        return moment
    return moment.replace(tzinfo=timezone(-offset if sign == "-" else offset))
