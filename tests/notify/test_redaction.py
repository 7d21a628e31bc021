"""Redaction: who the complainant is, and that no spelling of them survives a redactor.

Texts are judged by `traces.spellings_found`, which decodes on its own (the
stdlib's decoders in every order, base64 at every offset), so a spelling the
redactor does not know fails here instead of reaching a reseller.
"""

from __future__ import annotations

import base64
import hashlib
import string
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from abusedesk.notify.complainant import complainant_addresses
from abusedesk.notify.redaction import MARKER, redactor_for
from abusedesk.parse.reader import parse_report
from abusedesk.parse.report import OriginalMessage, Report, ReportFormat, ReportKind
from tests.conftest import CORPUS
from tests.notify.complainant_reports import COMPLAINANT, SENDER, WORDS, complainant_report
from tests.notify.reports import report
from tests.notify.traces import spellings_found

JANE = redactor_for(parse_report(complainant_report(1)), [SENDER])


def test_every_address_of_the_complainant_the_report_reveals_is_found() -> None:
    raw = report(
        1,
        SENDER,
        b"Offer",
        recipient="rcpt@yahoo.example",
        to_header=b'"Bo" <to@yahoo.example>, =?utf-8?q?Ann?= <to2@yahoo.example>',
        original_headers=(
            b"Cc: cc@yahoo.example\n"
            b"X-Original-To: original@yahoo.example\n"
            b"Delivered-To: delivered@yahoo.example\n"
            b"X-Apparently-To: apparently@yahoo.example via 203.0.113.9\n"
            b"Envelope-To: envelope@yahoo.example\n"
            b"X-HmXmrOriginalRecipient: <jmrp@hotmail.example>\n"
            b"Received: from mx by mx2 for <hop@yahoo.example>, <hop2@yahoo.example>; x\n"
            b"Reply-To: replies@shop.example\n"
        ),
        feedback_fields=b"Removal-Recipient: removal@yahoo.example\n",
    )
    found = set(complainant_addresses(parse_report(raw), [SENDER]))
    assert found == {
        "rcpt@yahoo.example",  # Original-Rcpt-To and the relay hop's for <...>
        "to@yahoo.example",
        "to2@yahoo.example",
        "cc@yahoo.example",
        "original@yahoo.example",
        "delivered@yahoo.example",
        "apparently@yahoo.example",
        "envelope@yahoo.example",
        "jmrp@hotmail.example",
        "hop@yahoo.example",
        "hop2@yahoo.example",
        "removal@yahoo.example",
    }
    # The charged mailbox is never the complainant, even where a header says so.
    cc_self = report(1, SENDER, b"x", original_headers=f"Cc: {SENDER}\n".encode())
    assert SENDER not in complainant_addresses(parse_report(cc_self), [SENDER])


