"""The demo's packaged samples: the manifest lists every report, and each is dated relative to
now with its hops in order."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from itertools import pairwise

from abusedesk.cli.demo_samples import DATE, SPACING, demo_data, load_samples, redate

NOW = datetime(2030, 6, 1, 12, 0, tzinfo=UTC)


def dates(raw: bytes) -> list[datetime]:
    return [parsedate_to_datetime(m.group().decode()) for m in DATE.finditer(raw)]


def test_the_manifest_lists_every_packaged_report_once() -> None:
    names = [sample.name for sample in load_samples(NOW)]
    on_disk = sorted(path.name for path in (demo_data() / "reports").glob("*.eml"))
    assert sorted(names) == on_disk and len(set(names)) == len(names)
    assert len({sample.message_id for sample in load_samples(NOW)}) == len(names)


def test_samples_end_a_minute_before_now_in_sending_order() -> None:
    samples = load_samples(NOW)
    newest = [max(dates(sample.raw)) for sample in samples]
    assert newest[-1] == NOW - SPACING
    assert newest == sorted(newest) and newest[0] == NOW - SPACING * len(samples)
    assert all(b"\n" not in sample.raw.replace(b"\r\n", b"") for sample in samples)


def test_redate_keeps_the_order_spacing_and_time_zones_of_a_folded_chain() -> None:
    raw = (
        b"Received: from relay1 by mx; Thu,\r\n  26 Nov 2026 05:01:05 -0500\r\n"
        b"Arrival-Date: Thu, 26 Nov 2026 10:01:04 +0000\r\n"
        b"Date: 26 Nov 2026 09:59 +0100\r\n\r\nbody"
    )
    before = dates(raw)
    moved = redate(raw, NOW)
    after = dates(moved)
    assert max(after) == NOW
    assert [b - a for a, b in pairwise(before)] == [b - a for a, b in pairwise(after)]
    assert [when.utcoffset() for when in after] == [
        timedelta(hours=-5),
        timedelta(0),
        timedelta(hours=1),
    ]
    assert moved.endswith(b"\r\n\r\nbody")
