"""The dedupe key: one report has one key however it travelled; an edited header is noticed."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from tests.conftest import CORPUS, FIXTURES
from tests.support.reports import numbered_report

from abusedesk.parse import parse_report
from abusedesk.parse.mime import parse_bytes
from abusedesk.parse.normalize import normalise
from abusedesk.record.identity import (
    SINGLETON_FIELDS,
    KeyKind,
    ReportIdentity,
    outer_fields,
    report_identity,
)

REPORT = numbered_report(1)


def identity(raw: bytes) -> ReportIdentity:
    return report_identity(parse_report(raw), raw)


def test_a_report_is_counted_by_its_message_id_however_it_travelled() -> None:
    plain = identity(REPORT)
    assert plain.kind is KeyKind.MESSAGE_ID and plain.key.startswith("mid:")
    assert plain.counted_by == ("message-id", "from") and plain.problem is None
    by_imap = (
        b"Return-Path: <fbl@arf.mail.yahoo.example>\r\n"
        b"Delivered-To: fbl@abusedesk.example\r\n"
        b"Received: from mx.abusedesk.example by imap.abusedesk.example; 4 Dec 2026 10:00 +0000\r\n"
        + REPORT.replace(b"\n", b"\r\n")
    )
    assert identity(by_imap).key == plain.key
    assert identity(numbered_report(2)).key != plain.key


@pytest.mark.parametrize("name", list(SINGLETON_FIELDS.values()))
def test_a_repeated_singleton_field_makes_the_content_the_key(name: str) -> None:
    edited = f"{name}: added by whoever had a copy\n".encode() + REPORT
    if name.lower() not in outer_fields(REPORT):  # the report has none yet: give it two
        edited = f"{name}: one\n".encode() + edited
    found = identity(edited)
    assert found.kind is KeyKind.CONTENT and found.key.startswith("body:")
    assert found.repeated == (name,) and found.counted_by == ()
    assert found.problem == (
        f"the report's own header has 2 {name} fields, which RFC 5322 allows once: it was "
        "edited after it was written, so it is counted by its content, not by its Message-ID"
    )
    noted = found.noted(parse_report(edited))
    assert noted.problems[-1] == found.problem
    assert noted.problems[:-1] == parse_report(edited).problems


def test_every_edit_of_one_report_has_one_content_key() -> None:
    edits = [
        b"Message-ID: <replay-1@attacker.example>\n",
        b"Message-ID: <replay-2@attacker.example>\nDate: Sat, 5 Dec 2026 09:00:00 +0000\n",
        b"Subject: Re: prepended\nReceived: from x by y; 5 Dec 2026 09:00 +0000\n",
        b"From: other@provider.example\n",
    ]
    keys = {identity(edit + REPORT).key for edit in edits}
    assert len(keys) == 1
    assert keys != {identity(REPORT).key}  # not the Message-ID key: that is not believed
    assert identity(b"Subject: x\n" + numbered_report(2)).key not in keys


def test_fields_that_may_repeat_keep_the_message_id_key() -> None:
    edited = b"Received: from a by b; 4 Dec 2026 10:00 +0000\nComments: one\nComments: two\n"
    assert identity(edited + REPORT).key == identity(REPORT).key


def test_a_message_id_that_is_no_address_or_missing_gives_a_content_key() -> None:
    without = REPORT.replace(b"Message-ID: <report-1@arf.mail.yahoo.example>\n", b"")
    no_at = REPORT.replace(b"<report-1@arf.mail.yahoo.example>", b"<report-1>")
    for raw in (without, no_at):
        found = identity(raw)
        assert found.kind is KeyKind.CONTENT and found.problem is None


def test_the_header_ends_where_the_parser_ends_it() -> None:
    assert outer_fields(b"From x@y Fri Dec  4 10:00:00 2026\nA: 1\n  folded\nB: 2\n \nC: 3\n") == (
        "a",
        "b",
    )
    assert outer_fields(b"A: 1\nnot a field\nB: 2\n\n") == ("a",)


def test_corpus_and_fixture_headers_read_as_the_parser_reads_them() -> None:
    paths = sorted(CORPUS.glob("*.eml")) + sorted(FIXTURES.rglob("*.eml"))
    assert len(paths) > 40
    for path in paths:
        raw = path.read_bytes()
        assert outer_fields(raw) == parser_fields(raw), path.name


def parser_fields(raw: bytes) -> tuple[str, ...]:
    return tuple(name.lower() for name in parse_bytes(normalise(raw).data))


_LINES = st.sampled_from(
    [
        "Message-ID: <a@b.example>",
        "Subject: x",
        "X-Y:z",
        "From: a@b.example",
        "From mbox-line",
        ">From quoted",
        " continued",
        "\tcontinued",
        " ",
        "\t ",
        "",
        "no field here",
        "Bad Name: x",
        ":nameless",
        "To: a@b.example",
    ]
)


@given(st.lists(_LINES, max_size=12), st.sampled_from(["\n", "\r\n", "\r"]))
def test_any_header_reads_as_the_parser_reads_it(lines: list[str], newline: str) -> None:
    raw = newline.join([*lines, "", "body"]).encode()
    assert outer_fields(raw) == parser_fields(raw)


def test_two_flattened_jmrp_complaints_about_one_message_count_twice() -> None:
    # Flattened, the report's own fields run into the original's, so everything "below
    # the header" is the original's body: the same for every complaint about it.
    raw = (FIXTURES / "reports" / "jmrp-flattened-by-pop-forward.eml").read_bytes()
    other = raw.replace(b"X-HmXmrOriginalRecipient: ", b"X-HmXmrOriginalRecipient: x", 1)
    assert other != raw

    first, second = identity(raw), identity(other)

    assert first.kind is KeyKind.CONTENT
    assert first.key != second.key
    assert identity(raw.replace(b"\n", b"\r\n")).key == first.key
