"""The smarthost accepts connections and never answers: notices stay queued, the service
keeps taking and processing reports and stops promptly (every SMTP wait is bounded), and
once a smarthost answers again each notice is delivered exactly once.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time

import pytest
from sqlalchemy import Engine, select
from sqlmodel import Session, col

from abusedesk.config import Settings
from abusedesk.service import Roles
from abusedesk.store.tables import Notice, RawReport
from tests.conftest import RunningService, crlf
from tests.faults.conftest import send_report, wait_for
from tests.notify.conftest import notice_settings, with_notices
from tests.notify.reports import report
from tests.support.smtp_sink import SmtpSink

TIMEOUT = 1.0
SERVICE = Roles(web=False, imap=False)


class SilentSmarthost:
    """Accepts every connection and never says a word (no greeting, no reply), until closed."""

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._listener.getsockname()[1])
        self.connections: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        with contextlib.suppress(OSError):
            while True:
                connection, _ = self._listener.accept()
                self.connections.append(connection)

    def close(self) -> None:
        # A blocked accept() keeps the listening socket alive in the kernel; shutdown wakes it.
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)
        self._listener.close()
        self._thread.join(5)
        for connection in self.connections:
            connection.close()


def notices(engine: Engine) -> list[Notice]:
    with Session(engine) as session:
        return list(session.execute(select(Notice).order_by(col(Notice.id))).scalars())


def processed(engine: Engine, report_id: int) -> bool:
    with Session(engine) as session:
        found = session.get(RawReport, report_id)
        return found is not None and found.status != "pending"


@pytest.mark.slow
def test_a_silent_smarthost_keeps_notices_queued_without_hanging_the_service(
    settings: Settings, directory_engine: Engine
) -> None:
    silent = SilentSmarthost()
    fast = {"smtp_timeout_seconds": TIMEOUT, "retry_initial_seconds": 0.2, "retry_max_seconds": 0.5}
    configured = with_notices(settings, notice_settings(silent.port, **fast))
    try:
        with RunningService(configured, directory_engine, SERVICE) as service:
            for number in range(1, 7):
                raw = crlf(report(number, "alice@shop.example", b"Spring sale"))
                assert send_report(service.smtp_address, raw)[0] == 250
            wait_for(lambda: len(notices(directory_engine)) == 1, 20, "the AUP notice")
            wait_for(
                lambda: notices(directory_engine)[0].attempts >= 3,
                20,
                "delivery attempts to time out",
            )
            [waiting] = notices(directory_engine)
            # Queued, or claimed by the round that is waiting on the smarthost right now.
            assert waiting.status in ("queued", "sending") and waiting.sent_at is None
            assert waiting.last_error and "timed out" in waiting.last_error, waiting.last_error
            # Meanwhile intake answers at once and the worker keeps processing.
            started = time.monotonic()
            code, message = send_report(
                service.smtp_address, crlf(report(7, "bob@shop.example", b"Hello"))
            )
            assert code == 250 and time.monotonic() - started < TIMEOUT
            report_id = int(message.split()[-1])
            wait_for(lambda: processed(directory_engine, report_id), 5, "the worker")
            # Stop while a delivery round is waiting on the smarthost.
            wait_for(lambda: notices(directory_engine)[0].status == "sending", 5, "a round")
            stopping = time.monotonic()
        stopped_in = time.monotonic() - stopping
        # The round waiting on the smarthost gives up after its timeout; nothing waits longer.
        assert stopped_in < TIMEOUT + 3, f"the service took {stopped_in:.1f}s to stop"
        assert len(silent.connections) >= 3
    finally:
        silent.close()

    with (
        SmtpSink(port=silent.port) as sink,
        RunningService(configured, directory_engine, SERVICE),
    ):
        wait_for(lambda: len(sink.received) == 1, 20, "the notice to be delivered")
        time.sleep(1.5)  # more delivery rounds: none may send it again
        [delivered] = sink.received
    [sent] = notices(directory_engine)
    assert sent.status == "sent" and delivered.message["Message-ID"] == sent.message_id
    assert delivered.rcpt_tos == ("abuse@acme-resellers.example",)
