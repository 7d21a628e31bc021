"""The policy service over TCP, spoken to as Postfix does — and as Postfix never should."""

from __future__ import annotations

import contextlib
import socket
import threading
import time

import pytest
from tests.enforce.conftest import DELETED, REJECT, SUSPENDED, BackgroundPolicyServer
from tests.enforce.policy_client import closed_by_server, read_answers, request

from abusedesk.enforce.server import ServerLimits


def connect(server: BackgroundPolicyServer) -> socket.socket:
    return socket.create_connection(server.address, timeout=5)


def ask(server: BackgroundPolicyServer, **attributes: str) -> str:
    with connect(server) as sock:
        sock.sendall(request(**attributes))
        [answer] = read_answers(sock, 1)
    return answer


def test_a_suspended_sasl_user_is_rejected_with_the_configured_text(
    policy_server: BackgroundPolicyServer,
) -> None:
    answer = ask(policy_server, sasl_username=SUSPENDED, sender="anything@else.example")
    assert answer == REJECT
    assert "spam" not in answer.lower()


def test_the_sasl_user_decides_when_present_whatever_the_envelope_sender(
    policy_server: BackgroundPolicyServer,
) -> None:
    # An active user writing a suspended mailbox's address as sender is not that mailbox.
    assert ask(policy_server, sasl_username="alice@shop.example", sender=SUSPENDED) == "DUNNO"


def test_without_sasl_the_envelope_sender_of_a_hosted_mailbox_decides(
    policy_server: BackgroundPolicyServer,
) -> None:
    assert ask(policy_server, sender=SUSPENDED.upper()) == REJECT
    assert ask(policy_server, sender=DELETED) == REJECT
    assert ask(policy_server, sender="alice@shop.example") == "DUNNO"
    assert ask(policy_server, sender="") == "DUNNO"  # the null sender of a bounce


def test_deleted_and_mixed_case_sasl_users_are_rejected(
    policy_server: BackgroundPolicyServer,
) -> None:
    assert ask(policy_server, sasl_username=DELETED) == REJECT
    assert ask(policy_server, sasl_username="Mallory@SHOP.example") == REJECT


def test_other_states_answer_dunno_and_end_of_message_meters(
    policy_server: BackgroundPolicyServer,
) -> None:
    assert ask(policy_server, protocol_state="CONNECT", sasl_username=SUSPENDED) == "DUNNO"
    assert ask(policy_server, protocol_state="MAIL", sasl_username=SUSPENDED) == REJECT
    answer = ask(
        policy_server,
        protocol_state="END-OF-MESSAGE",
        sasl_username="alice@shop.example",
        queue_id="4QABC123",
        recipient_count="4",
    )
    assert answer == "DUNNO"
    batch = policy_server.call(policy_server.meter.take)
    [(key, counts)] = batch.volume.items()
    assert key[0] == "alice@shop.example" and counts == [1, 4]
    assert batch.submissions["4QABC123"].sasl_username == "alice@shop.example"


def test_many_requests_on_one_connection_each_get_their_answer(
    policy_server: BackgroundPolicyServer,
) -> None:
    with connect(policy_server) as sock:
        for number in range(500):
            sender = SUSPENDED if number % 10 == 0 else f"user{number}@shop.example"
            sock.sendall(request(sasl_username=sender))
            [answer] = read_answers(sock, 1)
            assert answer == (REJECT if number % 10 == 0 else "DUNNO")


def test_pipelined_requests_are_answered_in_order(policy_server: BackgroundPolicyServer) -> None:
    senders = [SUSPENDED if n % 3 == 0 else f"user{n}@shop.example" for n in range(300)]
    with connect(policy_server) as sock:
        sock.sendall(b"".join(request(sasl_username=sender) for sender in senders))
        answers = read_answers(sock, len(senders))
    assert answers == [REJECT if s == SUSPENDED else "DUNNO" for s in senders]


def test_a_malformed_request_closes_the_connection_unanswered(
    policy_server: BackgroundPolicyServer,
) -> None:
    with connect(policy_server) as sock:
        sock.sendall(request(sasl_username=SUSPENDED) + b"no equals sign here\n\n")
        assert read_answers(sock, 1) == [REJECT]  # the good one before it is answered
        assert closed_by_server(sock)
    # Nothing else is disturbed.
    assert ask(policy_server, sasl_username=SUSPENDED) == REJECT


