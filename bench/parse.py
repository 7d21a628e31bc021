"""Parse throughput against the stdlib baseline, measured in one run.

    python bench/parse.py [--rounds N]

(a) bare `email.message_from_bytes` over every corpus file and our fixtures;
(b) `parse_report` followed by `attribute_report` over the same bytes.
Prints both in reports per second and the ratio b/a; the target is >= 0.3,
i.e. parsing and attributing costs at most about three bare stdlib parses.
"""

from __future__ import annotations

import argparse
import email
import sys
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from abusedesk.attribute import attribute_report
from abusedesk.config import AttributionSettings
from abusedesk.parse import parse_report

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO.parent / "shared" / "corpus" / "arf"
FIXTURES = REPO / "fixtures" / "reports"
TARGET_RATIO = 0.3


class SetDirectory:
    """A `MailboxDirectory` over a fixed set of hosted addresses."""

    def __init__(self, addresses: set[str]) -> None:
        self._addresses = {address.lower() for address in addresses}

    def is_hosted(self, address: str) -> bool:
        return address.lower() in self._addresses

    def sender_for_queue_id(self, queue_id: str) -> str | None:
        return None

    def queue_record_span(self) -> tuple[datetime | None, datetime | None]:
        return None, None


def load_samples() -> list[bytes]:
    paths = sorted(CORPUS.glob("*.eml")) + sorted(FIXTURES.glob("*.eml"))
    if not paths:
        sys.exit(f"no samples found in {CORPUS} or {FIXTURES}")
    return [path.read_bytes() for path in paths]


def reports_per_second(samples: list[bytes], rounds: int, work: Callable[[bytes], object]) -> float:
    for sample in samples:  # warm caches and imports outside the timing
        work(sample)
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        for _ in range(rounds):
            for sample in samples:
                work(sample)
        best = min(best, time.perf_counter() - started)
    return rounds * len(samples) / best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    samples = load_samples()
    settings = AttributionSettings(
        relays=["relay-out1.mailhost.example", "relay-out2.mailhost.example", "198.51.100.24/30"],
        authenticated_header="X-Authenticated-Sender",
    )
    directory = SetDirectory(
        {"mbx-4412@customer-shop.example", "news@customer-shop.example", "sales@cheap-meds.example"}
    )

    def parse_and_attribute(raw: bytes) -> object:
        return attribute_report(parse_report(raw), settings, directory)

    baseline = reports_per_second(samples, args.rounds, email.message_from_bytes)
    ours = reports_per_second(samples, args.rounds, parse_and_attribute)
    ratio = ours / baseline
    print(f"samples: {len(samples)} reports x {args.rounds} rounds (best of 3)")
    print(f"(a) email.message_from_bytes:        {baseline:9.0f} reports/s")
    print(f"(b) parse_report + attribute_report: {ours:9.0f} reports/s")
    print(f"ratio b/a: {ratio:.2f} (target >= {TARGET_RATIO})")
    return 0 if ratio >= TARGET_RATIO else 1


if __name__ == "__main__":
    raise SystemExit(main())
