"""The parse stage's building blocks, on the small cases real reports taught us."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from abusedesk.parse import ReportFormat, ReportKind, parse_report, reader
from abusedesk.parse.addresses import extract_address, extract_addresses
from abusedesk.parse.dates import parse_date
from abusedesk.parse.ips import read_ip
from abusedesk.parse.normalize import normalise
from abusedesk.parse.text import decode_header_text


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("148.163.85.135 (sainay.interpublication.org)", "148.163.85.135"),
        ("[192.0.2.1]", "192.0.2.1"),
        ("IPv6:2001:db8::1", "2001:db8::1"),
        ("::ffff:203.0.113.68", "203.0.113.68"),
        ("x.x.x.x", None),
        ("122.XXX.XXX.XXX", None),
        ("AA.BB.CC.6", None),
        ("192.0.2.", None),
        ("", None),
    ],
)
def test_read_ip(value: str, expected: str | None) -> None:
    assert read_ip(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Thu, 8 Mar 2005 14:00:00 EDT", datetime(2005, 3, 8, 18, 0, tzinfo=UTC)),
        ("Thu, 9 Apr 2006 23:34:45 JST", datetime(2006, 4, 9, 14, 34, 45, tzinfo=UTC)),
        ("Tue, 5 Oct 2021 17:37:02 +1300 (NZDT)", datetime(2021, 10, 5, 4, 37, 2, tzinfo=UTC)),
        ("Thu, 30 Dec 10 10:37:16 -0800", datetime(2010, 12, 30, 18, 37, 16, tzinfo=UTC)),
        ("Thu, 30 Dec 2010 19:48:55 UT", datetime(2010, 12, 30, 19, 48, 55, tzinfo=UTC)),
        ("Tue, 19 Jan 2016 20:33:06 +0100 (CET)", datetime(2016, 1, 19, 19, 33, 6, tzinfo=UTC)),
    ],
)
def test_parse_date_reads_obsolete_zones_into_utc(value: str, expected: datetime) -> None:
    assert parse_date(value) == (expected, None)


@pytest.mark.parametrize(
    ("value", "expected", "note"),
    [
        ("2015-07-23T01:58:17+00:00", datetime(2015, 7, 23, 1, 58, 17, tzinfo=UTC), None),
        ("2015-07-23T01:58:17Z", datetime(2015, 7, 23, 1, 58, 17, tzinfo=UTC), None),
        ("2015-07-23t01:58z", datetime(2015, 7, 23, 1, 58, tzinfo=UTC), None),
        ("2015-07-23T03:58:17,5+0200", datetime(2015, 7, 23, 1, 58, 17, 500000, tzinfo=UTC), None),
        ("2015-07-22T20:58:17-05", datetime(2015, 7, 23, 1, 58, 17, tzinfo=UTC), None),
        ("2015-07-23 02:58:17 CET", datetime(2015, 7, 23, 1, 58, 17, tzinfo=UTC), None),
        ("2016-12-31T23:59:60Z", datetime(2016, 12, 31, 23, 59, 59, tzinfo=UTC), None),
        ("2015-07-23T01:58:17-00:00", datetime(2015, 7, 23, 1, 58, 17, tzinfo=UTC),
         "date '2015-07-23T01:58:17-00:00' has no time zone; read as UTC"),
        ("2015-07-23T01:58:17", datetime(2015, 7, 23, 1, 58, 17, tzinfo=UTC),
         "date '2015-07-23T01:58:17' has no time zone; read as UTC"),
        ("2015-07-23T01:58:17+24:00", None, "date '2015-07-23T01:58:17+24:00' cannot be read"),
        ("2015-07-23T01:58:17+01:75", None, "date '2015-07-23T01:58:17+01:75' cannot be read"),
        ("2015-02-29T01:58:17Z", None, "date '2015-02-29T01:58:17Z' cannot be read"),
        ("2015-07-23", None, "date '2015-07-23' cannot be read"),
        ("20150723T015817Z", None, "date '20150723T015817Z' cannot be read"),
    ],
)  # fmt: skip
def test_parse_date_reads_iso_8601(value: str, expected: datetime | None, note: str | None) -> None:
    assert parse_date(value) == (expected, note)


def test_parse_date_rejects_the_implausible() -> None:
    assert parse_date("Thu, 8 Mar 1990 14:00:00 +0000")[0] is None
    assert parse_date("Thu, 8 Mar 2999 14:00:00 +0000")[0] is None
    assert parse_date("yesterday, around noon")[0] is None
    assert parse_date(None) == (None, None)
    naive, note = parse_date("Tue, 19 Jan 2016 14:32:34")
    assert naive == datetime(2016, 1, 19, 14, 32, 34, tzinfo=UTC)
    assert note is not None and "no time zone" in note


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=?ISO-2022-JP?B?GyRCJVQlZSE8JWolPyVzJTolVyVpJSQlSRsoQg==?= redacted@SendersDomain.jp",
         "redacted@sendersdomain.jp"),
        ("Minna Abhil' <C92C@kjo.com.sa>", "c92c@kjo.com.sa"),
        ('"someuser@hotmail.com" <other@hotmail.com>', "other@hotmail.com"),
        ("undisclosed comcast recipient <redacted@comcast.net>", "redacted@comcast.net"),
        ("<Undisclosed Recipients>", None),
        ("<>", None),
        ("redacted@", None),
    ],
)  # fmt: skip
def test_extract_address(value: str, expected: str | None) -> None:
    assert extract_address(value) == expected


def test_extract_addresses_reads_lists_without_commas() -> None:
    assert extract_addresses("a@x.example, b@y.example\n c@z.example a@x.example") == [
        "a@x.example",
        "b@y.example",
        "c@z.example",
    ]


def test_decoded_headers_cannot_inject_lines() -> None:
    decoded = decode_header_text("=?utf-8?q?Hi=0D=0ABcc:_x@y.example?= =?x-bogus?q?=FF?=")
    assert decoded is not None and "\n" not in decoded and "\r" not in decoded
    assert decoded.startswith("Hi Bcc: x@y.example")


def test_normalise_strips_mbox_lines_and_blanks_whitespace_lines() -> None:
    result = normalise(b"\r\n>From someone Tue Jan 1 00:00:00 2016\r\nSubject: x\r\n \t\r\nbody\r")
    assert result.data == b"Subject: x\n\nbody\n"
    assert normalise(b"").problems == ("report is empty",)


def _arf(original: bytes, rfc822_headers: bytes = b"") -> bytes:
    return (
        b"From: fbl@isp.example\nSubject: report\nMIME-Version: 1.0\n"
        b'Content-Type: multipart/report; report-type=feedback-report; boundary="b"\n\n'
        b"--b\nContent-Type: message/feedback-report\n\nFeedback-Type: abuse\n"
        b"Original-Rcpt-To: <victim@isp.example>\n\n"
        b"--b\nContent-Type: message/rfc822\n" + rfc822_headers + b"\n" + original + b"\n--b--\n"
    )


def test_original_behind_quoted_mbox_line_and_two_message_ids() -> None:
    report = parse_report(
        _arf(
            b">From sender@shop.example Tue Jan 19 19:32:49 2016\n"
            b"Message-Id: <abc@isp.example>\nMessage-ID: <123@shop.example>\n"
            b"Return-Path: <>\nFrom: shop <sender@shop.example>\n\nhello\n"
        )
    )
    assert report.original is not None
    assert report.original.message_id == "123@shop.example"
    assert report.original.mail_from is None
    assert report.original.from_address == "sender@shop.example"
    assert any("using the sender's <123@shop.example>" in p for p in report.problems)


def test_quoted_printable_original_is_decoded() -> None:
    report = parse_report(
        _arf(
            b"From: a@shop.example\nSubject: =3D?\nMessage-ID: <q=3Dp@shop.example>\n\nbody=3D1\n",
            b"Content-Transfer-Encoding: quoted-printable\n",
        )
    )
    assert report.original is not None
    assert report.original.message_id == "q=p@shop.example"
    assert report.original.body_excerpt == "body=1"


def test_ses_notification_in_an_sns_envelope() -> None:
    inner = (
        '{"notificationType":"Complaint","complaint":{"complainedRecipients":'
        '[{"emailAddress":"r@isp.example"}],"complaintFeedbackType":"not-spam",'
        '"timestamp":"2024-05-01T10:00:00.000Z"},"mail":{"source":"s@shop.example",'
        '"sourceIp":"198.51.100.7","messageId":"0100abc","commonHeaders":{"from":'
        '["Shop <s@shop.example>"],"subject":"Hi"}}}'
    )
    envelope = '{"Type":"Notification","Message":' + __import__("json").dumps(inner) + "}"
    raw = b"From: no-reply@sns.amazonaws.com\nSubject: AWS Notification Message\n\n"
    report = parse_report(raw + envelope.encode())
    assert (report.kind, report.format) == (ReportKind.NOT_SPAM, ReportFormat.SES)
    assert report.source_ip == "198.51.100.7"
    assert report.original is not None and report.original.recipients == ("r@isp.example",)
    assert report.original.from_address == "s@shop.example"


def test_ordinary_mail_is_not_a_report() -> None:
    report = parse_report(b"From: friend@example.org\nSubject: lunch?\n\nAre you free today?\n")
    assert (report.kind, report.format) == (ReportKind.NOT_A_REPORT, ReportFormat.UNKNOWN)
    assert not report.counts_as_complaint


def test_a_failure_inside_becomes_a_reviewable_report(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*_: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(reader, "FORMAT_READERS", (broken,))
    report = parse_report(b"Subject: x\n\nbody")
    assert report.kind is ReportKind.OTHER_REPORT
    assert report.problems == ("the parser failed on this report: RuntimeError: boom",)
