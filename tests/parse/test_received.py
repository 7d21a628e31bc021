"""Reading Received values from real MTAs, and from hostile or broken ones."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest

from abusedesk.parse.received import normalise_ip, parse_received, parse_received_chain

POSTFIX_SUBMISSION = (
    "from [192.168.1.20] (dsl-203-0-113-7.example.net [203.0.113.7])\r\n"
    "\t(Authenticated sender: alice@shop.example)\r\n"
    "\tby relay1.out.hostingplatform.example (Postfix) with ESMTPSA id 4Xk2Lq0fZbz9v\r\n"
    "\tfor <someone@yahoo.com>; Thu, 26 Nov 2026 10:01:02 +0000 (UTC)"
)


def test_postfix_submission_hop_with_authenticated_sender() -> None:
    hop = parse_received(3, POSTFIX_SUBMISSION)

    assert hop.index == 3
    assert hop.raw == POSTFIX_SUBMISSION
    assert hop.from_helo == "[192.168.1.20]"
    assert hop.from_rdns == "dsl-203-0-113-7.example.net"
    assert hop.from_ip == "203.0.113.7"
    assert hop.by_host == "relay1.out.hostingplatform.example"
    assert hop.with_protocol == "ESMTPSA"
    assert hop.queue_id == "4Xk2Lq0fZbz9v"
    assert hop.for_address == "someone@yahoo.com"
    assert hop.authenticated_sender == "alice@shop.example"
    assert hop.date == datetime(2026, 11, 26, 10, 1, 2, tzinfo=UTC)


def test_postfix_tls_comments_do_not_leak_into_clauses() -> None:
    hop = parse_received(
        0,
        "from server.domain5.tld (server.domain5.tld [10.17.18.1]) "
        "(using TLSv1 with cipher DHE-RSA-AES256-SHA (256/256 bits)) "
        "(No client certificate requested) by mtaig-aak04.mx.aol.com (Internet Inbound) "
        "with ESMTPS id 1713371B77044 for <redacted>; Tue, 19 Jan 2016 14:32:40 -0500 (EST)",
    )

    assert (hop.from_rdns, hop.from_ip) == ("server.domain5.tld", "10.17.18.1")
    assert hop.with_protocol == "ESMTPS"
    assert hop.queue_id == "1713371B77044"
    assert hop.for_address == "redacted"
    assert hop.date == datetime(2016, 1, 19, 19, 32, 40, tzinfo=UTC)


def test_provider_hop_above_our_relay() -> None:
    hop = parse_received(
        0,
        "from relay1.out.hostingplatform.example (relay1.out.hostingplatform.example "
        "[198.51.100.5]) by mta1000.mail.yahoo.example with ESMTPS id 7f3a; "
        "Thu, 26 Nov 2026 10:01:04 +0000",
    )

    assert hop.from_helo == "relay1.out.hostingplatform.example"
    assert hop.from_rdns == "relay1.out.hostingplatform.example"
    assert hop.from_ip == "198.51.100.5"
    assert hop.by_host == "mta1000.mail.yahoo.example"
    assert hop.authenticated_sender is None


def test_sendmail_with_ident_and_nested_may_be_forged_comment() -> None:
    hop = parse_received(
        0,
        "from mx.example.org (IDENT:root@host.example.org [192.0.2.44] (may be forged))\n"
        "\tby tky-sh1.sendingdomain.net (8.11.6/8.11.6) with ESMTP id l32NcXo26763\n"
        "\tfor <aspann@sendingdomain.com>; Tue, 3 Apr 2007 08:38:33 +0900",
    )

    assert hop.from_helo == "mx.example.org"
    assert hop.from_rdns == "host.example.org"
    assert hop.from_ip == "192.0.2.44"
    assert hop.queue_id == "l32NcXo26763"
    assert hop.date == datetime(2007, 4, 2, 23, 38, 33, tzinfo=UTC)


def test_unknown_rdns_and_ipv6_literal() -> None:
    hop = parse_received(
        0,
        "from laptop (unknown [IPv6:2001:DB8:0:0::7]) by relay2.out.hostingplatform.example "
        "(Postfix) with ESMTPA id 4Xk3; Thu, 26 Nov 2026 11:00:00 +0100",
    )

    assert hop.from_helo == "laptop"
    assert hop.from_rdns is None
    assert hop.from_ip == "2001:db8::7"
    assert hop.date == datetime(2026, 11, 26, 10, 0, tzinfo=UTC)


def test_qmail_with_helo_comment_and_address_comment() -> None:
    hop = parse_received(
        0,
        "from hfc-181-142-199-114.une.net.co (HELO ?181.142.199.114?)\n (181.142.199.114)\n"
        " by ip-46.97.hospedando.com with ESMTPA; 19 Jan 2016 20:32:35 +0100",
    )

    assert hop.from_helo == "?181.142.199.114?"
    assert hop.from_rdns == "hfc-181-142-199-114.une.net.co"
    assert hop.from_ip == "181.142.199.114"
    assert hop.with_protocol == "ESMTPA"
    assert hop.queue_id is None


def test_qmail_remoteinfo_address_form() -> None:
    hop = parse_received(0, "from unknown (HELO mail) (joe@192.0.2.9) by mx.example.net with SMTP")

    assert (hop.from_helo, hop.from_rdns, hop.from_ip) == ("mail", None, "192.0.2.9")
    assert hop.date is None


def test_qmail_scanner_bare_address_first() -> None:
    hop = parse_received(
        0,
        "from 203.190.228.191 by tky-ch2.sendingdomain.net (envelope-from <>, uid 1013) "
        "with qmail-scanner-1.25-st-qms \n (clamdscan: 0.88.7/2487. spamassassin: 3.1.7.\n "
        "Clear:RC:0(203.190.228.191):SA:0(1.4/5.0):. \n Processed in 1.087366 secs); "
        "02 Apr 2007 23:38:34 -0000",
    )

    assert hop.from_ip == "203.190.228.191"
    assert hop.by_host == "tky-ch2.sendingdomain.net"
    assert hop.with_protocol == "qmail-scanner-1.25-st-qms"
    assert hop.date == datetime(2007, 4, 2, 23, 38, 34, tzinfo=UTC)


def test_qmail_invoked_hop_has_only_a_date() -> None:
    hop = parse_received(0, "(qmail 19765 invoked by uid 1014); 3 Apr 2007 08:38:34 +0900")

    assert (hop.from_helo, hop.from_ip, hop.by_host) == (None, None, None)
    assert hop.date == datetime(2007, 4, 2, 23, 38, 34, tzinfo=UTC)


def test_exim_authenticated_submission() -> None:
    hop = parse_received(
        0,
        "from [203.0.113.7] (port=52344 helo=[192.168.1.2])\n\tby mail.example.com with esmtpsa "
        "(TLS1.2) tls TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384\n\t(Exim 4.96)\n\t(envelope-from "
        "<alice@shop.example>)\n\tid 1kXyZa-0001Ab-Cd\n\tfor bob@example.org; "
        "Thu, 26 Nov 2026 10:01:02 +0000",
    )

    assert hop.from_helo == "[192.168.1.2]"
    assert hop.from_ip == "203.0.113.7"
    assert hop.with_protocol == "esmtpsa"
    assert hop.queue_id == "1kXyZa-0001Ab-Cd"
    assert hop.for_address == "bob@example.org"
    # Exim's envelope-from is chosen by the client: it is not an authenticated identity.
    assert hop.authenticated_sender is None


def test_exim_named_host_with_address_and_helo_comment() -> None:
    hop = parse_received(
        0,
        "from mail.client.example ([192.0.2.10]:41234 helo=client) by mx.example.com "
        "with esmtp (Exim 4.94.2) id 1kX-0001; Thu, 26 Nov 2026 10:01:02 +0000",
    )

    assert (hop.from_helo, hop.from_rdns, hop.from_ip) == (
        "client",
        "mail.client.example",
        "192.0.2.10",
    )


def test_exchange_internal_hop() -> None:
    hop = parse_received(
        0,
        "from BN8NAM11FT012.eop-nam11.prod.protection.outlook.com (2603:10b6:408:ac:cafe::ab) by "
        "BN6PR1101CA0012.outlook.office365.com (2603:10b6:405:4a::22) with Microsoft SMTP Server "
        "(version=TLS1_2, cipher=TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384) id 15.20.4755.11 via "
        "Frontend Transport; Thu, 26 Nov 2026 10:01:05 +0000",
    )

    assert hop.from_helo == "BN8NAM11FT012.eop-nam11.prod.protection.outlook.com"
    assert hop.from_ip == "2603:10b6:408:ac:cafe::ab"
    assert hop.by_host == "BN6PR1101CA0012.outlook.office365.com"
    assert hop.date == datetime(2026, 11, 26, 10, 1, 5, tzinfo=UTC)


def test_gmail_hop_drops_root_dot() -> None:
    hop = parse_received(
        0,
        "from mail-sor-f41.google.com (mail-sor-f41.google.com. [209.85.220.41])\r\n"
        "        by mx.google.com with SMTPS id a1sor123.2019.11.26.02.01.02\r\n"
        "        for <x@gmail.com>\r\n        (Google Transport Security);\r\n"
        "        Tue, 26 Nov 2019 02:01:02 -0800 (PST)",
    )

    assert hop.from_rdns == "mail-sor-f41.google.com"
    assert hop.from_ip == "209.85.220.41"
    assert hop.for_address == "x@gmail.com"
    assert hop.date == datetime(2019, 11, 26, 10, 1, 2, tzinfo=UTC)


def test_local_pickup_hop_has_no_from_part() -> None:
    hop = parse_received(
        0,
        "by poma00.lan.returnpath.net (Postfix, from userid 106706)\n\tid 7F02B6084D; "
        "Tue, 19 Jan 2016 09:54:53 -0700 (MST)",
    )

    assert hop.from_helo is None
    assert hop.by_host == "poma00.lan.returnpath.net"
    assert hop.queue_id == "7F02B6084D"


def test_redacted_address_is_not_replaced_by_the_helo_literal() -> None:
    hop = parse_received(
        0, "from [198.51.100.5] (rl3.domain1.tld [AA.BB.CC.53]) by correo.domain1.tld with ESMTP"
    )

    assert hop.from_rdns == "rl3.domain1.tld"
    assert hop.from_ip is None


def test_unbalanced_parenthesis_does_not_swallow_the_rest() -> None:
    hop = parse_received(
        0,
        "from x.example (x.example [192.0.2.1]) (using TLSv1.3 with cipher=TLS_AES_256 "
        "by relay1.out.hostingplatform.example (Postfix) with ESMTPSA id ABC123; "
        "Thu, 26 Nov 2026 10:01:02 +0000",
    )

    assert hop.from_ip == "192.0.2.1"
    assert hop.by_host == "relay1.out.hostingplatform.example"
    assert hop.with_protocol == "ESMTPSA"
    assert hop.queue_id == "ABC123"


def test_truncated_hop_without_date() -> None:
    hop = parse_received(0, "from mail.example.net (mail.example.net [192.0.2.3]) by mx")

    assert hop.by_host == "mx"
    assert hop.date is None


@pytest.mark.parametrize(
    "date_text",
    ["", "not a date", "Thu, 99 Foo 2026 99:99:99 +9999", "Thu, 26 Nov 99999999999 10:00 +0000"],
)
def test_unreadable_date_is_none(date_text: str) -> None:
    assert parse_received(0, f"from a (a [192.0.2.1]) by b id C; {date_text}").date is None


def test_minus_zero_zone_is_utc() -> None:
    hop = parse_received(0, "from a by b; 02 Apr 2007 23:38:32 -0000")

    assert hop.date == datetime(2007, 4, 2, 23, 38, 32, tzinfo=UTC)


@pytest.mark.parametrize(
    "raw",
    [
        "",
        ";",
        "from",
        "from (",
        ")))(((",
        "from [ by ] with ( id ) for <",
        "from [IPv6:] (x [IPv6:zzzz]) by",
        "for <> id",
        "\x00\x01 from \udcff by \u2028 ;",
    ],
)
def test_garbage_never_raises(raw: str) -> None:
    hop = parse_received(7, raw)

    assert hop.index == 7
    assert hop.raw == raw


@pytest.mark.parametrize(
    "hostile",
    [
        "(" * 200_000 + "from a by b",
        "from " + "(a " * 100_000 + "by b",
        "from a " + "[" * 200_000,
        "from a (" + "x@" * 100_000 + ") by b",
        "from a " + "(Authenticated sender: " * 50_000,
    ],
)
def test_hostile_values_are_read_in_linear_time(hostile: str) -> None:
    started = time.perf_counter()
    parse_received(0, hostile)

    assert time.perf_counter() - started < 1.0


def test_chain_keeps_arrival_order_as_index() -> None:
    chain = parse_received_chain(
        [
            "from relay1.out.hostingplatform.example (relay1.out.hostingplatform.example "
            "[198.51.100.5]) by mta1000.mail.yahoo.example with ESMTPS id 7f3a; "
            "Thu, 26 Nov 2026 10:01:04 +0000",
            POSTFIX_SUBMISSION,
        ]
    )

    assert [hop.index for hop in chain] == [0, 1]
    assert chain[0].from_ip == "198.51.100.5"
    assert chain[1].authenticated_sender == "alice@shop.example"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("198.51.100.5", "198.51.100.5"),
        (" IPv6:2001:DB8::1 ", "2001:db8::1"),
        ("::ffff:198.51.100.5", "198.51.100.5"),
        ("AA.BB.CC.6", None),
        ("x.x.x.x", None),
        ("", None),
    ],
)
def test_normalise_ip(text: str, expected: str | None) -> None:
    assert normalise_ip(text) == expected


def test_usanet_bare_address_literal_after_the_host() -> None:
    hop = parse_received(
        0,
        "from co03.mbox.net [165.212.64.33] by nm11.cms.usa.net via smtad\n  (C8.MAIN.4.04K)  "
        "with ESMTPS id XID920uaiD5b9887X11; Sat, 09 Jan 2016\n  03:56:27 -0000",
    )

    assert (hop.from_helo, hop.from_ip) == ("co03.mbox.net", "165.212.64.33")
    assert hop.by_host == "nm11.cms.usa.net"
    assert hop.with_protocol == "ESMTPS"
    assert hop.queue_id == "XID920uaiD5b9887X11"
    assert hop.date == datetime(2016, 1, 9, 3, 56, 27, tzinfo=UTC)
