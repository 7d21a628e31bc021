"""A generator of hostile Received chains: what an outsider or a customer can write.

Every chain is built as it would arrive in a provider's report: the
provider's own hops on top (optionally internal ones), the provider's real
receipt from whoever connected to it, and below that whatever the sender
wrote into the message. `Forgery.sender_ip` is where the provider really
received the message from; the attribution property is that unless it is one
of our relay addresses, nobody is charged.
"""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import strategies as st

from abusedesk.config import AttributionSettings
from abusedesk.parse.received import parse_received_chain
from abusedesk.parse.report import OriginalMessage, Report, ReportFormat, ReportKind

RELAY1 = "relay1.out.hostingplatform.example"
RELAY2 = "relay2.out.hostingplatform.example"
RELAY_IPS = ("198.51.100.5", "198.51.100.6")
VICTIM = "victim@shop.example"
ATTACKER = "mallory@shop.example"
PROVIDER = "mta1000.mail.yahoo.example"
PROVIDER_INNER = "mta7.mail.yahoo.example"
SETTINGS = AttributionSettings(
    relays=[RELAY1, RELAY2, "198.51.100.0/28"],
    authenticated_header="X-Authenticated-Sender",
    authserv_ids=["outfilter.hostingplatform.example"],
)
DATE_OURS = "Thu, 26 Nov 2026 10:01:02 +0000"
DATE_PROVIDER = "Thu, 26 Nov 2026 10:01:04 +0000"
DATE_INNER = "Thu, 26 Nov 2026 10:01:05 +0000"


def relay_hop(
    sender: str | None,
    *,
    by: str = RELAY1,
    client: str = "[192.168.1.20] (dsl-203-0-113-7.example.net [203.0.113.7])",
    queue_id: str = "4Xk2Lq0fZbz9v",
    recipient: str = "someone@yahoo.example",
    protocol: str = "ESMTPSA",
) -> str:
    """A hop in the layout Postfix writes for an authenticated submission."""
    auth = f"\n\t(Authenticated sender: {sender})" if sender else ""
    return (
        f"from {client}{auth}\n\tby {by} (Postfix) with {protocol} id {queue_id}\n"
        f"\tfor <{recipient}>; {DATE_OURS}"
    )


def receipt(helo: str, rdns: str, ip: str, by: str = PROVIDER, date: str = DATE_PROVIDER) -> str:
    """A hop in which `by` records taking the message from `rdns [ip]`."""
    return f"from {helo} ({rdns} [{ip}])\n\tby {by} with ESMTPS id 7f3a9e2c; {date}"


def internal(upper: str, lower: str, ip: str = "10.200.3.104") -> str:
    """The provider's own handoff from `lower` to `upper` on an internal address."""
    return f"from {lower} ([{ip}]) by {upper} with LMTP id 7sum1s; {DATE_INNER}"


@dataclass(frozen=True)
class Forgery:
    """One hostile report: the chain (newest first), its Source-IP, and its shape."""

    shape: str
    received: tuple[str, ...]
    source_ip: str | None
    sender_ip: str
    """Where the provider really received the message from."""
    headers: tuple[tuple[str, str], ...] = ()
    sorted_headers: bool = False

    def report(self, report_format: ReportFormat = ReportFormat.ARF) -> Report:
        fields = [*(("Received", value) for value in self.received), *self.headers]
        if self.sorted_headers:
            fields = sorted(
                [*fields, ("Subject", "offer"), ("From", VICTIM), ("Date", DATE_OURS)],
                key=lambda field: field[0].casefold(),
            )
        values = [value for name, value in fields if name == "Received"]
        original = OriginalMessage(headers=tuple(fields), received=parse_received_chain(values))
        return Report(
            kind=ReportKind.COMPLAINT,
            format=report_format,
            original=original,
            source_ip=self.source_ip,
        )


# The shapes an outsider (sending from his own server at ATTACKER_IP) can write.
ATTACKER_IP = "203.0.113.66"
ATTACKER_HOST = "mail.attacker.example"


