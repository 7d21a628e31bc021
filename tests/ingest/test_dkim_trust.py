"""DKIM trust: a provider's valid signature makes a report trusted; a forged or foreign one not.

DNS is outside the machine, so the public key is served by a lookup function.
"""

from __future__ import annotations

import base64
import subprocess
from pathlib import Path

import dkim
import pytest
from tests.conftest import CORPUS

from abusedesk.config import ProviderSettings
from abusedesk.ingest.dkim_trust import dkim_trust

REPORT = (CORPUS / "02-rfc5965-b2-extended-abuse.eml").read_bytes().replace(b"\r\n", b"\n")


@pytest.fixture(scope="module")
def key_pair(tmp_path_factory: pytest.TempPathFactory) -> tuple[bytes, bytes]:
    folder: Path = tmp_path_factory.mktemp("dkim")
    private = folder / "private.pem"
    subprocess.run(
        ["openssl", "genrsa", "-out", str(private), "1024"], check=True, capture_output=True
    )
    public_der = subprocess.run(
        ["openssl", "rsa", "-in", str(private), "-pubout", "-outform", "DER"],
        check=True,
        capture_output=True,
    ).stdout
    return private.read_bytes(), base64.b64encode(public_der)


def signed(private_key: bytes, domain: bytes) -> bytes:
    message = REPORT.replace(b"\n", b"\r\n")
    signature = dkim.sign(
        message, b"fbl", domain, private_key, include_headers=[b"from", b"to", b"subject", b"date"]
    )
    return signature + message


def dns_for(public_key: bytes):  # type: ignore[no-untyped-def]
    def lookup(name: bytes, timeout: int = 5) -> bytes:
        assert name == b"fbl._domainkey.provider.example."
        return b"v=DKIM1; k=rsa; p=" + public_key

    return lookup


PROVIDERS = ProviderSettings(dkim_domains=["provider.example"])


def test_valid_provider_signature_is_trusted(key_pair: tuple[bytes, bytes]) -> None:
    private, public = key_pair
    verdict = dkim_trust(signed(private, b"provider.example"), PROVIDERS, dns_for(public))
    assert verdict == (True, "valid DKIM signature of provider domain provider.example")


def test_tampered_report_is_not_trusted(key_pair: tuple[bytes, bytes]) -> None:
    private, public = key_pair
    tampered = signed(private, b"provider.example").replace(b"Subject: ", b"Subject: Re: ", 1)
    assert dkim_trust(tampered, PROVIDERS, dns_for(public)) is None


def test_signature_of_another_domain_is_not_trusted(key_pair: tuple[bytes, bytes]) -> None:
    private, public = key_pair
    other = signed(private, b"spammer.example")

    def lookup(name: bytes, timeout: int = 5) -> bytes:
        return b"v=DKIM1; k=rsa; p=" + public

    assert dkim_trust(other, PROVIDERS, lookup) is None


def test_unsigned_report_and_no_configured_domains() -> None:
    assert dkim_trust(REPORT, PROVIDERS) is None
    assert dkim_trust(REPORT, ProviderSettings()) is None