SPELLINGS = {
    "as typed, another case": "JANE.DOE@Yahoo.Example",
    "percent-encoded": "?e=jane.doe%40yahoo.example&n=1",
    "every character percent-encoded": "?e=" + "".join(f"%{b:02X}" for b in COMPLAINANT.encode()),
    "percent-encoded in lower hex, twice": "?e=jane%2edoe%2540yahoo%2Eexample",
    "partly percent-encoded letters": "?e=%4Aane.d%6Fe%40yahoo.example",
    "quoted-printable": "mailto:jane.doe=40yahoo.example",
    "quoted-printable, soft line breaks": "jane.=\ndoe=40ya=\r\nhoo.example",
    "quoted-printable of a percent-encoded link": "?e=3Djane.doe=2540yah=\noo.example",
    "a soft line break inside a percent escape": "?e=jane.doe%4=\n0yahoo.example",
    "HTML references": "jane&#46;doe&#64;yahoo&#x2E;example",
    "HTML named references": "jane&period;doe&commat;yahoo.example",
    "HTML references escaped once more": "jane.doe&amp;#64;yahoo.example",
    "JSON escapes": '{"to":"jane.doe\\u0040yahoo.example"}',
    "VERP": "bounce-jane.doe=yahoo.example@esp.example",
    "base64": "?t=" + base64.b64encode(COMPLAINANT.encode()).decode(),
    "base64 at the second alignment": "?t="
    + base64.b64encode(b"u=" + COMPLAINANT.encode() + b";x").decode(),
    "base64 at the third alignment": "?t="
    + base64.b64encode(b"u=1" + COMPLAINANT.encode()).decode(),
    "URL-safe base64 without padding": "/u/"
    + base64.urlsafe_b64encode(b"\xfb\xff" + COMPLAINANT.encode()).decode().rstrip("=")
    + "/next",
    "base64 with percent-encoded padding": "?t="
    + base64.b64encode(b"x" + COMPLAINANT.encode()).decode().replace("=", "%3D"),
    "base64 of the capitalised address": "?t="
    + base64.b64encode(b"Jane.doe@yahoo.example").decode(),
    "base64 of the address in a case no header writes": "?t="
    + base64.b64encode(b"id=1;JaNe.DoE@YAHOO.example").decode(),
    "base64 of the percent-encoded address": "?t="
    + base64.b64encode(b"jane.doe%40yahoo.example").decode(),
    "an encoded-word": "=?utf-8?B?"
    + base64.b64encode(b"Jane Doe <jane.doe@yahoo.example>").decode()
    + "?=",
    "a wrapped base64 body": base64.encodebytes(
        b"x" * 50 + b" Dear customer &#106;ane.doe&#64;yahoo.example, hello " + b"y" * 80
    ).decode(),
    "hex": "?h=" + COMPLAINANT.encode().hex(),
    "MD5": "?h=" + hashlib.md5(COMPLAINANT.encode(), usedforsecurity=False).hexdigest(),
    "SHA-256, upper case": "?h=" + hashlib.sha256(COMPLAINANT.encode()).hexdigest().upper(),
}


@pytest.mark.parametrize("text", SPELLINGS.values(), ids=SPELLINGS.keys())
def test_each_spelling_of_the_address_is_redacted(text: str) -> None:
    assert spellings_found(text, COMPLAINANT), "the judge must see the address first"
    redacted = JANE.redact(f"before {text} after")
    assert spellings_found(redacted, COMPLAINANT, words=WORDS) == []
    assert MARKER in redacted or "\n" in text  # a base64 body is encoded again
    assert redacted.startswith("before ") and redacted.endswith(" after")


def test_a_subaddress_and_an_address_cut_off_by_the_end_of_a_text_are_redacted() -> None:
    assert JANE.redact("to jane.doe+news@yahoo.example.") == "to [recipient]."
    assert JANE.redact("Hi, write to jane.doe@yah") == "Hi, write to [recipient]"


def test_a_wrapped_base64_body_is_still_base64_with_the_marker_inside() -> None:
    text = "body:\n" + base64.encodebytes(b"Hello jane.doe@yahoo.example, " * 6).decode()
    body = JANE.redact(text).removeprefix("body:\n")
    assert base64.b64decode(body).decode() == "Hello [recipient], " * 6


LOCAL_PART = {
    "Hi jane.doe, welcome": "Hi [recipient], welcome",
    "Dear Jane Doe!": "Dear [recipient]!",
    "profile JANE_DOE ready": "profile [recipient] ready",
    "?user=jane.doe&x=1": "?user=[recipient]&x=1",
    "Message-ID: <jane.doe.1234@mail.shop.example>": None,
    "https://jane.doe.blog.example/": None,
    "jane.doe@gmail.example is someone else": None,
    "mary.jane.doe and janedoes": None,
    "Hi Jane, hi Doe": None,  # a first name alone is any Jane's
}


@pytest.mark.parametrize("text", LOCAL_PART, ids=LOCAL_PART.keys())
def test_the_local_part_and_name_alone_only_where_they_stand_as_words(text: str) -> None:
    assert JANE.redact(text) == (LOCAL_PART[text] or text)


def test_the_senders_mailbox_and_name_are_never_redacted() -> None:
    # The complainant shares the sender's local part and display name: only her
    # address goes, never the sender's, nor the words both share.
    raw = report(
        1,
        "jane.doe@shop.example",
        b"x",
        recipient=COMPLAINANT,
        to_header=b'"Jane Doe" <jane.doe@yahoo.example>',
        from_header=b'"Jane Doe" <jane.doe@shop.example>',
    )
    redactor = redactor_for(parse_report(raw), ["jane.doe@shop.example"])
    text = 'From: "Jane Doe" <jane.doe@shop.example>, to jane.doe@yahoo.example; Hi jane.doe'
    assert redactor.redact(text) == (
        'From: "Jane Doe" <jane.doe@shop.example>, to [recipient]; Hi jane.doe'
    )
    # Our mailbox, percent-encoded or in another case, is ours still.
    assert redactor.redact("u=Jane.Doe%40Shop.example") == "u=Jane.Doe%40Shop.example"