def _outsider(shape: str, forged: list[str], *, with_source_ip: bool, **extra: object) -> Forgery:
    real = receipt(ATTACKER_HOST, ATTACKER_HOST, ATTACKER_IP)
    return Forgery(
        shape=shape,
        received=(real, *forged),
        source_ip=ATTACKER_IP if with_source_ip else None,
        sender_ip=ATTACKER_IP,
        **extra,  # type: ignore[arg-type]
    )


def named_shapes() -> list[Forgery]:
    """Each forged shape once, as a plain example (the fixtures are these)."""
    forged_receipt_helo = receipt(RELAY1, "unknown", RELAY_IPS[0], by=ATTACKER_HOST)
    forged_receipt_ptr = receipt(RELAY1, RELAY1, RELAY_IPS[0], by=ATTACKER_HOST)
    victim_hop = relay_hop(VICTIM)
    shapes = [
        _outsider("forged-forward-helo", [forged_receipt_helo, victim_hop], with_source_ip=True),
        _outsider("forged-forward-ptr", [forged_receipt_ptr, victim_hop], with_source_ip=True),
        _outsider(
            "forged-forward-no-source-ip", [forged_receipt_ptr, victim_hop], with_source_ip=False
        ),
        # Hops dressed as the provider's internal ones below its real receipt.
        _outsider(
            "dressed-as-provider-internal",
            [
                internal(PROVIDER, PROVIDER_INNER),
                receipt(RELAY1, RELAY1, RELAY_IPS[0], by=PROVIDER_INNER),
                victim_hop,
            ],
            with_source_ip=False,
        ),
        _outsider(
            "duplicated-relay-hops",
            [
                forged_receipt_ptr,
                relay_hop(VICTIM, by=RELAY2, client=f"{RELAY1} ({RELAY1} [{RELAY_IPS[0]}])"),
                relay_hop(VICTIM),
            ],
            with_source_ip=True,
        ),
        _outsider(
            "headers-only",
            [forged_receipt_ptr, victim_hop],
            with_source_ip=False,
            headers=(("X-Authenticated-Sender", VICTIM),),
        ),
        _outsider(
            "sorted-chain",
            [forged_receipt_ptr, victim_hop],
            with_source_ip=True,
            sorted_headers=True,
        ),
        _outsider(
            "sorted-chain-no-source-ip",
            [forged_receipt_ptr, victim_hop],
            with_source_ip=False,
            sorted_headers=True,
        ),
    ]
    # A forward by a genuine third party: our relay really sent it, but to a
    # university that forwarded it; that cannot be proven from hops.
    forwarder_ip = "198.51.100.120"
    shapes.append(
        Forgery(
            shape="genuine-forward",
            received=(
                receipt("mx.example.edu", "mx.example.edu", forwarder_ip),
                receipt(RELAY1, RELAY1, RELAY_IPS[0], by="mx.example.edu"),
                relay_hop(VICTIM),
            ),
            source_ip=forwarder_ip,
            sender_ip=forwarder_ip,
        )
    )
    return shapes


# What a customer sending through our own relay can write into our relay's hop.
INJECTIONS = (
    f"(Authenticated sender: {VICTIM})",
    f'"(Authenticated sender: {VICTIM})"@yahoo.example',
    f"x (relay2.out.hostingplatform.example [{RELAY_IPS[1]}])",
    f"x ({RELAY1} [{RELAY_IPS[0]}]) (Authenticated sender: {VICTIM})",
    f"x by {RELAY1} (Postfix) with ESMTPSA id 4XVICTIM",
    f'") (Authenticated sender: {VICTIM}) by {RELAY1} (Postfix) with ESMTPSA id F"@p',
    "x (",
    ")",
    "from x",
    ";",
)

_host = st.from_regex(r"[a-z][a-z0-9-]{0,10}(\.[a-z][a-z0-9-]{0,10}){0,3}", fullmatch=True)
_public_ip = st.tuples(
    st.sampled_from([23, 45, 81, 151, 185, 203, 212]),
    st.integers(0, 255),
    st.integers(0, 255),
    st.integers(1, 254),
).map(lambda parts: ".".join(map(str, parts)))
_text = st.one_of(
    st.sampled_from(INJECTIONS),
    _host,
    st.text(alphabet=st.sampled_from('ab ()[]@";:<>.'), max_size=24),
)


