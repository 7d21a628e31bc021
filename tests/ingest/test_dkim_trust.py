"""DKIM trust: a provider's valid signature makes a report trusted; a forged or foreign one not,
nor one that leaves open what the report is read and counted by.

DNS is outside the machine, so the public key is served by a lookup function.
"""

from __future__ import annotations

from pathlib import Path

import dkim
import pytest
from tests.conftest import CORPUS
from tests.support.reports import numbered_report
from tests.support.signing import SigningKey, make_signing_key

from abusedesk.config import ProviderSettings
from abusedesk.ingest.dkim_trust import dkim_trust
from abusedesk.parse import parse_report
from abusedesk.record.identity import KeyKind, ReportIdentity, report_identity

WITHOUT_ID = (CORPUS / "02-rfc5965-b2-extended-abuse.eml").read_bytes()
"""A report without a Message-ID: counted by its content."""
WITH_ID = numbered_report(1)
"""A report counted by its Message-ID."""
PROVIDERS = ProviderSettings(dkim_domains=["provider.example"])
DOMAIN = b"provider.example"


@pytest.fixture(scope="module")
def key(tmp_path_factory: pytest.TempPathFactory) -> SigningKey:
    folder: Path = tmp_path_factory.mktemp("dkim")
    return make_signing_key(folder)


def identity(raw: bytes) -> ReportIdentity:
    return report_identity(parse_report(raw), raw)


def trust(raw: bytes, key: SigningKey) -> tuple[bool, str] | None:
    return dkim_trust(raw, PROVIDERS, key.dns(DOMAIN), identity=identity(raw))


def still_verifies(raw: bytes, key: SigningKey) -> bool:
    """What dkimpy alone says: the edits below keep the signature valid."""
    crlf = raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    return bool(dkim.verify(crlf, dnsfunc=key.dns(DOMAIN)))


def test_valid_provider_signature_is_trusted(key: SigningKey) -> None:
    for report in (WITH_ID, WITHOUT_ID):
        verdict = trust(key.sign(report, DOMAIN), key)
        assert verdict == (True, "valid DKIM signature of provider domain provider.example")


def test_tampered_report_is_not_trusted(key: SigningKey) -> None:
    tampered = key.sign(WITHOUT_ID, DOMAIN).replace(b"Subject: ", b"Subject: Re: ", 1)
    assert trust(tampered, key) is None


def test_signature_of_another_domain_is_not_trusted(key: SigningKey) -> None:
    other = key.sign(WITHOUT_ID, b"spammer.example")

    def lookup(name: bytes, timeout: int = 5) -> bytes:
        return b"v=DKIM1; k=rsa; p=" + key.public_b64

    assert dkim_trust(other, PROVIDERS, lookup, identity=identity(other)) is None


def test_unsigned_report_and_no_configured_domains() -> None:
    assert dkim_trust(WITHOUT_ID, PROVIDERS, identity=identity(WITHOUT_ID)) is None
    assert dkim_trust(WITHOUT_ID, ProviderSettings(), identity=identity(WITHOUT_ID)) is None


def test_a_header_dkimpy_cannot_read_gives_no_trust_and_no_error(key: SigningKey) -> None:
    broken = key.sign(WITHOUT_ID, DOMAIN).replace(b"MIME-Version", b"not a field\r\nMIME-Version")
    assert trust(broken, key) is None


def test_message_id_key_needs_a_signature_that_covers_the_message_id(key: SigningKey) -> None:
    signed = key.sign(WITH_ID, DOMAIN, headers=[b"from", b"to", b"subject", b"date"])
    assert identity(signed).kind is KeyKind.MESSAGE_ID
    verdict = trust(signed, key)
    assert verdict is not None and verdict[0] is False
    assert verdict[1] == (
        "DKIM signature of provider domain provider.example verifies but is not trusted: "
        "the report is counted by its Message-ID, which the signature does not cover "
        "(h= lists it 0 times, the header has 1): anyone could change it and have one "
        "report counted many times"
    )
    # And so each copy with a Message-ID of its own would have been a new complaint.
    renamed = signed.replace(b"<report-1@", b"<copy-2@")
    assert still_verifies(renamed, key)
    assert identity(renamed).key != identity(signed).key
    assert trust(renamed, key) == verdict


