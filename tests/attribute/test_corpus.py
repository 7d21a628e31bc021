"""The real corpus: none of it was sent by our platform, so none of it may be attributed."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.attribute.conftest import HostedDirectory

from abusedesk.attribute import attribute_report
from abusedesk.config import AttributionSettings
from abusedesk.parse import parse_report

CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpus" / "arf"
CORPUS_FILES = sorted(CORPUS.glob("*.eml"))
FILE_07 = CORPUS / "07-aol-scomp-2007-redacted-sender.eml"


def test_corpus_is_present() -> None:
    assert len(CORPUS_FILES) >= 30


@pytest.mark.parametrize("path", CORPUS_FILES, ids=lambda path: path.name)
def test_no_corpus_report_is_attributed_to_us(
    settings: AttributionSettings, directory: HostedDirectory, path: Path
) -> None:
    report = parse_report(path.read_bytes())

    outcome = attribute_report(report, settings, directory)

    assert outcome.attribution is None
    assert outcome.reason


@pytest.mark.parametrize("path", CORPUS_FILES, ids=lambda path: path.name)
def test_corpus_senders_would_not_be_guessed_even_if_hosted(
    settings: AttributionSettings, path: Path
) -> None:
    # Every From/Return-Path/Original-Mail-From in the corpus counted as hosted:
    # still nothing, because none of these messages passed our relays.
    report = parse_report(path.read_bytes())
    claimed = set()
    if report.original is not None:
        claimed |= {report.original.from_address or "", report.original.mail_from or ""}
    everyone = HostedDirectory(claimed - {""})

    assert attribute_report(report, settings, everyone).attribution is None


FILE_07_RELAYS = AttributionSettings(relays=["tky-sh3.sendingdomain.net", "203.190.228.195"])


def test_file_07_as_if_its_sender_were_us(directory: HostedDirectory) -> None:
    # AOL's hop shows receipt from 203.190.228.195, so the passage is proven,
    # but Sendmail wrote no authenticated sender and the address is redacted:
    # the queue id is found and reported, nobody is guessed.
    report = parse_report(FILE_07.read_bytes())
    everyone = HostedDirectory({"redacted@eigotown.com", "aspann@sendingdomain.com"})

    outcome = attribute_report(report, FILE_07_RELAYS, everyone)

    assert outcome.attribution is None
    assert outcome.reason is not None
    assert "passed our relay tky-sh3.sendingdomain.net" in outcome.reason
    assert "l2K9WXGU003703" in outcome.reason


def test_file_07_joined_by_queue_id(directory: HostedDirectory) -> None:
    report = parse_report(FILE_07.read_bytes())
    with_record = HostedDirectory(
        {"russell@eigotown.com"}, {"l2K9WXGU003703": "russell@eigotown.com"}
    )

    outcome = attribute_report(report, FILE_07_RELAYS, with_record)

    assert outcome.attribution is not None, outcome.reason
    assert outcome.attribution.mailbox == "russell@eigotown.com"
    assert outcome.attribution.method.value == "queue-id"
    assert "203.190.228.195" in outcome.attribution.evidence


def test_file_07_with_only_the_hostname_configured(directory: HostedDirectory) -> None:
    report = parse_report(FILE_07.read_bytes())
    hostname_only = AttributionSettings(relays=["tky-sh3.sendingdomain.net"])

    outcome = attribute_report(report, hostname_only, directory)

    assert outcome.attribution is None
    assert outcome.reason is not None
    assert "attribution.relays" in outcome.reason
