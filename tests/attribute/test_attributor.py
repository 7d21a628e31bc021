"""attribute_report on hand-built chains: what is trusted, what is refused, and why."""

from __future__ import annotations

import pytest
from tests.attribute.conftest import HostedDirectory, build_report, report_from_headers

from abusedesk.attribute import (
    AttributionMethod,
    AttributionOutcome,
    Confidence,
    attribute_report,
)
from abusedesk.config import AttributionSettings
from abusedesk.parse.report import Report, ReportFormat, ReportKind

RELAY1 = "relay1.out.hostingplatform.example"
RELAY2 = "relay2.out.hostingplatform.example"
YAHOO_MX = "mta1000.mail.yahoo.example"


def relay_hop(
    sender: str | None = "alice@shop.example",
    *,
    by: str = RELAY1,
    queue_id: str = "4Xk2Lq0fZbz9v",
    client: str = "[192.168.1.20] (dsl-203-0-113-7.example.net [203.0.113.7])",
    date: str = "Thu, 26 Nov 2026 10:01:02 +0000 (UTC)",
) -> str:
    auth = f"\r\n\t(Authenticated sender: {sender})" if sender else ""
    return (
        f"from {client}{auth}\r\n\tby {by} (Postfix) with ESMTPSA id {queue_id}\r\n"
        f"\tfor <someone@yahoo.example>; {date}"
    )


def provider_hop(
    *,
    helo: str = RELAY1,
    rdns: str = RELAY1,
    ip: str = "198.51.100.5",
    by: str = YAHOO_MX,
    date: str = "Thu, 26 Nov 2026 10:01:04 +0000",
) -> str:
    return f"from {helo} ({rdns} [{ip}])\r\n\tby {by} with ESMTPS id 7f3a9; {date}"


def attributed(outcome: AttributionOutcome) -> tuple[str, AttributionMethod, Confidence]:
    assert outcome.attribution is not None, outcome.reason
    assert outcome.reason is None
    attribution = outcome.attribution
    return attribution.mailbox, attribution.method, attribution.confidence


def refused(outcome: AttributionOutcome) -> str:
    assert outcome.attribution is None
    assert outcome.reason
    return outcome.reason


def test_relay_hop_confirmed_by_provider(
    settings: AttributionSettings, directory: HostedDirectory
) -> None:
    report = build_report([provider_hop(), relay_hop()], [("From", "alice@shop.example")])

    outcome = attribute_report(report, settings, directory)

    assert attributed(outcome) == (
        "alice@shop.example",
        AttributionMethod.RELAY_RECEIVED,
        Confidence.HIGH,
    )
    assert outcome.attribution is not None
    assert outcome.attribution.queue_id == "4Xk2Lq0fZbz9v"
    assert outcome.attribution.relay == RELAY1
    evidence = outcome.attribution.evidence
    assert "Authenticated sender: alice@shop.example" in evidence
    assert "198.51.100.5" in evidence
    assert YAHOO_MX in evidence


def test_mixed_case_sender_is_lowercased(
    settings: AttributionSettings, directory: HostedDirectory
) -> None:
    report = build_report([provider_hop(), relay_hop("Carol.Baker@Bakery.Example")])

    assert attributed(attribute_report(report, settings, directory))[0] == (
        "carol.baker@bakery.example"
    )


def test_submission_host_then_outbound_relay(
    settings: AttributionSettings, directory: HostedDirectory
) -> None:
    outbound = (
        f"from {RELAY2} ({RELAY2} [198.51.100.6])\r\n\tby {RELAY1} (Postfix) with ESMTPS id "
        "4Xk2Lr1Qy4z9w\r\n\tfor <someone@yahoo.example>; Thu, 26 Nov 2026 10:01:03 +0000 (UTC)"
    )
    report = build_report([provider_hop(), outbound, relay_hop("bob@shop.example", by=RELAY2)])

    outcome = attribute_report(report, settings, directory)

    assert attributed(outcome) == (
        "bob@shop.example",
        AttributionMethod.RELAY_RECEIVED,
        Confidence.HIGH,
    )
    assert outcome.attribution is not None
    assert outcome.attribution.relay == RELAY1
    assert f"our relay {RELAY2} wrote" in outcome.attribution.evidence


def test_content_filter_reinjection_on_the_same_relay(
    settings: AttributionSettings, directory: HostedDirectory
) -> None:
    reinjected = (
        f"from localhost (localhost [127.0.0.1])\r\n\tby {RELAY1} (Postfix) with ESMTP id "
        "4Xk2Ls2\r\n\tfor <someone@yahoo.example>; Thu, 26 Nov 2026 10:01:03 +0000 (UTC)"
    )
    report = build_report([provider_hop(), reinjected, relay_hop()])

    assert attributed(attribute_report(report, settings, directory))[0] == "alice@shop.example"


