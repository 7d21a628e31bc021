"""The request parser alone: what is a request, what is malformed, and the limits."""

from __future__ import annotations

import pytest
from tests.enforce.policy_client import request

from abusedesk.enforce.protocol import (
    MAX_ATTRIBUTES,
    MAX_BLOCK,
    MAX_LINE,
    MalformedRequest,
    ProtocolState,
    RequestReader,
    parse_block,
)


def test_a_postfix_request_is_read_and_unknown_attributes_are_skipped() -> None:
    block = request(sasl_username="Alice@Shop.example", sender="alice@shop.example")
    parsed = parse_block(block[:-2])
    assert parsed.protocol_state is ProtocolState.RCPT
    assert parsed.sasl_username == "Alice@Shop.example"
    assert parsed.sender == "alice@shop.example"
    assert parsed.recipient == "friend@elsewhere.example"
    assert parsed.client_address == "192.0.2.10"
    assert parsed.queue_id == "" and parsed.recipient_count == 0


def test_end_of_message_carries_queue_id_and_recipient_count() -> None:
    block = request(protocol_state="END-OF-MESSAGE", queue_id="4XyZ1q2", recipient_count="3")
    parsed = parse_block(block[:-2])
    assert parsed.protocol_state is ProtocolState.END_OF_MESSAGE
    assert (parsed.queue_id, parsed.recipient_count) == ("4XyZ1q2", 3)


def test_values_may_contain_equals_signs_and_be_empty() -> None:
    parsed = parse_block(b"request=smtpd_access_policy\nsender=a=b@x.example\nsasl_username=")
    assert parsed.sender == "a=b@x.example" and parsed.sasl_username == ""


def test_a_non_ascii_request_is_read_and_only_what_is_read_must_be_utf8() -> None:
    block = "request=smtpd_access_policy\nsasl_username=jürgen@bücher.example\n".encode()
    parsed = parse_block(block + b"ccert_subject=\xff\xfe\nrecipient_count=2")
    assert parsed.sasl_username == "jürgen@bücher.example" and parsed.recipient_count == 2


def test_a_long_request_of_short_lines_is_read() -> None:
    # Longer than one line may be, so the line lengths are measured: none is too long.
    block = request(ccert_subject="C" * (MAX_LINE - 20), ccert_issuer="I" * (MAX_LINE - 20))
    assert parse_block(block[:-2]).protocol_state is ProtocolState.RCPT


@pytest.mark.parametrize(
    ("block", "problem"),
    [
        (b"request=smtpd_access_policy\nthis line has no equals sign", "not a name=value line"),
        (b"request=smtpd_access_policy\n=value", "without a name"),
        (b"protocol_state=RCPT\nsender=a@b.example", "is not smtpd_access_policy"),
        (b"request=junk\nsender=a@b.example", "is not smtpd_access_policy"),
        (b"request=smtpd_access_policy\nsasl_username=a\nsasl_username=b", "given twice"),
        (b"request=smtpd_access_policy\nrecipient_count=many", "is not a number"),
        (b"request=smtpd_access_policy\nsender=\xff\xfe", "not UTF-8"),
        # The same faults in a block that is not all ASCII (the other way through).
        ("request=smtpd_access_policy\nsender=é@x.example\n=v".encode(), "without a name"),
        ("request=smtpd_access_policy\nsender=é@x.example\nno equals".encode(), "name=value"),
        ("request=smtpd_access_policy\nsender=é\nsender=f".encode(), "given twice"),
        ("request=smtpd_access_policy\nrecipient_count=²".encode(), "is not a number"),
        ("request=smtpd_access_policy\nrecipient_count=١".encode(), "is not a number"),
        (b"request=smtpd_access_policy\nx=" + b"a" * MAX_LINE, "attribute line of"),
        (
            b"request=smtpd_access_policy\n" + b"".join(b"a%d=1\n" % i for i in range(200)),
            f"(at most {MAX_ATTRIBUTES})",
        ),
    ],
)
def test_malformed_requests_are_refused_with_the_reason(block: bytes, problem: str) -> None:
    with pytest.raises(MalformedRequest, match=problem.replace("(", r"\(").replace(")", r"\)")):
        parse_block(block)


def test_requests_split_anywhere_and_pipelined_are_all_read() -> None:
    stream = b"".join(request(sender=f"u{i}@shop.example") for i in range(50))
    for step in (1, 7, 100, 4096, len(stream)):
        reader = RequestReader()
        senders = []
        for start in range(0, len(stream), step):
            requests, problem = reader.feed(stream[start : start + step])
            assert problem is None
            senders += [r.sender for r in requests]
        assert senders == [f"u{i}@shop.example" for i in range(50)]
        assert not reader.pending


def test_requests_before_a_malformed_one_are_still_returned() -> None:
    reader = RequestReader()
    requests, problem = reader.feed(request(sender="first@shop.example") + b"garbage\n\n")
    assert [r.sender for r in requests] == ["first@shop.example"]
    assert problem is not None and "not a name=value line" in str(problem)


def test_an_empty_line_where_a_request_should_start_is_malformed() -> None:
    requests, problem = RequestReader().feed(b"\n\n")
    assert requests == [] and problem is not None


def test_a_request_that_never_ends_is_cut_off_at_the_block_limit() -> None:
    reader = RequestReader()
    problem = None
    line = b"x" * 100 + b"=1\n"
    fed = 0
    while problem is None and fed <= MAX_BLOCK + len(line):
        _, problem = reader.feed(line)
        fed += len(line)
    assert problem is not None and "without the end of a request" in str(problem)
    assert fed <= MAX_BLOCK + len(line)


def test_an_unknown_protocol_state_is_read_as_unknown() -> None:
    parsed = parse_block(b"request=smtpd_access_policy\nprotocol_state=FUTURE")
    assert parsed.protocol_state is ProtocolState.UNKNOWN
