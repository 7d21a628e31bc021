"""Reports whose original is full of the complainant's address, in every spelling we know.

The complainant is `COMPLAINANT` (Jane Doe); the sender is one of our hosted
mailboxes, relayed by relay1, so every report is charged to it. The address is
in the recipient headers, the hops' `for <…>`, a spoofed From, the subject
(plain and as an encoded-word), and a body that greets her by local part and
by name and carries tracking links with the address percent-encoded, in
base64 (standard and URL-safe, at other alignments), hashed, HTML-escaped,
JSON-escaped and VERP-encoded — the body itself plain, quoted-printable
(with a soft line break inside the address) or base64 in turn.
"""

from __future__ import annotations

import base64
import hashlib
import quopri
from email.header import Header

from tests.notify.reports import report

COMPLAINANT = "jane.doe@yahoo.example"
LOCAL_PART = "jane.doe"
NAME = "Jane Doe"
WORDS = (LOCAL_PART, NAME, "jane_doe")
"""What points at her besides the address: `traces.spellings_found(words=WORDS)`."""
SENDER = "alice@shop.example"

_LINKS = (
    b"https://t.shop.example/c?e=jane.doe%40yahoo.example&s=1\n"
    b"https://t.shop.example/c?e=JANE%2EDOE%2540YAHOO.EXAMPLE\n"
    b"https://t.shop.example/o?t="
    + base64.b64encode(b"uid=7;" + COMPLAINANT.encode() + b";c=9")
    + b"\nhttps://t.shop.example/u/"
    + base64.urlsafe_b64encode(b"~~" + COMPLAINANT.encode()).rstrip(b"=")
    + b"/x\nhttps://t.shop.example/h?m="
    + hashlib.md5(COMPLAINANT.encode(), usedforsecurity=False).hexdigest().encode()
    + b"\nmailto:jane.doe&#64;yahoo&period;example or &#x6a;ane.doe&commat;yahoo.example\n"
    b'{"email":"jane.doe\\u0040yahoo.example"}\n'
    b"bounces: unsub-jane.doe=yahoo.example@lists.shop.example\n"
)
BODY = (
    b"Hi jane.doe,\n\nDear Jane Doe, your jane_doe profile is waiting for you.\n"
    b"We wrote to Jane.Doe@Yahoo.example because you asked.\n" + _LINKS + b"Buy now!\n"
)


def _subject(number: int) -> bytes:
    if number % 2:
        return b"Offer %d for jane.doe@yahoo.example" % number
    header = Header(f"Deal {number} for Jane.Doe@Yahoo.example", "utf-8")
    return header.encode().encode()


def _body(number: int) -> tuple[bytes, bytes]:
    """(the body, its MIME headers): plain, quoted-printable or base64 in turn."""
    kind = number % 3
    if kind == 1:
        return BODY, b"Content-Type: text/plain; charset=utf-8\n"
    if kind == 2:
        encoded = quopri.encodestring(BODY.replace(b"Buy", b"=" * 3 + b" Buy"))
        # A soft line break inside the address, where a wrapping encoder may put one.
        encoded = encoded.replace(b"jane.doe@yahoo", b"jane.d=\noe=40yah=\noo", 1)
        headers = b"Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: "
        return encoded, headers + b"quoted-printable\n"
    wrapped = base64.encodebytes(BODY)
    headers = b"Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: base64\n"
    return wrapped, headers


def complainant_report(number: int, sender: str = SENDER) -> bytes:
    """Report `number` (1 to 6 differ) about a message from `sender` to Jane Doe."""
    body, body_headers = _body(number)
    spoofed = number == 3  # spam that claims to come from its own recipient
    return report(
        number,
        sender,
        _subject(number),
        body,
        body_headers,
        recipient=COMPLAINANT,
        to_header=b'"Jane Doe" <Jane.Doe@yahoo.example>',
        from_header=b'"Jane Doe" <jane.doe@yahoo.example>' if spoofed else None,
        original_headers=(
            b"Cc: jane.doe+news@yahoo.example\n"
            b"X-Original-To: jane.doe@yahoo.example\n"
            b"Delivered-To: jane.doe@yahoo.example\n"
            b"X-Apparently-To: jane.doe@yahoo.example via 203.0.113.9\n"
            b"List-Unsubscribe: <mailto:unsub-jane.doe=yahoo.example@lists.shop.example>\n"
        ),
    )


def complainant_reports(sender: str = SENDER) -> list[bytes]:
    """Six reports: enough for the shipped rules to suspend `sender`."""
    return [complainant_report(number, sender) for number in range(1, 7)]