def test_a_content_key_rests_on_the_body_which_every_signature_covers(key: SigningKey) -> None:
    signed = key.sign(WITHOUT_ID, DOMAIN, headers=[b"from"])
    assert identity(signed).kind is KeyKind.CONTENT
    assert trust(signed, key) == (True, "valid DKIM signature of provider domain provider.example")
    # A Message-ID added to it would make a new key: the signature does not cover it.
    with_id = signed.replace(
        b"From: <abusedesk", b"Message-ID: <new@x.example>\r\nFrom: <abusedesk"
    )
    assert still_verifies(with_id, key)
    assert identity(with_id).kind is KeyKind.MESSAGE_ID
    verdict = trust(with_id, key)
    assert verdict is not None and verdict[0] is False
    assert "counted by its Message-ID, which the signature does not cover" in verdict[1]


@pytest.mark.parametrize("field", [b"Message-ID", b"Subject", b"Date", b"To"])
def test_a_singleton_field_added_above_the_signature_refuses_trust(
    key: SigningKey, field: bytes
) -> None:
    edited = f"{field.decode()}: added after signing <x@attacker.example>\r\n".encode() + (
        key.sign(WITH_ID, DOMAIN)
    )
    assert still_verifies(edited, key)  # the signature covers the bottom instance only
    verdict = trust(edited, key)
    assert verdict == (
        False,
        "DKIM signature of provider domain provider.example verifies but is not trusted: "
        f"the header has 2 {field.decode()} fields and the signature covers 1: the others, "
        "read first, were added after signing",
    )


def test_a_provider_that_signs_every_instance_of_a_repeated_field_is_trusted(
    key: SigningKey,
) -> None:
    twice = WITH_ID.replace(b"Subject: ", b"Subject: again\nSubject: ", 1)
    headers = [b"from", b"to", b"subject", b"subject", b"date", b"message-id"]
    signed = key.sign(twice, DOMAIN, headers=headers)
    assert identity(signed).kind is KeyKind.CONTENT  # counted by its content all the same
    assert trust(signed, key) == (True, "valid DKIM signature of provider domain provider.example")


def test_fields_that_may_repeat_can_be_added_freely(key: SigningKey) -> None:
    relayed = (
        b"Received: from mx.forwarder.example by mx.abusedesk.example;\r\n"
        b"\tFri, 4 Dec 2026 10:00:00 +0000\r\n"
        b"Delivered-To: fbl@abusedesk.example\r\n" + key.sign(WITH_ID, DOMAIN)
    )
    assert trust(relayed, key) == (True, "valid DKIM signature of provider domain provider.example")
    assert identity(relayed).key == identity(WITH_ID).key


def test_body_past_the_signed_length_refuses_trust(key: SigningKey) -> None:
    signed = key.sign(WITHOUT_ID, DOMAIN, length=True)
    assert b"l=" in signed.split(b"\r\n\r\n", 1)[0]
    assert trust(signed, key) == (True, "valid DKIM signature of provider domain provider.example")
    appended = signed + b"\r\nAnything at all, counted as a new report.\r\n"
    assert still_verifies(appended, key)
    assert identity(appended).key != identity(signed).key
    verdict = trust(appended, key)
    assert verdict is not None and verdict[0] is False
    assert "it signs only the first " in verdict[1] and "bytes of the body (l=)" in verdict[1]


def test_a_header_read_differently_by_dkimpy_and_the_parser_refuses_trust(
    key: SigningKey,
) -> None:
    # For dkimpy the line of spaces continues X-Junk and X-Copy is a field; for the parser
    # the header ends there and X-Copy starts the content that the report is counted by.
    edited = b"X-Junk: a\r\n \r\nX-Copy: 7\r\n" + key.sign(WITHOUT_ID, DOMAIN)
    assert still_verifies(edited, key)
    assert identity(edited).outer_fields == ("x-junk",)
    verdict = trust(edited, key)
    assert verdict is not None and verdict[0] is False
    assert "another header block than abusedesk reads" in verdict[1]


def test_one_covering_signature_among_several_is_enough(key: SigningKey) -> None:
    covering = key.sign(WITH_ID, DOMAIN)
    both = key.sign(covering, DOMAIN, headers=[b"from", b"subject"])  # checked first, refused
    assert both.index(b"h=from : subject;") < both.index(b"message-id")
    assert trust(both, key) == (True, "valid DKIM signature of provider domain provider.example")
