"""The demo's smarthost: a loopback SMTP server that keeps the notices it is sent, in memory.

The demo has no mail system to deliver its notices to; this stands in for the
platform's smarthost, so the demo shows a notice that really went through the
outbox and over SMTP.
"""

from __future__ import annotations

import socket
import threading
from typing import Any

from aiosmtpd.controller import Controller


class DemoSmarthost:
    def __init__(self) -> None:
        self.messages: list[tuple[tuple[str, ...], bytes]] = []
        self._lock = threading.Lock()
        with socket.socket() as probe:  # the Controller checks readiness on a fixed port
            probe.bind(("127.0.0.1", 0))
            self.port = int(probe.getsockname()[1])
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self._lock:
            self.messages.append((tuple(envelope.rcpt_tos), bytes(envelope.original_content)))
        return "250 2.0.0 kept by the demo smarthost"

    def count(self) -> int:
        with self._lock:
            return len(self.messages)

    def start(self) -> None:
        self._controller.start()

    def stop(self) -> None:
        self._controller.stop()
