"""Our own sample reports, for what the real corpus lacks (see SOURCES.md).

They are modelled on the corpus and on public examples of each format:
fraud, virus, not-spam and other ARF reports, a base64-encoded original, a
CFBL (RFC 9477) report, a recent JMRP, SpamCop reports, an end user's
forwarded spam, and a report built to attack whatever displays it; and on
corpus files changed into shapes real providers send that the corpus lacks:
a quoted-printable feedback-report part, a JMRP report flattened by a POP
forwarder, an X-ARF report dated in ISO 8601 (more of these in test_recall.py).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from abusedesk.parse import Report, ReportFormat, ReportKind, parse_report

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "reports"


def fixture(name: str) -> Report:
    return parse_report((FIXTURES / name).read_bytes())


@pytest.mark.parametrize(
    ("name", "kind", "feedback_type", "message_id"),
    [
        ("arf-fraud-phishing.eml", ReportKind.COMPLAINT, "fraud", "20250311091403.51aa"),
        ("arf-virus-attachment.eml", ReportKind.COMPLAINT, "virus", "20250311091403.77c1"),
        ("arf-not-spam.eml", ReportKind.NOT_SPAM, "not-spam", "20250311091403.9e02"),
        ("arf-other-with-spam-evidence.eml", ReportKind.COMPLAINT, "other", "20250311091403.0b3f"),
        ("arf-base64-original.eml", ReportKind.COMPLAINT, "abuse", "20250311091403.c0de"),
        ("cfbl-rfc9477-report.eml", ReportKind.COMPLAINT, "abuse", "20250311091403.f00d"),
    ],
)
def test_arf_feedback_types(
    name: str, kind: ReportKind, feedback_type: str, message_id: str
) -> None:
    report = fixture(name)
    assert report.format is ReportFormat.ARF
    assert report.kind is kind
    assert report.counts_as_complaint is (kind is ReportKind.COMPLAINT)
    assert report.feedback_type == feedback_type
    assert report.source_ip == "198.51.100.25"
    assert report.incidents == 1
    assert report.reporting_mta == "mx.recipient-isp.example"
    assert report.original is not None
    assert report.original.message_id == f"{message_id}@customer-shop.example"
    assert report.original.recipients == ("jane.doe@recipient-isp.example",)
    assert report.original.mail_from == "newsletter@customer-shop.example"


def test_other_without_spam_evidence_is_not_a_complaint() -> None:
    raw = (FIXTURES / "arf-other-with-spam-evidence.eml").read_bytes()
    raw = raw.replace(b"Abuse-Type: complaint\n", b"")
    raw = raw.replace(b"This is a spam complaint: a user of our service marked", b"A user flagged")
    raw = raw.replace(b"as\nunsolicited bulk mail.", b"for review.")
    raw = raw.replace(b"Subject: Complaint report", b"Subject: Feedback report")
    report = parse_report(raw)
    assert report.feedback_type == "other"
    assert report.kind is ReportKind.OTHER_REPORT


def test_base64_original_is_decoded_and_its_relay_hop_read() -> None:
    original = fixture("arf-base64-original.eml").original
    assert original is not None
    assert original.subject == "Weekly digest"
    assert original.from_address == "digest@customer-shop.example"
    assert original.body_excerpt == (
        "This week's digest: three new articles.\n>From the editor: thank you for reading."
    )
    assert original.received[1].authenticated_sender == "mbx-4412@customer-shop.example"
    assert original.received[1].queue_id == "4Wb9Xk0QnLz3xYq"


def test_cfbl_headers_reach_attribution() -> None:
    report = fixture("cfbl-rfc9477-report.eml")
    assert report.reporter == "recipient-isp.example"
    assert report.original is not None
    assert report.original.header("CFBL-Address") == "fbl@mailhost.example; report=arf"
    assert (
        report.original.header("cfbl-feedback-id") == "4412:customer-shop.example:march-newsletter"
    )


def test_recent_jmrp_prefers_the_hmxmr_recipient() -> None:
    report = fixture("jmrp-2024-outlook.eml")
    assert (report.kind, report.format, report.reporter) == (
        ReportKind.COMPLAINT, ReportFormat.JMRP, "hotmail.com"
    )  # fmt: skip
    assert report.source_ip == "198.51.100.25"
    assert report.original is not None
    assert report.original.recipients == ("alex.k@outlook.com",)
    assert report.original.subject == "Frühlingsangebote"
    assert report.original.mail_from == "news@customer-shop.example"
    assert report.original.received[1].authenticated_sender == "news@customer-shop.example"


def test_forwarded_spam_is_a_complaint_by_the_forwarder() -> None:
    report = fixture("forwarded-spam-by-user.eml")
    assert (report.kind, report.format, report.feedback_type) == (
        ReportKind.COMPLAINT, ReportFormat.FORWARDED, "abuse"
    )  # fmt: skip
    assert report.reporter == "webmail-user.example"
    assert report.outer_from == "peter.miller@webmail-user.example"
    assert report.original is not None
    assert report.original.recipients == ("peter.miller@webmail-user.example",)
    assert report.original.message_id == "5f1c2e90.7a3b@prize-draw.example"
    assert report.original.body_excerpt is not None
    assert "1,95 € shipping" in report.original.body_excerpt


def test_a_forward_without_the_spam_attached_is_not_a_complaint() -> None:
    raw = (FIXTURES / "forwarded-spam-by-user.eml").read_bytes()
    raw = raw.replace(b"Content-Type: message/rfc822;", b"Content-Type: text/plain;")
    assert parse_report(raw).kind is ReportKind.NOT_A_REPORT


@pytest.mark.parametrize(
    ("name", "source_ip", "arrival", "message_id"),
    [
        ("spamcop-pasted-spam.eml", "198.51.100.25", "2025-03-11T09:05:12+00:00",
         "20250311100508.4471@cheap-meds.example"),
        ("spamcop-attached-spam.eml", "198.51.100.24", "2025-03-11T11:48:33+00:00",
         "7a61e3.parcel@parcel-notice.example"),
    ],
)  # fmt: skip
def test_spamcop_reports(name: str, source_ip: str, arrival: str, message_id: str) -> None:
    report = fixture(name)
    assert (report.kind, report.format, report.feedback_type) == (
        ReportKind.COMPLAINT, ReportFormat.SPAMCOP, "abuse"
    )  # fmt: skip
    assert report.reporter == "reports.spamcop.net"
    assert report.source_ip == source_ip
    assert report.arrival_date is not None and report.arrival_date.isoformat() == arrival
    assert report.original is not None and report.original.message_id == message_id
    assert report.original.recipients == ()


def test_hostile_subject_and_html_body_are_defused() -> None:
    report = fixture("arf-hostile-subject-injection.eml")
    original = report.original
    assert original is not None
    assert original.subject is not None
    # The CR LF inside the encoded-words is gone: the subject can never start
    # a header of its own when a notice quotes it.
    assert "\r" not in original.subject and "\n" not in original.subject
    assert original.subject.startswith("Win big Bcc: all@victims.example <script>")
    # Markup in a subject is text, kept as written for escaping on output.
    assert "<img src=x onerror=alert(1)> X-Injected: yes" in original.subject
    assert original.from_address == "promo@customer-shop.example"
    assert original.body_excerpt == "Click here to claim your prize & more"
    for name, value in original.headers:
        assert "\n" not in name + value and "\r" not in name + value


def test_quoted_printable_feedback_report_is_decoded() -> None:
    report = fixture("arf-quoted-printable-feedback-report.eml")
    assert (report.kind, report.format, report.feedback_type) == (
        ReportKind.COMPLAINT, ReportFormat.ARF, "abuse"
    )  # fmt: skip
    assert report.reporter == "fbl.cox.example"
    assert report.user_agent == "ReturnPathFBL/1.0"
    assert report.source_ip == "198.51.100.25"
    assert report.arrival_date is not None
    assert report.arrival_date.isoformat() == "2015-12-21T22:52:30+00:00"
    # The soft-broken field is whole again and its =3D are = signs.
    assert report.authentication_results == (
        "fed1rmimpi210.cox.example; spf=pass smtp.mailfrom=newsletter@customer-shop.example;"
        " dkim=pass header.d=customer-shop.example",
    )
    assert report.reported_domains == ("cox.example",)
    assert report.original is not None
    assert report.original.recipients == ("275b86f68f4c15e341a5188e416c44b6@cox.example",)
    assert report.original.mail_from == "newsletter@customer-shop.example"
    assert report.original.received[2].authenticated_sender == "newsletter@customer-shop.example"
    assert report.problems == ()


def test_flattened_jmrp_is_rebuilt_and_read_as_jmrp() -> None:
    report = fixture("jmrp-flattened-by-pop-forward.eml")
    assert (report.kind, report.format, report.feedback_type, report.reporter) == (
        ReportKind.COMPLAINT, ReportFormat.JMRP, "abuse", "hotmail.com"
    )  # fmt: skip
    assert report.source_ip == "198.51.100.25"
    # The outer facts are the report's alone: the complainant, who is only in
    # the original's To, does not become a recipient of the report.
    assert report.outer_to == ("jmrp@mailhost.example",)
    assert report.outer_message_id == "BAY0-OMC2-S15EXxt5B0006c5b9@bay0-omc2-s15.bay0.hotmail.com"
    original = report.original
    assert original is not None
    assert original.headers[0] == ("X-HmXmrOriginalRecipient", "pat.m@hotmail.com")
    assert original.recipients == ("pat.m@hotmail.com",)
    assert original.message_id == "WEBfb154d7a03bb483591c696782382d12e@customer-shop.example"
    assert original.from_address == original.mail_from == "support@customer-shop.example"
    assert original.subject == "Season's Greetings from Customer Shop"
    assert original.body_excerpt == "Season's Greetings – and 20% off everything until Sunday."
    # Only the original's hops: the forwarder's and Microsoft's outbound ones
    # stay with the report, so the top hop is the provider's receipt.
    assert [(hop.from_ip, hop.by_host) for hop in original.received] == [
        ("198.51.100.25", "snt0-mc2-f47.Snt0.hotmail.com"),
        ("203.0.113.77", "relay-out2.mailhost.example"),
    ]
    assert original.received[1].authenticated_sender == "support@customer-shop.example"
    assert original.received[1].queue_id == "3F1C22A0B7"
    assert report.problems == (
        "the report's MIME structure was flattened on its way here (the JMRP report's and "
        "the original's header fields ran together in one block); split at "
        "X-HmXmrOriginalRecipient and rebuilt",
    )


def test_xarf_date_in_iso_8601_is_the_arrival_date() -> None:
    report = fixture("xarf-iso8601-date.eml")
    assert (report.kind, report.format, report.feedback_type, report.reporter) == (
        ReportKind.OTHER_REPORT, ReportFormat.XARF, "regbot", "blocklist.example"
    )  # fmt: skip
    assert report.source_ip == "203.0.113.150"
    assert report.arrival_date is not None
    assert report.arrival_date.isoformat() == "2015-07-23T01:58:17+00:00"
    assert report.problems == ()