def test_spoofed_from_without_our_relays(
    settings: AttributionSettings, directory: HostedDirectory
) -> None:
    report = build_report(
        [
            provider_hop(helo="bulk.example.net", rdns="bulk.example.net", ip="192.0.2.77"),
            "from [10.1.1.1] (unknown [10.1.1.1]) by bulk.example.net with ESMTP id 1;"
            " Thu, 26 Nov 2026 09:00:00 +0000",
        ],
        [("From", "alice@shop.example"), ("Return-Path", "<alice@shop.example>")],
    )

    assert refused(attribute_report(report, settings, directory)) == (
        f"no Received hop from our relays ({RELAY1}, {RELAY2})"
    )


def test_forged_relay_pair_below_the_real_receipt(
    settings: AttributionSettings, directory: HostedDirectory
) -> None:
    real_receipt = provider_hop(
        helo="bot-7",
        rdns="bot-7.cable.example",
        ip="192.0.2.66",
        by="mta1001.mail.yahoo.example",
        date="Thu, 26 Nov 2026 10:05:00 +0000",
    )
    report = build_report([real_receipt, provider_hop(), relay_hop("bob@shop.example")])

    reason = refused(attribute_report(report, settings, directory))

    assert "relay hop not confirmed by the provider's hop above it" in reason
    assert "192.0.2.66" in reason
    assert "may have been in the message before the provider received it" in reason


def test_forged_relay_pair_with_matching_helo_but_other_rdns(
    settings: AttributionSettings, directory: HostedDirectory
) -> None:
    real_receipt = provider_hop(
        helo=YAHOO_MX, rdns="bot-7.cable.example", ip="192.0.2.66", by="mta1001.mail.yahoo.example"
    )
    report = build_report([real_receipt, provider_hop(), relay_hop()])

    assert "192.0.2.66" in refused(attribute_report(report, settings, directory))


def test_forged_relay_pair_with_matching_helo_is_never_charged(
    settings: AttributionSettings, directory: HostedDirectory
) -> None:
    # The attacker HELOs with the name of the host their forged hop claims:
    # names link nothing, the provider's real receipt is from 192.0.2.66.
    real_receipt = provider_hop(
        helo=YAHOO_MX, rdns="unknown", ip="192.0.2.66", by="mta1001.mail.yahoo.example"
    )
    report = build_report([real_receipt, provider_hop(), relay_hop()])

    outcome = attribute_report(report, settings, directory)

    assert "received it from 192.0.2.66, not from our relays" in refused(outcome)
    assert outcome.candidate is not None
    assert outcome.candidate.mailbox == "alice@shop.example"
    assert "unproven hop" in outcome.candidate.evidence


def test_forged_authenticated_sender_not_confirmed(
    settings: AttributionSettings, directory: HostedDirectory
) -> None:
    report = build_report(
        [
            provider_hop(helo="mail.spam.example", rdns="mail.spam.example", ip="192.0.2.50"),
            relay_hop("carol.baker@bakery.example"),
        ]
    )

    reason = refused(attribute_report(report, settings, directory))

    assert reason == (
        "relay hop not confirmed by the provider's hop above it: mta1000.mail.yahoo.example "
        "received the message from 192.0.2.50, which is not one of our relay addresses"
    )


def test_relay_hop_on_top_has_nothing_confirming_it(
    settings: AttributionSettings, directory: HostedDirectory
) -> None:
    reason = refused(attribute_report(build_report([relay_hop()]), settings, directory))

    assert "is the topmost Received header" in reason


def test_forged_relay_hop_below_our_real_one_is_never_read(
    settings: AttributionSettings, directory: HostedDirectory
) -> None:
    forged = relay_hop(
        "carol.baker@bakery.example",
        client=f"{RELAY2} ({RELAY2} [198.51.100.6])",
        queue_id="FORGED1",
        date="Thu, 26 Nov 2026 10:00:00 +0000",
    )
    report = build_report([provider_hop(), relay_hop("bob@shop.example"), forged])
    directory = directory.with_queue_ids({"FORGED1": "carol.baker@bakery.example"})

    outcome = attribute_report(report, settings, directory)

    assert attributed(outcome)[0] == "bob@shop.example"
    assert outcome.attribution is not None
    assert "carol" not in outcome.attribution.evidence


