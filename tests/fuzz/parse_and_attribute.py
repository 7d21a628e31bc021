"""The atheris target: any bytes through `parse_report` and `attribute_report`.

Run by tests/fuzz/test_fuzz.py as `python -m tests.fuzz.parse_and_attribute CORPUS_DIR
-max_total_time=N -timeout=1`; libFuzzer stops on the first exception or on an input that
takes more than a second, and exits non-zero.
"""

from __future__ import annotations

import sys

import atheris

with atheris.instrument_imports(include=["abusedesk"]):
    from abusedesk.attribute import attribute_report
    from abusedesk.config import AttributionSettings
    from abusedesk.parse import parse_report

SETTINGS = AttributionSettings(
    relays=["relay1.out.hostingplatform.example", "198.51.100.0/28"],
    authenticated_header="X-Authenticated-Sender",
    authserv_ids=["outfilter.hostingplatform.example"],
)


class _Everyone:
    """Every address is hosted and every queue id recorded: the deepest paths are taken."""

    def is_hosted(self, address: str) -> bool:
        return True

    def sender_for_queue_id(self, queue_id: str) -> str | None:
        return "alice@shop.example"

    def queue_record_span(self) -> tuple[None, None]:
        return None, None


def one_input(data: bytes) -> None:
    report = parse_report(data)
    attribute_report(report, SETTINGS, _Everyone())


if __name__ == "__main__":
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()