@pytest.mark.parametrize(
    "bad",
    [
        b"request=smtpd_access_policy\nx=" + b"a" * 5000 + b"\n\n",  # an oversized line
        b"request=smtpd_access_policy\n" + b"a=1\n" * 300 + b"\n",  # too many attributes
        b"y" * 40000,  # a block that never ends, past the size limit
        b"request=other_policy\nsender=a@b.example\n\n",
        b"\n\n",
    ],
)
def test_oversized_and_malformed_blocks_get_no_answer(
    policy_server: BackgroundPolicyServer, bad: bytes
) -> None:
    with connect(policy_server) as sock:
        sock.sendall(bad)
        assert closed_by_server(sock)


def test_a_slow_client_sending_byte_by_byte_is_answered(
    policy_server: BackgroundPolicyServer,
) -> None:
    with connect(policy_server) as sock:
        for byte in request(sasl_username=SUSPENDED):
            sock.send(bytes([byte]))
        assert read_answers(sock, 1) == [REJECT]


def test_a_request_left_unfinished_is_cut_off() -> None:
    limits = ServerLimits(request_seconds=0.3, idle_seconds=60, sweep_seconds=0.05)
    with BackgroundPolicyServer(limits) as server, connect(server) as sock:
        sock.sendall(b"request=smtpd_access_policy\nsender=")
        started = time.monotonic()
        assert closed_by_server(sock, timeout=5)
        assert 0.25 < time.monotonic() - started < 3


def test_an_idle_connection_is_closed_after_the_idle_limit() -> None:
    limits = ServerLimits(request_seconds=10, idle_seconds=0.3, sweep_seconds=0.05)
    with BackgroundPolicyServer(limits) as server, connect(server) as sock:
        sock.sendall(request(sender="alice@shop.example"))
        assert read_answers(sock, 1) == ["DUNNO"]
        assert closed_by_server(sock, timeout=5)


def test_connections_beyond_the_limit_are_refused() -> None:
    limits = ServerLimits(max_connections=2)
    with BackgroundPolicyServer(limits) as server:
        first, second = connect(server), connect(server)
        try:
            first.sendall(request(sender="a@shop.example"))
            second.sendall(request(sender="b@shop.example"))
            assert read_answers(first, 1) == read_answers(second, 1) == ["DUNNO"]
            with connect(server) as third:
                assert closed_by_server(third)
        finally:
            first.close()
            second.close()
        assert ask(server, sender="c@shop.example") == "DUNNO"  # a slot is free again


def test_abrupt_disconnects_do_not_disturb_other_clients(
    policy_server: BackgroundPolicyServer,
) -> None:
    for _ in range(50):
        sock = connect(policy_server)
        sock.sendall(request(sasl_username=SUSPENDED)[:37])  # mid-request
        # SO_LINGER 0: a reset, not a polite close.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        sock.close()
    for _ in range(20):
        sock = connect(policy_server)
        sock.sendall(b"".join(request(sasl_username=SUSPENDED) for _ in range(200)))
        sock.close()  # gone before reading its answers
    assert ask(policy_server, sasl_username=SUSPENDED) == REJECT
    assert policy_server.server is not None
    deadline = time.monotonic() + 5
    while len(policy_server.server) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert len(policy_server.server) == 0  # no connection left behind


def test_a_client_that_does_not_read_its_answers_is_held_back() -> None:
    limits = ServerLimits(request_seconds=300)  # a busy machine must not cut this client off
    with BackgroundPolicyServer(limits) as server, connect(server) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 65536)
        # Small questions, larger answers, more than the kernel's socket buffers hold.
        count = 200_000
        many = f"request=smtpd_access_policy\nsasl_username={SUSPENDED}\n\n".encode() * count
        sent = threading.Event()

        def send_all() -> None:
            with contextlib.suppress(OSError):
                sock.sendall(many)
                sent.set()

        sender = threading.Thread(target=send_all, daemon=True)
        sender.start()
        time.sleep(1.0)
        # The server stopped reading: the questions wait in the kernel, not in its memory.
        assert not sent.is_set()
        assert server.server is not None
        held = server.call(lambda: [c.buffered() for c in server.server.connections()])
        assert len(held) == 1 and held[0] < 1_000_000, held
        answers = read_answers(sock, count, timeout=120)
        sender.join(60)
        assert sent.is_set() and len(answers) == count and set(answers) == {REJECT}


def test_concurrent_connections_are_served_together(
    policy_server: BackgroundPolicyServer,
) -> None:
    failures: list[str] = []

    def client(number: int) -> None:
        with connect(policy_server) as sock:
            for _ in range(100):
                sock.sendall(request(sasl_username=SUSPENDED if number % 2 else "ok@shop.example"))
                [answer] = read_answers(sock, 1)
                if answer != (REJECT if number % 2 else "DUNNO"):
                    failures.append(answer)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert failures == []
