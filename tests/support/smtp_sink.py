"""An aiosmtpd sink on loopback that plays the smarthost: it keeps what it is sent.

`answer` makes it refuse messages with a given reply ("451 4.3.0 try later",
"550 5.1.1 no such user"); `stop()` and `start()` take it down and bring it
back on the same port, as a smarthost that goes away for a while.
"""

from __future__ import annotations

import email
import email.policy
import socket
import threading
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller


@dataclass(frozen=True)
class Received:
    mail_from: str
    rcpt_tos: tuple[str, ...]
    raw: bytes

    @property
    def message(self) -> EmailMessage:
        parsed = email.message_from_bytes(self.raw, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed


class _Handler:
    def __init__(self, sink: SmtpSink) -> None:
        self._sink = sink

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self._sink.answer is not None:
            return self._sink.answer
        content = envelope.original_content or envelope.content
        with self._sink.lock:
            self._sink.received.append(
                Received(envelope.mail_from, tuple(envelope.rcpt_tos), bytes(content))
            )
        return "250 2.0.0 OK"


class SmtpSink:
    def __init__(self, port: int = 0) -> None:
        self.received: list[Received] = []
        self.answer: str | None = None
        self.lock = threading.Lock()
        self.port = port
        self._controller: Controller | None = None

    def start(self) -> SmtpSink:
        if self.port == 0:
            self.port = _free_port()  # the Controller checks readiness by connecting to it
        controller = Controller(_Handler(self), hostname="127.0.0.1", port=self.port)
        controller.start()
        self._controller = controller
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def __enter__(self) -> SmtpSink:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
