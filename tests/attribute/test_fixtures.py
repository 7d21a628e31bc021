"""attribute_report on the ARF fixtures in fixtures/reports/attribution, parsed for real."""

from __future__ import annotations

import pytest
from tests.attribute.conftest import FIXTURES, HostedDirectory

from abusedesk.attribute import AttributionMethod, AttributionOutcome, Confidence, attribute_report
from abusedesk.config import AttributionSettings
from abusedesk.parse import Report, ReportKind, parse_report

REPORTS = FIXTURES / "reports" / "attribution"
RECORDED_QUEUE_IDS = {"4Xk2Red12zq7": "Newsletter@shop.example"}


def load(name: str) -> Report:
    report = parse_report((REPORTS / name).read_bytes())
    assert report.kind is ReportKind.COMPLAINT
    assert report.original is not None
    return report


def note_of(name: str) -> str:
    for line in (REPORTS / name).read_text(encoding="utf-8").splitlines():
        if line.startswith("X-Fixture-Note:"):
            return line
    raise AssertionError(f"{name} has no X-Fixture-Note")


@pytest.mark.parametrize(
    ("name", "mailbox", "method", "confidence", "evidence"),
    [
        ("01-relay-alice.eml", "alice@shop.example", "relay-received", "high", "198.51.100.5"),
        ("02-relay-chain-bob.eml", "bob@shop.example", "relay-received", "high", "4Xk2My6Tt7z5j"),
        (
            "03-relay-carol-mixed-case.eml",
            "carol.baker@bakery.example",
            "relay-received",
            "high",
            "198.51.100.6",
        ),
        (
            "07-forwarded-after-delivery.eml",
            "alice@shop.example",
            "relay-received",
            "high",
            "Source-IP 198.51.100.5",
        ),
        (
            "08-sorted-headers.eml",
            "alice@shop.example",
            "relay-received",
            "medium",
            "alphabetical order",
        ),
        (
            "10-x-authenticated-sender.eml",
            "bob@shop.example",
            "authenticated-header",
            "medium",
            "X-Authenticated-Sender",
        ),
        (
            "11-auth-results-smtp-auth.eml",
            "newsletter@shop.example",
            "auth-results",
            "medium",
            "smtp.auth=newsletter@shop.example",
        ),
        (
            "12-redacted-queue-id-only.eml",
            "newsletter@shop.example",
            "queue-id",
            "high",
            "queue id 4Xk2Red12zq7",
        ),
        (
            "13-exchange-hops-above.eml",
            "alice@shop.example",
            "relay-received",
            "high",
            "BN8NAM11FT012",
        ),
    ],
)
def test_attributed_fixtures(
    settings: AttributionSettings,
    directory: HostedDirectory,
    name: str,
    mailbox: str,
    method: str,
    confidence: str,
    evidence: str,
) -> None:
    directory = directory.with_queue_ids(RECORDED_QUEUE_IDS)

    outcome = attribute_report(load(name), settings, directory)

    assert outcome.attribution is not None, outcome.reason
    attribution = outcome.attribution
    assert attribution.mailbox == mailbox
    assert attribution.method is AttributionMethod(method)
    assert attribution.confidence is Confidence(confidence)
    assert evidence in attribution.evidence
    assert f"Expect {mailbox.split('@')[0]}" in note_of(name) or "recorded mailbox" in note_of(name)


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("04-spoofed-from-sent-elsewhere.eml", "no Received hop from our relays"),
        (
            "05-forged-relay-hops-below-external.eml",
            "forwarded by bot-66.cable.example: the provider received it from 192.0.2.66",
        ),
        ("06-forged-auth-sender-unconfirmed.eml", "received it from 192.0.2.50 (the report's"),
        ("09-sender-not-hosted.eml", "sender mallory@gone.example is not hosted here"),
        ("12-redacted-queue-id-only.eml", "(queue id 4Xk2Red12zq7)"),
    ],
)
def test_unattributed_fixtures(
    settings: AttributionSettings, directory: HostedDirectory, name: str, reason: str
) -> None:
    outcome: AttributionOutcome = attribute_report(load(name), settings, directory)

    assert outcome.attribution is None
    assert outcome.reason is not None
    assert reason in outcome.reason


def test_every_fixture_is_covered() -> None:
    covered = {path.name for path in REPORTS.glob("*.eml")}
    tested = {
        "01-relay-alice.eml", "02-relay-chain-bob.eml", "03-relay-carol-mixed-case.eml",
        "04-spoofed-from-sent-elsewhere.eml", "05-forged-relay-hops-below-external.eml",
        "06-forged-auth-sender-unconfirmed.eml", "07-forwarded-after-delivery.eml",
        "08-sorted-headers.eml", "09-sender-not-hosted.eml", "10-x-authenticated-sender.eml",
        "11-auth-results-smtp-auth.eml", "12-redacted-queue-id-only.eml",
        "13-exchange-hops-above.eml",
    }  # fmt: skip

    assert covered == tested


def test_fixture_notes_are_on_the_outer_message() -> None:
    for path in REPORTS.glob("*.eml"):
        outer, _, _ = path.read_bytes().partition(b"\r\n\r\n")
        assert b"X-Fixture-Note:" in outer, path.name