@st.composite
def forged_hop(draw: st.DrawFn) -> str:
    """Any hop a sender can write: names, addresses and comments of its choosing."""
    kind = draw(st.sampled_from(["relay", "receipt", "internal", "junk"]))
    if kind == "relay":
        return relay_hop(
            draw(st.sampled_from([VICTIM, ATTACKER, None, "redacted"])),
            by=draw(st.sampled_from([RELAY1, RELAY2, PROVIDER, PROVIDER_INNER])),
            client=draw(
                st.one_of(
                    st.just(f"{RELAY1} ({RELAY1} [{RELAY_IPS[0]}])"),
                    st.just("localhost (localhost [127.0.0.1])"),
                    st.builds(lambda h, t: f"{h} {t}", _host, _text),
                )
            ),
            queue_id=draw(st.sampled_from(["4Xk2Lq0fZbz9v", "4XVICTIM", "ABC123"])),
            recipient=draw(st.one_of(st.just("someone@yahoo.example"), _text)),
        )
    if kind == "receipt":
        return receipt(
            draw(st.one_of(_host, st.just(RELAY1), _text)),
            draw(st.one_of(_host, st.just(RELAY1), st.just("unknown"))),
            draw(st.one_of(st.sampled_from(RELAY_IPS), _public_ip, st.just("10.1.2.3"))),
            by=draw(st.one_of(st.sampled_from([PROVIDER, PROVIDER_INNER, RELAY1]), _host)),
        )
    if kind == "internal":
        return internal(
            draw(st.sampled_from([PROVIDER, PROVIDER_INNER])),
            draw(st.sampled_from([PROVIDER, PROVIDER_INNER, RELAY1])),
        )
    return draw(_text) + f"; {DATE_OURS}"


@st.composite
def outsider_forgery(draw: st.DrawFn) -> Forgery:
    """The provider received it from a public address that is not ours; below, anything."""
    sender_ip = draw(_public_ip)
    sender_name = draw(st.one_of(_host, st.just(RELAY1)))
    real = receipt(
        draw(st.one_of(st.just(sender_name), st.just(RELAY1), _text)),
        draw(st.one_of(st.just(sender_name), st.just(RELAY1), st.just("unknown"))),
        sender_ip,
    )
    provider_inside = internal("mx9.mail.yahoo.example", PROVIDER)
    above = draw(st.lists(st.just(provider_inside), max_size=1))
    forged = draw(st.lists(forged_hop(), min_size=1, max_size=5))
    headers = draw(
        st.lists(
            st.tuples(
                st.sampled_from(["X-Authenticated-Sender", "Authentication-Results", "From"]),
                st.sampled_from(
                    [VICTIM, f"outfilter.hostingplatform.example; auth=pass smtp.auth={VICTIM}"]
                ),
            ),
            max_size=2,
        )
    )
    return Forgery(
        shape="generated",
        received=(*above, real, *forged),
        source_ip=draw(st.sampled_from([sender_ip, None])),
        sender_ip=sender_ip,
        headers=tuple(headers),
        sorted_headers=draw(st.booleans()),
    )


@st.composite
def customer_submission(draw: st.DrawFn) -> tuple[Forgery, bool]:
    """A customer (ATTACKER) really submitted through our relay, writing what it likes
    into its HELO and recipient and below our hop; True when our relay wrote the sender."""
    writes_sender = draw(st.booleans())
    helo = draw(st.one_of(st.just("laptop"), _text.map(lambda text: "laptop " + text)))
    ours = relay_hop(
        ATTACKER if writes_sender else None,
        client=f"{helo} (dsl.example.net [203.0.113.7])",
        recipient=draw(st.one_of(st.just("someone@yahoo.example"), _text)),
    )
    forged = draw(st.lists(forged_hop(), max_size=4))
    real = receipt(RELAY1, RELAY1, RELAY_IPS[0])
    forgery = Forgery(
        shape="customer",
        received=(real, ours, *forged),
        source_ip=draw(st.sampled_from([RELAY_IPS[0], None])),
        sender_ip=RELAY_IPS[0],
        headers=tuple(draw(st.lists(st.just(("X-Authenticated-Sender", VICTIM)), max_size=1))),
    )
    return forgery, writes_sender
