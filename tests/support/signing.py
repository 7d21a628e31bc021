"""A provider's DKIM key for tests: an RSA key made with openssl, signing with dkimpy, and the
DNS answer that publishes it (DNS is outside the machine, so a lookup function serves it)."""

from __future__ import annotations

import base64
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import dkim

SELECTOR = b"fbl"

# What real providers' report signatures list (Amazon SES's, in the corpus, lists these).
PROVIDER_HEADERS = (b"from", b"to", b"subject", b"date", b"message-id", b"mime-version")


@dataclass(frozen=True)
class SigningKey:
    private_pem: bytes
    public_b64: bytes

    def sign(
        self,
        message: bytes,
        domain: bytes,
        headers: Sequence[bytes] = PROVIDER_HEADERS,
        *,
        length: bool = False,
    ) -> bytes:
        """`message` (CRLF line endings) with a DKIM-Signature of `domain` on top."""
        message = message.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
        signature = dkim.sign(
            message,
            SELECTOR,
            domain,
            self.private_pem,
            include_headers=list(headers),
            length=length,
        )
        return bytes(signature) + message

    def dns(self, domain: bytes) -> Callable[..., bytes]:
        """A DNS TXT lookup that publishes this key for `domain`, and nothing else."""
        wanted = SELECTOR + b"._domainkey." + domain + b"."

        def lookup(name: bytes, timeout: int = 5) -> bytes:
            assert name == wanted, f"unexpected DKIM key lookup {name!r}"
            return b"v=DKIM1; k=rsa; p=" + self.public_b64

        return lookup


def make_signing_key(folder: Path) -> SigningKey:
    private = folder / "private.pem"
    subprocess.run(
        ["openssl", "genrsa", "-out", str(private), "1024"], check=True, capture_output=True
    )
    public_der = subprocess.run(
        ["openssl", "rsa", "-in", str(private), "-pubout", "-outform", "DER"],
        check=True,
        capture_output=True,
    ).stdout
    return SigningKey(private.read_bytes(), base64.b64encode(public_der))
