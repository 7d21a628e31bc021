"""What a real Postfix sends its policy service, recorded; the benchmark's requests made from it.

`python bench/_postfix_requests.py` starts the Postfix relay and Dovecot (for SASL) that
the test suite starts, points the relay's `check_policy_service` at a server that records
every request and answers DUNNO, submits one authenticated message with two recipients,
and writes the requests it saw to `fixtures/postfix/policy-requests.txt`: two at RCPT and
one at END-OF-MESSAGE, every attribute Postfix sent, in its order.
`tests/enforce/test_postfix_requests.py` checks that the installed Postfix still sends
those attributes, so the benchmark cannot drift into an easier request than the real one.
"""

from __future__ import annotations

import random
import smtplib
import socketserver
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import EmailMessage
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RECORDED = REPO / "fixtures" / "postfix" / "policy-requests.txt"

Request = dict[str, str]

SENDER, PASSWORD = "bench@shop.example", "bench-secret"
RECIPIENTS = ("friend@mail.yahoo.example", "other@mail.aol.example")


class _RecordingHandler(socketserver.StreamRequestHandler):
    def handle(self) -> None:
        server = self.server
        assert isinstance(server, RecordingPolicyServer)
        attributes: Request = {}
        for line in self.rfile:
            text = line.decode("utf-8", "replace").rstrip("\n")
            if text:
                name, _, value = text.partition("=")
                attributes[name] = value
                continue
            with server.lock:
                server.requests.append(attributes)
            attributes = {}
            self.wfile.write(b"action=DUNNO\n\n")
            self.wfile.flush()


class RecordingPolicyServer(socketserver.ThreadingTCPServer):
    """A policy service on a free loopback port that answers DUNNO and keeps every request."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _RecordingHandler)
        self.requests: list[Request] = []
        self.lock = threading.Lock()

    @property
    def address(self) -> tuple[str, int]:
        host, port = self.server_address[:2]
        return str(host), int(port)


@contextmanager
def recording_relay() -> Iterator[tuple[int, RecordingPolicyServer]]:
    """A real Postfix relay (SASL through Dovecot) asking a recording policy server: its port."""
    sys.path.insert(0, str(REPO))
    from tests.dovecot import running_dovecot
    from tests.postfix import running_postfix

    server = RecordingPolicyServer()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with (
            running_dovecot(sasl_users={SENDER: PASSWORD}) as dovecot,
            running_postfix(server.address, sasl_port=dovecot.auth_port) as (relay, _sink),
        ):
            yield relay.port, server
    finally:
        server.shutdown()
        server.server_close()


def submit(port: int) -> None:
    """One authenticated message to two recipients, as a mail client submits it."""
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = SENDER, ", ".join(RECIPIENTS), "Weekly offer"
    mail["Message-ID"] = "<weekly-offer@shop.example>"
    mail.set_content("Our weekly offer.\n")
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
        client.ehlo("laptop.example")
        client.login(SENDER, PASSWORD)
        client.send_message(mail, from_addr=SENDER, to_addrs=list(RECIPIENTS))


def record() -> list[Request]:
    """The requests a real Postfix sends for one authenticated message to two recipients."""
    with recording_relay() as (port, server):
        submit(port)
        with server.lock:
            return list(server.requests)


def write(requests: list[Request], path: Path = RECORDED) -> None:
    blocks = (
        "".join(f"{name}={value}\n" for name, value in request.items()) for request in requests
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(blocks))


def load(path: Path = RECORDED) -> list[Request]:
    """The recorded requests, each an ordered mapping of attribute to value."""
    requests = []
    for block in path.read_text().split("\n\n"):
        lines = [line for line in block.splitlines() if line]
        if lines:
            requests.append(dict(line.partition("=")[::2] for line in lines))
    return requests


def shape(requests: list[Request]) -> list[tuple[str, tuple[str, ...]]]:
    """What must not drift: each request's protocol state and its attribute names, in order."""
    return [(request.get("protocol_state", ""), tuple(request)) for request in requests]


def messages(
    senders: list[str], count: int, *, seed: int = 7, recorded: list[Request] | None = None
) -> list[bytes]:
    """`count` messages as Postfix asks about them: a RCPT request per recipient, then the
    END-OF-MESSAGE request, every attribute the recorded ones carry.

    Senders are drawn from `senders` (SASL user and envelope sender alike); recipients per
    message cycle through 1, 1, 2 and 3; queue ids and client ports are new for each message.
    Returns one bytes object per message: what the client sends, request by request, is split
    on the blank lines.
    """
    recorded = recorded or load()
    rcpt = next(request for request in recorded if request.get("protocol_state") == "RCPT")
    end = next(r for r in recorded if r.get("protocol_state") == "END-OF-MESSAGE")
    chooser = random.Random(seed)
    out = []
    for number in range(count):
        sender = chooser.choice(senders)
        recipients = (1, 1, 2, 3)[number % 4]
        queue_id = f"4Q{number:09X}"
        common = {
            "sasl_username": sender,
            "sender": sender,
            "client_port": str(1024 + number % 60000),
            "instance": f"{number:x}.6751f0a1.7e0a2.0",
        }
        blocks = []
        for index in range(recipients):
            # Postfix assigns the queue id with the first accepted recipient: the first RCPT
            # request has none, later ones and END-OF-MESSAGE carry it.
            values = rcpt | common | {"recipient": f"r{index}.{number}@mail.example"}
            values |= {"recipient_count": "0", "queue_id": queue_id if index else ""}
            blocks.append(values)
        eom = end | common | {"queue_id": queue_id, "recipient": ""}
        eom["recipient_count"] = str(recipients)
        blocks.append(eom)
        out.append(
            b"".join(
                "".join(f"{name}={value}\n" for name, value in block.items()).encode() + b"\n"
                for block in blocks
            )
        )
    return out


if __name__ == "__main__":
    seen = record()
    write(seen)
    print(f"{RECORDED.relative_to(REPO)}: {len(seen)} requests, {shape(seen)}")