def test_hop_above_with_public_address_and_no_name_link(
    settings: AttributionSettings, directory: HostedDirectory
) -> None:
    report = build_report(
        [
            "from somewhere.example (somewhere.example [192.0.2.9]) by mx.other.example "
            "with ESMTP id 9; Thu, 26 Nov 2026 10:02:00 +0000",
            provider_hop(),
            relay_hop(),
        ]
    )

    assert "mx.other.example" in refused(attribute_report(report, settings, directory))


FORWARDED_TO_FBL = (
    "from mta1000.mail.yahoo.example (mta1000.mail.yahoo.example [192.0.2.200]) by "
    "fbl.feedback.example (Postfix) with ESMTP id DEFD98; Thu, 26 Nov 2026 11:00:00 -0700"
)
INTERNAL_LMTP = (
    "from mta1000.mail.yahoo.example ([10.200.3.104]) by mta1000.mail.yahoo.example "
    "with LMTP id 7sum1s; Thu, 26 Nov 2026 10:01:05 +0000"
)


def test_post_delivery_forwarding_is_proven_only_by_the_source_ip(
    settings: AttributionSettings, directory: HostedDirectory
) -> None:
    # The provider's FBL service forwarded its copy from a public address: the
    # hops below that hop cannot be proven to be the provider's by themselves.
    chain = [FORWARDED_TO_FBL, INTERNAL_LMTP, provider_hop(), relay_hop()]

    outcome = attribute_report(build_report(chain), settings, directory)
    assert "forwarded by mta1000.mail.yahoo.example" in refused(outcome)
    assert "received it from 192.0.2.200, not from our relays" in refused(outcome)
    assert outcome.candidate is not None and outcome.candidate.mailbox == "alice@shop.example"

    # The report's own Source-IP, which the provider writes, proves the receipt.
    proven = attribute_report(build_report(chain, source_ip="198.51.100.5"), settings, directory)
    assert attributed(proven) == (
        "alice@shop.example",
        AttributionMethod.RELAY_RECEIVED,
        Confidence.HIGH,
    )


def test_provider_internal_hops_chained_by_address_prove_the_receipt(
    settings: AttributionSettings, directory: HostedDirectory
) -> None:
    report = build_report([INTERNAL_LMTP, provider_hop(), relay_hop()])

    outcome = attribute_report(report, settings, directory)

    assert attributed(outcome)[2] is Confidence.HIGH
    assert outcome.attribution is not None
    assert "chained by internal address" in outcome.attribution.evidence


def test_local_pickup_above_the_receipt_is_not_a_proof(
    settings: AttributionSettings, directory: HostedDirectory
) -> None:
    pickup = (
        "by mta1000.mail.yahoo.example (Postfix, from userid 3118234) id 7EE28AEC5B1; "
        "Thu, 26 Nov 2026 10:02:00 +0000"
    )
    qmail = "(qmail 19765 invoked by uid 1014); 26 Nov 2026 10:02:01 -0000"
    chain = [qmail, pickup, provider_hop(), relay_hop()]

    outcome = attribute_report(build_report(chain), settings, directory)
    assert "submitted on mta1000.mail.yahoo.example itself" in refused(outcome)

    with_source_ip = build_report(chain, source_ip="198.51.100.5")
    assert attributed(attribute_report(with_source_ip, settings, directory))[2] is Confidence.HIGH


def test_redacted_provider_address_with_relay_rdns_is_not_a_proof(
    settings: AttributionSettings, directory: HostedDirectory
) -> None:
    # Whoever holds an address sets its reverse DNS: it proves nothing alone.
    chain = [provider_hop(ip="XX.YY.ZZ.5"), relay_hop()]
    outcome = attribute_report(build_report(chain), settings, directory)

    assert "only by reverse DNS" in refused(outcome)
    assert outcome.candidate is not None

    # With the provider's Source-IP it is proven, but the hop's address cannot be matched.
    proven = attribute_report(build_report(chain, source_ip="198.51.100.5"), settings, directory)
    assert attributed(proven)[2] is Confidence.MEDIUM
    assert proven.attribution is not None
    assert "shows no readable address" in proven.attribution.evidence


def test_helo_naming_our_relay_is_never_enough(
    settings: AttributionSettings, directory: HostedDirectory
) -> None:
    report = build_report([provider_hop(rdns="unknown", ip="XX.YY.ZZ.5"), relay_hop()])

    assert "shows no relay address" in refused(attribute_report(report, settings, directory))


def test_provider_receipt_dated_before_our_relay(
    settings: AttributionSettings, directory: HostedDirectory
) -> None:
    report = build_report([provider_hop(date="Wed, 25 Nov 2026 10:01:04 +0000"), relay_hop()])

    reason = refused(attribute_report(report, settings, directory))

    assert "2025" not in reason
    assert "dates its receipt 2026-11-25 10:01:04 UTC" in reason