def test_nothing_inside_the_senders_address_is_taken_for_the_complainants() -> None:
    raw = report(1, SENDER, b"x", recipient="ice@shop.example")
    redactor = redactor_for(parse_report(raw), [SENDER])
    assert redactor.redact(f"From {SENDER} to ice@shop.example") == (
        f"From {SENDER} to [recipient]"
    )
    assert redactor.redact("From ALICE%40shop.example") == "From ALICE%40shop.example"


def test_a_from_that_spoofs_the_complainant_is_redacted() -> None:
    redactor = redactor_for(parse_report(complainant_report(3)), [SENDER])
    assert redactor.redact('"Jane Doe" <jane.doe@yahoo.example>') == '"[recipient]" <[recipient]>'

    assert redactor.redact(f"Shop <{SENDER}>") == f"Shop <{SENDER}>"


def test_a_display_name_that_names_a_service_stays() -> None:
    raw = report(
        1,
        SENDER,
        b"x",
        recipient="member@linkedin.example",
        to_header=b"LinkedIn <member@linkedin.example>",
    )
    redactor = redactor_for(parse_report(raw), [SENDER])
    assert redactor.redact("LinkedIn told member@linkedin.example") == "LinkedIn told [recipient]"


def test_a_report_without_a_complainant_changes_nothing() -> None:
    nobody = Report(ReportKind.COMPLAINT, ReportFormat.ARF, original=OriginalMessage())
    assert redactor_for(nobody).redact("jane.doe@yahoo.example") == "jane.doe@yahoo.example"


@pytest.mark.parametrize("path", sorted(CORPUS.glob("*.eml")), ids=lambda p: p.name[:24])
def test_no_complainant_of_a_real_report_survives_in_its_redacted_text(path: Path) -> None:
    raw = path.read_bytes()
    parsed = parse_report(raw)
    redactor = redactor_for(parsed)
    original = parsed.original
    texts = [raw.decode("utf-8", "replace")]
    if original is not None:
        texts += [original.subject or "", original.body_excerpt or ""]
        texts += [value for _, value in original.headers]
    for address in complainant_addresses(parsed):
        for text in texts:
            assert spellings_found(redactor.redact(text), address) == [], address


# The property: any address, hidden in any text in any spelling, does not survive.

_LOCAL = st.text(string.ascii_lowercase + string.digits + "._+-", min_size=2, max_size=14)
_LABEL = st.text(string.ascii_lowercase + string.digits, min_size=2, max_size=9)
_ADDRESS = st.builds(
    lambda local, first, labels, tld: f"{first}{local}@{'.'.join(labels)}.{tld}",
    _LOCAL,
    st.sampled_from(string.ascii_lowercase),
    st.lists(_LABEL, min_size=1, max_size=2),
    st.text(string.ascii_lowercase, min_size=2, max_size=5),
).filter(lambda a: ".." not in a and ".@" not in a and SENDER not in a and a not in SENDER)
_TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40)
_SEPARATORS = st.sampled_from([" ", "\n", "<", ">", '"', "(", ")", ", ", "; ", "\r\n", "\t"])
_NAMED = {"@": "&commat;", ".": "&period;", "_": "&lowbar;", "+": "&plus;"}


KINDS = ("case", "percent", "qp", "percent-qp", "html", "json", "verp", "base64", "digest")


