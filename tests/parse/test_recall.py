"""Three shapes real providers send that the parser used to refuse or misread.

A `message/feedback-report` part sent quoted-printable, a Microsoft JMRP report
whose MIME structure a POP forwarder flattened, and an X-ARF report dated in
ISO 8601. Each is read now, but only where the evidence is there: a plain part
reads exactly as before, a damaged encoding is not guessed at, and a message
that only pretends to be a flattened JMRP report is not called one. The
fixtures they start from are in fixtures/reports/ (see test_fixtures.py).
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import pytest

from abusedesk.parse import Report, ReportFormat, ReportKind, parse_report
from abusedesk.parse.flattened import FLATTENED_NOTE, is_microsoft_hop
from abusedesk.parse.mime import looks_quoted_printable, quoted_printable_damage

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "reports"
CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpus" / "arf"
QP = (FIXTURES / "arf-quoted-printable-feedback-report.eml").read_bytes()
JMRP = (FIXTURES / "jmrp-flattened-by-pop-forward.eml").read_bytes()
XARF = (FIXTURES / "xarf-iso8601-date.eml").read_bytes()
QP_MARK = b"Content-Transfer-Encoding: quoted-printable\nContent-Type: message/feedback-report\n"
QP_FIELDS_START = b"User-Agent: ReturnPathFBL/1.0\nAbuse-Type: complaint\n"
UNDECODED_NOTE = "feedback report is quoted-printable without saying so; decoded"
SECONDS_FOR_A_HUGE_INPUT = 2.0


def replaced(raw: bytes, old: bytes, new: bytes) -> bytes:
    assert old in raw, old
    return raw.replace(old, new)


def timed_parse(raw: bytes) -> Report:
    started = time.perf_counter()
    report = parse_report(raw)
    elapsed = time.perf_counter() - started
    assert elapsed < SECONDS_FOR_A_HUGE_INPUT, f"{elapsed:.2f}s for {len(raw)} bytes"
    return report


# --- a quoted-printable feedback-report part ------------------------------------------


def unmarked(raw: bytes) -> bytes:
    return replaced(raw, QP_MARK, b"Content-Type: message/feedback-report\n")


def test_an_unmarked_quoted_printable_part_reads_like_the_marked_one() -> None:
    marked, plain_label = parse_report(QP), parse_report(unmarked(QP))
    assert plain_label.problems == (UNDECODED_NOTE,)
    assert dataclasses.replace(plain_label, problems=()) == marked
    assert marked.feedback_type == "abuse" and marked.source_ip == "198.51.100.25"


def test_decoding_undoes_escapes_and_keeps_what_follows_a_soft_break() -> None:
    escaped = replaced(
        QP,
        QP_FIELDS_START,
        b"User-Agent: ReturnPathFBL/1.0 =E2=80=93 Cox=\n Feedback Loop=20\nAbuse-Type: complaint\n",
    )
    report = parse_report(escaped)
    # The soft break before a space keeps the space; =20 is a trailing space.
    assert report.user_agent == "ReturnPathFBL/1.0 – Cox Feedback Loop"
    assert report.kind is ReportKind.COMPLAINT


@pytest.mark.parametrize(
    ("field", "why"),
    [
        # A plain field may end in "=" (base64 ids do) when the next line is a field.
        (b"Original-Envelope-Id: MTIzNDU2Nzg=\n", "no soft break"),
        # "=3D" in a plain part that is not valid quoted-printable (spf=pass).
        (b"Authentication-Results: mx.cox.example; spf=pass\nReported-URI: "
         b"http://customer-shop.example/?a=3Db\n", "not valid"),
        # Lowercase hex is no encoder's escape: plain text such as "spf=fail".
        (b"Authentication-Results: mx.cox.example; spf=fail smtp.mailfrom=3D\n", "lowercase"),
    ],
)  # fmt: skip
def test_a_plain_part_with_equals_signs_reads_as_written(field: bytes, why: str) -> None:
    plain_fields = (
        b"User-Agent: ReturnPathFBL/1.0\nAbuse-Type: complaint\n" + field + b"Arrival-Date: Mon,"
        b" 21 Dec 2015 22:52:30 +0000\nFeedback-Type: abuse\nSource-IP: 198.51.100.25\n\n"
    )
    start = QP.index(QP_FIELDS_START)
    end = QP.index(b"\n--_", start) + 1
    raw = unmarked(QP[:start] + plain_fields + QP[end:])
    report = parse_report(raw)
    assert UNDECODED_NOTE not in report.problems, why
    assert (report.kind, report.feedback_type, report.source_ip) == (
        ReportKind.COMPLAINT, "abuse", "198.51.100.25"
    )  # fmt: skip
    if b"Reported-URI" in field:
        assert report.reported_uris == ("http://customer-shop.example/?a=3Db",)
    if b"spf=fail" in field:
        assert report.authentication_results == ("mx.cox.example; spf=fail smtp.mailfrom=3D",)


def test_a_part_marked_quoted_printable_but_damaged_is_not_guessed_at() -> None:
    # "=ZZ" is no escape: the text is read as written and a reviewer is told
    # why. The soft break then hides Feedback-Type, so it is no complaint.
    damaged = replaced(QP, b"spf=3Dpass", b"spf=ZZpass")
    report = parse_report(damaged)
    assert report.kind is ReportKind.OTHER_REPORT and not report.counts_as_complaint
    assert report.feedback_type is None
    assert (
        "feedback report is marked quoted-printable but is not ('=ZZ' at character 106 is no "
        "escape); read as written"
    ) in report.problems
    assert "feedback report has no Feedback-Type" in report.problems


def test_a_mislabelled_plain_part_still_reads() -> None:
    # Marked quoted-printable, written plain (spf=fail would decode to a stray
    # byte): read as written, with the note.
    start = QP.index(QP_FIELDS_START)
    end = QP.index(b"\n--_", start) + 1
    plain_fields = (
        b"Authentication-Results: mx.cox.example; spf=fail\nFeedback-Type: abuse\n"
        b"Source-IP: 198.51.100.25\n\n"
    )
    report = parse_report(QP[:start] + plain_fields + QP[end:])
    assert (report.kind, report.feedback_type) == (ReportKind.COMPLAINT, "abuse")
    assert report.authentication_results == ("mx.cox.example; spf=fail",)
    assert any(
        p.startswith("feedback report is marked quoted-printable but") for p in report.problems
    )


def test_escapes_of_control_bytes_never_reach_a_field() -> None:
    hostile = replaced(QP, QP_FIELDS_START, b"User-Agent: a=00b=0D=0AX-Injected: yes=FF=\n\n")
    report = parse_report(hostile)
    assert report.user_agent is not None
    assert "\x00" not in report.user_agent and "\n" not in report.user_agent


@pytest.mark.parametrize(
    ("text", "damage", "looks"),
    [
        ("Feedback-Type: abuse\nUser-Agent: x=\ny\n", None, True),
        ("A: spf=3Dpass\n", None, True),
        ("A: spf=pass\n", "'=pa' at character 6 is no escape", False),
        ("A: dkim=fail\n", "'=fa' at character 7 is no escape", False),
        ("A: MTIz=\nB: c\n", None, False),
        ("A: b=\n  folded\n", None, False),
        ("A: plain\n", None, False),
        ("A: x=3D=\n", None, True),
        ("A: trailing=", None, False),
    ],
)
def test_telling_quoted_printable_from_plain_text(
    text: str, damage: str | None, looks: bool
) -> None:
    assert quoted_printable_damage(text) == damage
    assert looks_quoted_printable(text) is looks


def test_huge_quoted_printable_parts_stay_linear() -> None:
    for filler in (b"a=\n" * 400_000, b"=3D" * 1_200_000, b"=\n" + b"b" * 3_500_000):
        for raw in (QP, unmarked(QP)):
            huge = replaced(raw, b"Reported-Domain: cox.example\n", b"X-Long: " + filler + b"\n")
            report = timed_parse(huge)
            assert report.feedback_type == "abuse"


# --- a JMRP report flattened by a forwarder ---------------------------------------------

REPORT_STRUCTURE = (
    b'Content-Type: multipart/mixed; boundary="A80427F4-B4F2-4D64-BECA-12CAD20DE5F5"\n'
)
PART_STRUCTURE = b"Content-Type: message/rfc822\nContent-Disposition: inline\n"
MICROSOFT_HOPS = (
    b"Received: from bay0-omc2-s15.bay0.hotmail.com ([65.54.190.90])\n"
    b"  by mx1.mailhost.example with ESMTP; 30 Dec 2010 10:37:17 -0800\n"
    b"Received: from BAY0-JMR-DB02 ([65.54.190.125]) by bay0-omc2-s15.bay0.hotmail.com with"
    b" Microsoft SMTPSVC(6.0.3790.4675);\n\t Thu, 30 Dec 2010 10:37:16 -0800\n"
)
RECIPIENT = b"X-HmXmrOriginalRecipient: pat.m@hotmail.com\n"


def test_without_any_structure_fields_the_original_is_the_same() -> None:
    # No wrapper Content-Type left at all: the stdlib reads the original's own
    # multipart/alternative at the top, and the rebuilt original is the same.
    bare = replaced(replaced(JMRP, REPORT_STRUCTURE, b""), PART_STRUCTURE, b"")
    report, expected = parse_report(bare), parse_report(JMRP)
    assert report == expected


def test_line_endings_do_not_change_the_rebuilt_report() -> None:
    assert parse_report(JMRP.replace(b"\n", b"\r\n")) == parse_report(JMRP)


def test_a_recent_jmrp_flattened_the_same_way_is_read_too() -> None:
    recent = (FIXTURES / "jmrp-2024-outlook.eml").read_bytes()
    head, _, rest = recent.partition(b"\n\n")
    _, _, inside = rest.partition(b"Content-Disposition: inline\n\n")
    flattened = head + b"\n" + inside.rpartition(b"\n--4c8d1e0f")[0] + b"\n"
    report, intact = parse_report(flattened), parse_report(recent)
    assert FLATTENED_NOTE in report.problems
    assert (report.kind, report.format, report.source_ip) == (
        ReportKind.COMPLAINT, ReportFormat.JMRP, "198.51.100.25"
    )  # fmt: skip
    assert report.original == intact.original


@pytest.mark.parametrize(
    ("name", "old", "new"),
    [
        ("no X-HmXmrOriginalRecipient", RECIPIENT, b""),
        ("no Microsoft hop above it", MICROSOFT_HOPS,
         b"Received: from mx.forger.example ([203.0.113.9]) by pop.mailhost.example with ESMTP;"
         b" 30 Dec 2010 10:37:17 -0800\n"),
        ("Microsoft named only outside a from or by clause", MICROSOFT_HOPS,
         b"Received: from mx.forger.example (HELO bay0-jmr-db02.hotmail.com) ([203.0.113.9])\n"
         b"  by pop.mailhost.example with ESMTP id hotmail.com for <x@outlook.com>;"
         b" 30 Dec 2010 10:37:17 -0800\n"),
        ("a look-alike domain", b"bay0-omc2-s15.bay0.hotmail.com",
         b"bay0-omc2-s15.bay0.hotmail.com.forger.example"),
    ],
)  # fmt: skip
def test_a_message_that_only_pretends_is_not_called_jmrp(name: str, old: bytes, new: bytes) -> None:
    pretender = replaced(JMRP, old, new)
    if old != MICROSOFT_HOPS:
        pretender = pretender.replace(b"BAY0-JMR-DB02", b"mx.forger.example")
    report = parse_report(pretender)
    assert report.format is not ReportFormat.JMRP, name
    assert not report.counts_as_complaint, name
    assert FLATTENED_NOTE not in report.problems


def test_microsoft_hops_only_inside_the_original_do_not_count() -> None:
    # The original's own hops (here the provider's receipt by *.hotmail.com)
    # are below the cut; only the report's hops above it say what it is.
    forged = replaced(JMRP, MICROSOFT_HOPS, b"").replace(b"BAY0-JMR-DB02", b"mx.forger.example")
    report = parse_report(forged)
    assert report.format is not ReportFormat.JMRP and not report.counts_as_complaint


def test_the_field_on_top_with_nothing_above_it_is_not_a_cut() -> None:
    start = JMRP.index(RECIPIENT)
    raw = RECIPIENT + MICROSOFT_HOPS + JMRP[start + len(RECIPIENT) :]
    report = parse_report(raw)
    assert FLATTENED_NOTE not in report.problems and report.format is not ReportFormat.JMRP


def test_an_intact_jmrp_report_is_left_alone() -> None:
    # X-HmXmrOriginalRecipient on the outer header of an intact report: its
    # own multipart survived, so nothing is rebuilt.
    (path,) = CORPUS.glob("19-*.eml")
    raw = path.read_bytes()
    marked = replaced(raw, b"X-OriginalArrivalTime: 30 Dec 2010 18:37:16", RECIPIENT.rstrip(b"\n")
                      + b"\nX-OriginalArrivalTime: 30 Dec 2010 18:37:16")  # fmt: skip
    assert parse_report(marked) == parse_report(raw)


@pytest.mark.parametrize(
    ("received", "expected"),
    [
        ("from BAY0-JMR-DB02 ([65.54.190.125]) by bay0-omc2-s15.bay0.hotmail.com", True),
        ("from SN7PR19MB4685.namprd19.prod.outlook.com (2603:10b6:806:10a::9) by x.example", True),
        ("from COL004-JMR-1 by mx.example", True),
        ("from mx.example (hotmail.com [192.0.2.1]) by mx2.example", False),
        ("from mx.example by hotmail.com.forger.example", False),
        ("from notoutlook.com by mx.example", False),
        ("by " * 5000, False),
    ],
)
def test_what_counts_as_a_microsoft_hop(received: str, expected: bool) -> None:
    assert is_microsoft_hop(received) is expected


def test_huge_flattened_blocks_stay_linear() -> None:
    long_hop = b"Received: from " + b"by " * 300_000 + b"\n"
    cases = [
        replaced(JMRP, RECIPIENT, RECIPIENT + b"X-Pad: a\n" * 100_000),
        replaced(JMRP, RECIPIENT, RECIPIENT * 50_000),
        replaced(JMRP, b"Date: Thu, 30 Dec 10", long_hop * 3 + b"Date: Thu, 30 Dec 10"),
        replaced(JMRP, b"Date: Thu, 30 Dec 10", MICROSOFT_HOPS * 400 + b"Date: Thu, 30 Dec 10"),
        replaced(JMRP, b"\n\n--_=aspNetEmail", b"\n\n" + b"Spam\n" * 900_000 + b"--_=aspNetEmail"),
    ]
    for raw in cases:
        report = timed_parse(raw)
        assert report.format is ReportFormat.JMRP
    # Fields beyond the first thousand are not searched for the cut.
    padded = replaced(JMRP, b"Date: Thu, 30 Dec 10", b"X-Pad: a\n" * 2000 + b"Date: Thu, 30 Dec 10")
    assert timed_parse(padded).format is not ReportFormat.JMRP


# --- an X-ARF report dated in ISO 8601 --------------------------------------------------

XARF_DATE = b"Date: 2015-07-23T01:58:17+00:00\n"


@pytest.mark.parametrize(
    ("date", "arrival"),
    [
        (b"2015-07-23T01:58:17Z", "2015-07-23T01:58:17+00:00"),
        (b"2015-07-23T01:58Z", "2015-07-23T01:58:00+00:00"),
        (b"2015-07-23T03:58:17.25+02:00", "2015-07-23T01:58:17.250000+00:00"),
        (b"'2015-07-22T21:58:17-0400'", "2015-07-23T01:58:17+00:00"),
        (b"2015-07-23 01:58:17 +00:00", "2015-07-23T01:58:17+00:00"),
    ],
)
def test_xarf_iso_dates_in_their_variations(date: bytes, arrival: str) -> None:
    report = parse_report(replaced(XARF, XARF_DATE, b"Date: " + date + b"\n"))
    assert report.arrival_date is not None and report.arrival_date.isoformat() == arrival
    assert report.problems == ()


def test_an_xarf_spam_report_with_an_iso_date_is_a_dated_complaint() -> None:
    spam = replaced(XARF, b"Report-Type: regbot\n", b"Report-Type: spam\n")
    report = parse_report(spam)
    assert (report.kind, report.feedback_type) == (ReportKind.COMPLAINT, "spam")
    assert report.arrival_date is not None
    assert report.arrival_date.isoformat() == "2015-07-23T01:58:17+00:00"


@pytest.mark.parametrize(
    ("date", "note"),
    [
        (b"2015-07-23T01:58:17", "has no time zone; read as UTC"),
        (b"2015-13-23T01:58:17Z", "cannot be read"),
        (b"2015-07-23", "cannot be read"),
        (b"2999-07-23T01:58:17Z", "is implausible"),
        (b"2015-07-23T01:58:17Z" + b"0" * 100_000, "cannot be read"),
    ],
)
def test_unusable_xarf_iso_dates_are_noted(date: bytes, note: str) -> None:
    report = timed_parse(replaced(XARF, XARF_DATE, b"Date: " + date + b"\n"))
    assert any(p.startswith("X-ARF Date: date") and p.endswith(note) for p in report.problems)
    if note != "has no time zone; read as UTC":
        assert report.arrival_date is None
