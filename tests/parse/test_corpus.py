"""Every real report in the shared corpus parses to what a reader of the file expects.

The expectations were written by reading each file (see SOURCES.md beside
them), not by running the parser. A corpus file without an expectation here
fails the suite, so a new sample cannot slip in untested.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest

from abusedesk.parse import Report, ReportFormat, ReportKind, parse_report

CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpus" / "arf"

C, A, OPT = ReportKind.COMPLAINT, ReportKind.AUTH_FAILURE, ReportKind.OPT_OUT
ARF = ReportFormat.ARF


@dataclass(frozen=True)
class Expected:
    kind: ReportKind
    format: ReportFormat
    feedback_type: str | None
    reporter: str | None
    message_id: str | None = None
    from_address: str | None = None
    mail_from: str | None = None
    source_ip: str | None = None
    arrival: str | None = None
    """ISO 8601 in UTC, or None when the report gives no usable date."""
    has_original: bool = True


EXPECTED: dict[str, Expected] = {
    "01": Expected(C, ARF, "abuse", "example.com", "8787KJKJ3K4J3K4J3K4J3.mail@example.net",
                   "somespammer@example.net"),
    "02": Expected(C, ARF, "abuse", "example.com", "8787KJKJ3K4J3K4J3K4J3.mail@example.net",
                   "somespammer@example.net", "somespammer@example.net", "192.0.2.1",
                   "2005-03-08T18:00:00+00:00"),
    "03": Expected(A, ARF, "auth-failure", "example.com", None, "randomuser@example.net",
                   "randomuser@example.net", "192.0.2.1", "2010-04-14T19:15:31+00:00"),
    "04": Expected(A, ARF, "auth-failure", "mail.receiver.example",
                   "87913910.1318094604546@out.sender.example", "anexample@a.sender.example",
                   "anexample.reply@a.sender.example", "192.0.2.1", "2011-10-08T20:15:58+00:00"),
    "05": Expected(OPT, ARF, "opt-out", "example.com", "8787KJKJ3K4J3K4J3K4J3.mail@example.net",
                   "somespammer@example.net"),
    "06": Expected(OPT, ARF, "opt-out", "example.com", "0000000000000000000000000@example.net",
                   "shironeko@example.net"),
    "07": Expected(C, ARF, "abuse", "aol.net", "C225D9A1.A7CB3%redacted@eigotown.com",
                   "redacted@eigotown.com", "redacted@eigotown.com", "203.190.228.195",
                   "2007-03-20T09:33:32+00:00"),
    "08": Expected(C, ARF, "abuse", "aol.net", "20080715095852.22591_4510@sendersdomain.wir.jp",
                   "redacted@sendersdomain.jp",
                   "sendersdomain.wir.jp_20080715095852.22591_4510@ret.sendingdomain.net",
                   "203.190.229.242", "2008-07-15T01:00:55+00:00"),
    "09": Expected(C, ARF, "abuse", "aol.net",
                   "200807222112.m6MIeO1a015502@tky-caa.sendingdomain.net",
                   "mailer-daemon@tky-caa.sendingdomain.net", None, "203.190.228.30",
                   "2008-07-22T21:13:02+00:00"),
    "10": Expected(C, ARF, "abuse", "aol.net", "20160119143236.14076@une.com.co",
                   "tecnic2@domain4.tld", "tecnic2@domain4.tld", "10.17.18.1",
                   "2016-01-19T19:32:40+00:00"),
    "11": Expected(C, ARF, "abuse", "example.co.jp", None, "abuse@example.ed.jp",
                   "support@example.ed.jp", "192.0.2.89", "2009-04-29T00:00:00+00:00"),
    "12": Expected(C, ARF, "abuse", "example.co.jp", None, "abuse@example.ed.jp",
                   "support@example.ed.jp", "192.0.2.89", "2009-04-29T00:00:00+00:00"),
    "14": Expected(C, ARF, "abuse", "arf.mail.yahoo.com",
                   "WEB8daf12e7d45340df91f4dc4d66fb19f7@web8", "support@ourdomain.com",
                   "support@ourdomain.com", None, "2010-12-28T19:57:56+00:00"),
    "15": Expected(C, ARF, "abuse", "arf.mail.yahoo.com",
                   "000000000000000000000000.smtp@example.com", "shironeko@example.com",
                   "shironeko@example.com", None, "2013-04-30T07:45:50+00:00"),
    "17": Expected(C, ARF, "abuse", "Yahoo!-Mail-Feedback/2.0", None, None, "test1@example.com",
                   None, "2023-12-14T16:16:15+00:00"),
    "18": Expected(C, ARF, "abuse", "email-abuse.amazonses.com",
                   "2222222222222222-00000000-eeee-eeee-ffff-222222222222-111111@email.amazonses.com",
                   "kijitora@example.jp",
                   "2222222222222222-22222222-0000-eeee-ffff-222222222222-222222@amazonses.com",
                   None, "2017-04-29T23:34:45+00:00"),
    "19": Expected(C, ReportFormat.JMRP, "abuse", "hotmail.com",
                   "WEBfb154d7a03bb483591c696782382d12e@WEB", "support@ourdomain.com",
                   "support@ourdomain.com", "24.64.1.1"),
    "20": Expected(C, ReportFormat.JMRP, "abuse", "hotmail.com",
                   "0000000000fffffffff0000000000000@example.com", "sironeko@example.com", None,
                   "192.0.2.222"),
    "23": Expected(A, ARF, "auth-failure", "hotmail.com", "14501221e39.19ac.61b0b8@ismtpd-030",
                   "no-reply@sendgrid.net", "bounces+898596-fd77-foobar=sas.upenn.edu@sendgrid.net",
                   "128.91.234.50", "2014-03-27T01:23:11+00:00"),
    "24": Expected(C, ARF, "abuse", "comcastfbl.senderscore.net",
                   "WEB984880f6664cc4cfcb65239d134bfd9c7@web9", "support@ourdomain.com",
                   "support@ourdomain.com", "24.64.1.1", "2010-12-24T02:07:37+00:00"),
    "25": Expected(C, ARF, "abuse", "fbl.cox.net", "51ca092-66ab5-3a@domain3.tld",
                   "hallie_wilson@domain3.tld", "hallie_wilson@domain3.tld", "10.17.18.7",
                   "2015-12-21T22:52:30+00:00"),
    "26": Expected(C, ARF, "abuse", "feedback.bluetie.com", "f690adc-cf090-87@domain3.tld",
                   "madeleine_barry@domain3.tld", "madeleine_barry@domain3.tld", "10.17.18.3",
                   "2016-01-16T06:10:14+00:00"),
    "28": Expected(C, ARF, "abuse", "fbl.usa.net", "821TJNg7z9785S11@nm11.cms.usa.net",
                   "c92c34de884224fbae01bb3472c17c92@kjo.com.sa", "info@kjo.com.sa",
                   "10.17.18.23", "2015-10-14T06:59:38+00:00"),
    "30": Expected(C, ARF, "abuse", "rackspacefbl.senderscore.net", None, None,
                   "alice@example.com", "10.0.0.1", "2020-10-31T18:02:57+00:00"),
    "32": Expected(C, ARF, "abuse", "fbl.zoho.com", "004701d0e986$181bf800$4853e800$@com",
                   "orihuela@domain4.tld", "orihuela@domain4.tld", "10.17.18.28",
                   "2015-09-07T15:58:04+00:00"),
    "33": Expected(C, ARF, "abuse", "example.org",
                   "EEEEEEEE-0000-0000-0000-EEEEEEEE2222@example.net", "sironeko@example.jp",
                   "sironeko@example.jp", "192.0.2.3", "2016-04-29T23:34:45+00:00"),
    "35": Expected(A, ARF, "auth-failure", "example.com",
                   "000000002.2222222.1500000000022@example.net", "sironeko@example.org",
                   "sironeko@example.org", "192.0.2.222", "2015-04-29T23:34:45+00:00"),
    "36": Expected(A, ARF, "auth-failure", "126.example.com",
                   "000000000.2222222.0000000000002@example.net", "sironeko@example.net",
                   "sironeko@neko.example.com", "203.0.113.2", "2015-04-29T14:34:45+00:00"),
    "37": Expected(A, ARF, "auth-failure", "example.net", "000000000eee@example.net",
                   "sironeko@example.net", "dmarc-bounces@ietf.example.org", "203.0.113.2"),
    "38": Expected(A, ARF, "auth-failure", "box.mydomain.name", None,
                   "info@interpublication.org", "info@interpublication.org", "148.163.85.135"),
    "40": Expected(A, ARF, "auth-failure", "163.com",
                   "oguVx1AxQayV5Sv2nYK-rA@ismtpd0007p1las1.sendgrid.net", "info@cardinal.com",
                   "bounces+1137616-c1ad-xsj399=163.com@email.entrata.com", "167.89.69.24",
                   "2018-09-28T08:48:42+00:00"),
    "41": Expected(A, ARF, "auth-failure", "linkedin.com",
                   "01010101010101010101010101010101@ABAB01MS0016.someserver.loc",
                   "sender@example.com", None, "10.10.10.10", "2019-04-30T02:09:00+00:00"),
    "42": Expected(ReportKind.OTHER_REPORT, ReportFormat.DMARC, None,
                   "node01.mailgate.example.net",
                   "134117F8-2145-AECE-9CCA-25FC98731341@example.com", "user@example.com", None,
                   "203.0.113.68", "2025-04-07T21:16:09+00:00"),
    "46": Expected(ReportKind.OTHER_REPORT, ReportFormat.XARF, "regbot", "blocklist.de",
                   source_ip="10.0.2.150", arrival="2014-01-31T06:19:02+00:00",
                   has_original=False),
    "47": Expected(ReportKind.OTHER_REPORT, ReportFormat.XARF, "malware-attack", "cyscon.de",
                   arrival="2012-08-12T17:31:33+00:00", has_original=False),
    "48": Expected(ReportKind.OTHER_REPORT, ReportFormat.XARF, "scam", "tumblr.com",
                   arrival="2013-01-20T15:44:01+00:00", has_original=False),
    "49": Expected(C, ReportFormat.SES, "abuse", "sns.amazonaws.com",
                   "01010158992bd11e-d46429af-0ec9-4aaf-8503-6f7ca5832ca2-000000",
                   "kijitora@neko.example.jp", "kijitora@neko.example.jp", None,
                   "2016-11-25T01:49:01+00:00"),
    "50": Expected(OPT, ReportFormat.UNSUBSCRIBE, "opt-out", "icloud.com"),
    "51": Expected(ReportKind.NOT_A_REPORT, ReportFormat.DSN, None, "u1.em.example.jp",
                   "9UK8P757b8z3ZQM@u1.em.example.jp", "neko@mailmagazine.example.com",
                   "deadbeef@mailmagazine.example.com"),
}  # fmt: skip

RECIPIENTS: dict[str, tuple[str, ...]] = {
    "02": ("user@example.com",),
    "05": ("user@example.com",),
    "14": ("someuser@yahoo.com",),
    "19": ("somerecipient@hotmail.com",),
    "24": ("redacted@comcast.net",),
    "33": ("kijitora@example.com", "sabatora@example.net"),
    "49": ("complaint@simulator.amazonses.com",),
    "50": ("example@icloud.com",),
}


def corpus_files() -> list[Path]:
    return sorted(CORPUS.glob("*.eml"))


def test_the_corpus_is_there_and_every_file_has_an_expectation() -> None:
    numbers = {path.name[:2] for path in corpus_files()}
    assert len(numbers) == 39
    assert numbers == set(EXPECTED), f"no expectation for {sorted(numbers - set(EXPECTED))}"


@pytest.mark.parametrize("path", corpus_files(), ids=lambda path: path.name[:2])
def test_corpus_file_parses_as_expected(path: Path) -> None:
    expected = EXPECTED[path.name[:2]]
    report = parse_report(path.read_bytes())
    assert report.kind is expected.kind
    assert report.format is expected.format
    assert report.feedback_type == expected.feedback_type
    assert report.reporter == expected.reporter
    assert report.source_ip == expected.source_ip
    arrival = report.arrival_date.isoformat() if report.arrival_date else None
    assert arrival == expected.arrival
    if not expected.has_original:
        assert report.original is None
        return
    assert report.original is not None
    assert report.original.message_id == expected.message_id
    assert report.original.from_address == expected.from_address
    assert report.original.mail_from == expected.mail_from
    if path.name[:2] in RECIPIENTS:
        assert report.original.recipients == RECIPIENTS[path.name[:2]]


def _by_number(number: str) -> Report:
    (path,) = CORPUS.glob(f"{number}-*.eml")
    return parse_report(path.read_bytes())


def test_lf_and_crlf_twins_parse_identically() -> None:
    assert _by_number("11") == _by_number("12")


@pytest.mark.parametrize("path", corpus_files(), ids=lambda path: path.name[:2])
def test_line_endings_do_not_change_the_report(path: Path) -> None:
    lf = path.read_bytes().replace(b"\r\n", b"\n")
    assert parse_report(lf.replace(b"\n", b"\r")) == parse_report(lf)
    assert parse_report(lf.replace(b"\n", b"\r\n")) == parse_report(lf)


def test_arrival_dates_are_aware_utc() -> None:
    for path in corpus_files():
        arrival = parse_report(path.read_bytes()).arrival_date
        if arrival is not None:
            assert isinstance(arrival, datetime)
            assert arrival.utcoffset() is not None
            assert arrival.utcoffset().total_seconds() == 0  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("number", "note"),
    [
        ("02", "original message's header block is split by a blank line; rejoined"),
        ("10", "multipart truncated: closing boundary missing (in the original message)"),
        ("25", "2 Message-ID headers; using the sender's <51ca092-66ab5-3a@domain3.tld>"),
        ("30", "original message has no header fields (redacted or damaged)"),
        ("32", "original message is headers only"),
        ("41", "Original-Mail-From is the null sender"),
        ("47", "X-ARF Source '122.XXX.XXX.XXX' is not an IP address"),
        ("17", "the report has no From"),
    ],
)
def test_oddities_are_noted_for_reviewers(number: str, note: str) -> None:
    problems = _by_number(number).problems
    assert any(problem.startswith(note) for problem in problems), problems


def test_headers_only_originals_are_flagged() -> None:
    for number in ("04", "05", "06", "32", "36", "37", "38", "40", "42"):
        original = _by_number(number).original
        assert original is not None and original.headers_only, number
        assert original.body_excerpt is None
    original = _by_number("01").original
    assert original is not None and not original.headers_only


def test_original_details_survive_the_oddities() -> None:
    aol = _by_number("08").original
    assert aol is not None
    assert aol.subject == "【もらって嬉しい夏ケアセット3本入】今だけ無料プレゼント"
    assert aol.body_excerpt is not None and aol.body_excerpt.startswith(
        "いつもピューリタンズプライド"
    )
    truncated = _by_number("10").original
    assert truncated is not None and truncated.body_excerpt is not None
    assert (
        "<br>" not in truncated.body_excerpt and "Ati primit un voucher!" in truncated.body_excerpt
    )
    zoho = _by_number("32").original
    assert zoho is not None and zoho.received[1].with_protocol == "ESMTPA"
    assert [name for name, _ in zoho.headers][:3] == ["Delivered-To", "Received-SPF", "Return-Path"]
    continuation = _by_number("04").original
    assert continuation is not None and len(continuation.header_values("Received")) == 2
    yahoo = _by_number("14")
    assert (
        yahoo.original is not None and yahoo.original.header("X-RCPT-TO") == "<someuser@yahoo.com>"
    )
    assert yahoo.authentication_results == ()


def test_report_fields_beyond_the_basics() -> None:
    extended = _by_number("02")
    assert extended.reporting_mta == "mail.example.com"
    assert extended.reported_domains == ("example.net",)
    assert extended.reported_uris == (
        "http://example.net/earn_money.html",
        "mailto:user@example.com",
    )
    assert extended.removal_recipients == ("user@example.com",)
    assert extended.authentication_results == (
        "mail.example.com;                spf=fail smtp.mail=somespammer@example.com",
    )
    assert _by_number("03").auth_failure == "bodyhash"
    assert _by_number("23").version == "1.0"
    unsubscribe = _by_number("50")
    assert unsubscribe.outer_to == ("opt-out-100731.e75std53hz8rnmy4r@example.org",)
    assert _by_number("07").outer_from == "scomp@aol.net"
    assert _by_number("33").outer_message_id == "000000-FFFFFF-22-ARF"