@st.composite
def _spelt(draw: st.DrawFn, kind: str, address: str, written: str) -> str:
    """`address` spelt the `kind` way, some characters encoded and some not; base64
    encodes it in the letter case `written`."""
    encode = st.lists(st.booleans(), min_size=len(address), max_size=len(address))
    chosen = draw(encode)
    if kind == "case":
        return "".join(c.upper() if up else c for c, up in zip(address, chosen, strict=True))
    if kind in ("percent", "percent-qp"):
        hexed = draw(st.sampled_from(["{:02X}", "{:02x}"]))
        twice = draw(st.booleans())
        prefix = "%25" if twice else "%"
        spelt = "".join(
            prefix + hexed.format(ord(c)) if on else c
            for c, on in zip(address, chosen, strict=True)
        )
        if kind == "percent":
            return spelt
        return _quoted_printable(draw, spelt)
    if kind == "qp":
        encoded = "".join(
            f"={ord(c):02X}" if on or c == "=" else c for c, on in zip(address, chosen, strict=True)
        )
        return _quoted_printable(draw, encoded, already=True)
    if kind == "html":
        forms = []
        for c, on in zip(address, chosen, strict=True):
            style = draw(st.sampled_from(["dec", "hex", "named"])) if on else "plain"
            if style == "dec":
                forms.append(f"&#{ord(c)};")
            elif style == "hex":
                forms.append(f"&#x{ord(c):x};")
            elif style == "named" and c in _NAMED:
                forms.append(_NAMED[c])
            else:
                forms.append(c)
        return "".join(forms)
    if kind == "json":
        return "".join(
            f"\\u{ord(c):04x}" if on else c for c, on in zip(address, chosen, strict=True)
        )
    if kind == "verp":
        return address.replace("@", "=")
    if kind == "digest":
        name = draw(st.sampled_from(["md5", "sha1", "sha256"]))
        digest = hashlib.new(name, address.encode(), usedforsecurity=False).hexdigest()
        return digest.upper() if draw(st.booleans()) else digest
    before = draw(st.binary(max_size=5))
    after = draw(st.binary(max_size=5))
    data = before + written.encode() + after
    if draw(st.booleans()):
        encoded = base64.urlsafe_b64encode(data).decode()
    else:
        encoded = base64.b64encode(data).decode()
    padding = draw(st.sampled_from(["keep", "strip", "percent"]))
    if padding == "strip":
        return encoded.rstrip("=")
    return encoded.replace("=", "%3D") if padding == "percent" else encoded


def _quoted_printable(draw: st.DrawFn, text: str, *, already: bool = False) -> str:
    """`text` quoted-printable (its `=` escaped unless `already`), with soft line breaks."""
    if not already:
        text = text.replace("=", "=3D")
    units = []
    position = 0
    while position < len(text):
        width = 3 if text[position] == "=" else 1
        units.append(text[position : position + width])
        position += width
    breaks = draw(st.lists(st.booleans(), min_size=len(units), max_size=len(units)))
    return "".join(unit + ("=\n" if cut else "") for unit, cut in zip(units, breaks, strict=True))


@pytest.mark.parametrize("kind", KINDS)
@settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(st.data(), _ADDRESS, _TEXT, _TEXT, _SEPARATORS, _SEPARATORS)
def test_an_address_in_any_spelling_in_any_text_never_survives(
    kind: str, data: st.DataObject, address: str, before: str, after: str, left: str, right: str
) -> None:
    upper = data.draw(st.lists(st.booleans(), min_size=len(address), max_size=len(address)))
    written = "".join(c.upper() if up else c for c, up in zip(address, upper, strict=True))
    spelt = data.draw(_spelt(kind, address, written), label="spelling")
    original = OriginalMessage(headers=(("To", address),), recipients=(address,))
    redactor = redactor_for(Report(ReportKind.COMPLAINT, ReportFormat.ARF, original=original))
    text = f"{before}{left}{spelt}{right}{after}"
    assert spellings_found(text, address), text  # the judge sees it before
    redacted = redactor.redact(text)
    assert spellings_found(redacted, address) == [], (text, redacted)


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(_ADDRESS, _TEXT, _TEXT, _SEPARATORS)
def test_the_senders_mailbox_always_survives(
    address: str, before: str, after: str, separator: str
) -> None:
    original = OriginalMessage(
        headers=(("To", address), ("From", f"Shop <{SENDER}>")),
        from_address=SENDER,
        recipients=(address,),
    )
    redactor = redactor_for(Report(ReportKind.COMPLAINT, ReportFormat.ARF, original=original))
    text = f"{before}{separator}{SENDER}{separator}{address}{separator}{after}"
    redacted = redactor.redact(text)
    assert SENDER in redacted
    assert spellings_found(redacted, address) == []