def test_sender_not_hosted(settings: AttributionSettings, directory: HostedDirectory) -> None:
    report = build_report([provider_hop(), relay_hop("carol@x.example")])

    reason = refused(attribute_report(report, settings, directory))

    assert reason.startswith("sender carol@x.example is not hosted here")


def test_queue_id_joins_a_redacted_sender(
    settings: AttributionSettings, directory: HostedDirectory
) -> None:
    report = build_report([provider_hop(), relay_hop("redacted")])
    directory = directory.with_queue_ids({"4Xk2Lq0fZbz9v": "Bob@Shop.example"})

    outcome = attribute_report(report, settings, directory)

    assert attributed(outcome) == ("bob@shop.example", AttributionMethod.QUEUE_ID, Confidence.HIGH)
    assert outcome.attribution is not None
    assert "queue id 4Xk2Lq0fZbz9v" in outcome.attribution.evidence


def test_redacted_sender_without_queue_record(
    settings: AttributionSettings, directory: HostedDirectory
) -> None:
    report = build_report([provider_hop(), relay_hop("redacted")])

    reason = refused(attribute_report(report, settings, directory))

    assert RELAY1 in reason
    assert "4Xk2Lq0fZbz9v" in reason
    assert "names the sender" in reason


def test_queue_id_and_relay_hop_disagree(
    settings: AttributionSettings, directory: HostedDirectory
) -> None:
    report = build_report([provider_hop(), relay_hop("alice@shop.example")])
    directory = directory.with_queue_ids({"4Xk2Lq0fZbz9v": "bob@shop.example"})

    reason = refused(attribute_report(report, settings, directory))

    assert "our own records disagree" in reason
    assert "alice@shop.example" in reason
    assert "bob@shop.example" in reason


def test_authenticated_header_after_a_confirmed_passage(
    settings: AttributionSettings, directory: HostedDirectory
) -> None:
    report = build_report(
        [provider_hop(), relay_hop(None)],
        [("X-Authenticated-Sender", f"{RELAY1}: Bob@shop.example")],
    )

    outcome = attribute_report(report, settings, directory)

    assert attributed(outcome) == (
        "bob@shop.example",
        AttributionMethod.AUTHENTICATED_HEADER,
        Confidence.MEDIUM,
    )


def test_authenticated_header_without_our_relay_is_ignored(
    settings: AttributionSettings, directory: HostedDirectory
) -> None:
    report = build_report(
        [provider_hop(helo="x.example", rdns="x.example", ip="192.0.2.3", by="mx.example")],
        [("X-Authenticated-Sender", "bob@shop.example")],
    )

    assert refused(attribute_report(report, settings, directory)).startswith(
        "no Received hop from our relays"
    )


def test_disagreeing_authenticated_headers(
    settings: AttributionSettings, directory: HostedDirectory
) -> None:
    report = build_report(
        [provider_hop(), relay_hop(None)],
        [
            ("X-Authenticated-Sender", "alice@shop.example"),
            ("X-Authenticated-Sender", "bob@shop.example"),
        ],
    )

    assert "sender headers disagree" in refused(attribute_report(report, settings, directory))


def test_header_contradicting_the_relay_hop_is_ignored(
    settings: AttributionSettings, directory: HostedDirectory
) -> None:
    report = build_report(
        [provider_hop(), relay_hop("alice@shop.example")],
        [("X-Authenticated-Sender", "bob@shop.example")],
    )

    outcome = attribute_report(report, settings, directory)

    assert attributed(outcome)[:2] == ("alice@shop.example", AttributionMethod.RELAY_RECEIVED)
    assert outcome.attribution is not None
    assert "bob@shop.example contradicts this and was ignored" in outcome.attribution.evidence


@pytest.mark.parametrize(
    ("authserv_id", "expected"),
    [
        ("outfilter.hostingplatform.example", "alice@shop.example"),
        ("OUTFILTER.hostingplatform.example 1", "alice@shop.example"),
        ("mx.yahoo.example", None),
    ],
)
def test_auth_results_only_from_our_authserv_id(
    settings: AttributionSettings,
    directory: HostedDirectory,
    authserv_id: str,
    expected: str | None,
) -> None:
    report = build_report(
        [provider_hop(), relay_hop(None)],
        [
            (
                "Authentication-Results",
                f"{authserv_id}; auth=pass (plain) smtp.auth=alice@shop.example",
            )
        ],
    )

    outcome = attribute_report(report, settings, directory)

    if expected is None:
        assert "names the sender" in refused(outcome)
    else:
        assert attributed(outcome) == (
            expected,
            AttributionMethod.AUTH_RESULTS,
            Confidence.MEDIUM,
        )


