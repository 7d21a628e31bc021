"""The demo's sample data, packaged with abusedesk: its config, accounts and reports.

The reports are listed, in the order the demo sends them, in
`abusedesk/demo/samples.toml`, which also says why each forged one is forged.
They are dated relative to now when the demo sends them, so that a dashboard
counting the last 24 hours shows them, however old the package is.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.parser import BytesHeaderParser
from email.utils import format_datetime, parsedate_to_datetime
from importlib.resources import files
from pathlib import Path

# An RFC 5322 date, as in Date:, Arrival-Date: and after the `;` of a Received header,
# possibly folded across lines.
DATE = re.compile(
    rb"(?:(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun),\s+)?\d{1,2}\s+"
    rb"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)\s+\d{4}\s+"
    rb"\d{2}:\d{2}(?::\d{2})?\s+[+-]\d{4}"
)
SPACING = timedelta(minutes=1)
"""Between one sample's newest date and the next one's: the last is a minute old."""


@dataclass(frozen=True, slots=True)
class Sample:
    name: str
    raw: bytes
    """The report as the demo sends it: dated relative to now, lines ending in CRLF."""
    message_id: str
    forged: str | None
    """Why the report is forged on purpose, or None for a genuine one."""


def demo_data() -> Path:
    """The folder of the demo's data inside the installed package."""
    return Path(str(files("abusedesk").joinpath("demo")))


def load_samples(now: datetime) -> list[Sample]:
    """The sample reports in sending order, the last one dated a minute before `now`."""
    folder = demo_data()
    listed = tomllib.loads((folder / "samples.toml").read_text(encoding="utf-8"))["sample"]
    samples = []
    for position, entry in enumerate(listed):
        raw = (folder / "reports" / entry["file"]).read_bytes()
        raw = redate(raw, now - SPACING * (len(listed) - position))
        raw = re.sub(rb"\r\n|\n|\r", b"\r\n", raw)  # as sent: SMTP wants CRLF
        message_id = str(BytesHeaderParser().parsebytes(raw)["Message-ID"] or "")
        samples.append(Sample(entry["file"], raw, message_id, entry.get("forged")))
    return samples


def redate(raw: bytes, newest: datetime) -> bytes:
    """`raw` with every date moved by one offset, so that the newest becomes `newest`.

    Hops keep their order and spacing, and each date keeps its own time zone.
    """
    found = [parsedate_to_datetime(m.group().decode()) for m in DATE.finditer(raw)]
    if not found:
        return raw
    shift = newest - max(found)

    def moved(match: re.Match[bytes]) -> bytes:
        when = parsedate_to_datetime(match.group().decode()) + shift
        return format_datetime(when).encode()

    return DATE.sub(moved, raw)