def test_failed_auth_result_names_nobody(
    settings: AttributionSettings, directory: HostedDirectory
) -> None:
    report = build_report(
        [provider_hop(), relay_hop(None)],
        [
            (
                "Authentication-Results",
                "outfilter.hostingplatform.example; auth=fail smtp.auth=a@b.c",
            )
        ],
    )

    assert "names the sender" in refused(attribute_report(report, settings, directory))


SORTED_BLOCK = [
    ("Content-Type", "text/plain"),
    ("Date", "Thu, 26 Nov 2026 10:01:00 +0000"),
    ("From", "Alice <alice@shop.example>"),
    ("Message-ID", "<a1@shop.example>"),
    ("Received", provider_hop()),
    ("Received", relay_hop()),
    ("Subject", "Offer"),
    ("To", "someone@yahoo.example"),
]


def test_sorted_headers_with_only_our_hop_and_its_receipt(
    settings: AttributionSettings, directory: HostedDirectory
) -> None:
    report = report_from_headers(SORTED_BLOCK, source_ip="198.51.100.5")

    outcome = attribute_report(report, settings, directory)

    assert attributed(outcome) == (
        "alice@shop.example",
        AttributionMethod.RELAY_RECEIVED,
        Confidence.MEDIUM,
    )
    assert outcome.attribution is not None
    assert "alphabetical order" in outcome.attribution.evidence


def test_sorted_headers_without_a_source_ip_are_refused(
    settings: AttributionSettings, directory: HostedDirectory
) -> None:
    # Without order no hop can be shown to be the provider's: only its report can say.
    reason = refused(attribute_report(report_from_headers(SORTED_BLOCK), settings, directory))

    assert "alphabetical order" in reason
    assert "no Source-IP" in reason


def test_sorted_headers_from_elsewhere(
    settings: AttributionSettings, directory: HostedDirectory
) -> None:
    extra = ("Received", provider_hop(helo="zz", rdns="bot.example", ip="192.0.2.66"))
    block = sorted([*SORTED_BLOCK, extra], key=lambda field: (field[0], field[1]))

    reason = refused(
        attribute_report(report_from_headers(block, source_ip="192.0.2.66"), settings, directory)
    )

    assert "forwarded by bot.example" in reason
    assert "192.0.2.66" in reason


def test_forged_hops_that_sort_into_a_convincing_order(
    settings: AttributionSettings, directory: HostedDirectory
) -> None:
    # Only Received headers survive, so the block itself shows no sorting;
    # the attacker chose HELOs ("a", "b") so that the forged receipt sorts
    # above the forged relay hop, and the real receipt ("zz") below both.
    received = [
        provider_hop(helo="a", rdns=RELAY1),
        relay_hop("bob@shop.example", client="b (b.example [192.0.2.10])"),
        provider_hop(helo="zz", rdns="bot.example", ip="192.0.2.66", by="mta1001.example"),
    ]

    reason = refused(attribute_report(build_report(received), settings, directory))

    assert "Received headers arrived in alphabetical order" in reason


def test_sorted_headers_with_a_second_authenticated_sender(
    settings: AttributionSettings, directory: HostedDirectory
) -> None:
    # Our relay always writes its hop; a second one naming a sender is a forgery,
    # and without order nothing tells which is which.
    forged = relay_hop("carol.baker@bakery.example", client=f"{RELAY2} ({RELAY2} [198.51.100.6])")
    block = sorted([*SORTED_BLOCK, ("Received", forged)])

    reason = refused(
        attribute_report(report_from_headers(block, source_ip="198.51.100.5"), settings, directory)
    )

    assert "2 hops naming our relays name an authenticated sender" in reason


def test_report_without_original(settings: AttributionSettings, directory: HostedDirectory) -> None:
    report = Report(kind=ReportKind.COMPLAINT, format=ReportFormat.JMRP)

    assert "no copy of the original message" in refused(
        attribute_report(report, settings, directory)
    )


def test_no_relays_configured(directory: HostedDirectory) -> None:
    report = build_report([provider_hop(), relay_hop()])

    assert "attribution.relays" in refused(
        attribute_report(report, AttributionSettings(), directory)
    )


def test_relay_addresses_but_no_hostnames(directory: HostedDirectory) -> None:
    only_network = AttributionSettings(relays=["198.51.100.0/28"])

    reason = refused(
        attribute_report(build_report([provider_hop(), relay_hop()]), only_network, directory)
    )

    assert "attribution.relays" in reason
