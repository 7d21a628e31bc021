"""A 50 MB report: refused with 552 at the default limit without the listener holding it,
and stored, then parsed (the parser reads a capped prefix) in bounded time when allowed.

The listener runs as `abusedesk serve` in its own process so that its memory is
measured alone; the client streams the report and never holds it either.
"""

from __future__ import annotations

import smtplib
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlmodel import Session

from abusedesk.store.tables import Complaint, RawReport
from tests.conftest import crlf
from tests.faults.conftest import Address, on_sqlite, wait_for
from tests.faults.memory import PeakSampler
from tests.faults.serve_process import serve_process
from tests.support.reports import numbered_report

MiB = 1024 * 1024
REPORT_BYTES = 50 * MiB
DEFAULT_LIMIT = 10 * MiB
FILLER_LINE = b"QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5ejAxMjM0\r\n"
LINES_PER_CHUNK = 4096


def huge_report() -> tuple[int, Iterator[bytes]]:
    """A real ARF report whose original message carries a ~50 MB attachment, in chunks."""
    head, tail = crlf(numbered_report(1)).split(b"Buy now!\r\n")
    chunk = FILLER_LINE * LINES_PER_CHUNK
    chunks = (REPORT_BYTES - len(head) - len(tail)) // len(chunk) + 1

    def stream() -> Iterator[bytes]:
        yield head
        for _ in range(chunks):
            yield chunk
        yield tail

    return len(head) + chunks * len(chunk) + len(tail), stream()


def stream_report(address: Address, parts: Iterator[bytes]) -> tuple[int, bytes]:
    """Send one report without ever holding it whole: DATA written chunk by chunk."""
    with smtplib.SMTP(*address, timeout=120) as client:
        client.ehlo("mx.provider.example")
        client.mail("fbl@provider.example")  # no SIZE: the listener must find out by itself
        client.rcpt("fbl@abusedesk.example")
        client.putcmd("data")
        code, _ = client.getreply()
        assert code == 354
        assert client.sock is not None
        for part in parts:
            client.sock.sendall(part)
        client.sock.sendall(b".\r\n")
        return client.getreply()


@pytest.mark.slow
@on_sqlite
def test_a_50_mb_report_is_refused_at_the_default_limit_without_being_held(
    engine: Engine, database_url: str, tmp_path: Path
) -> None:
    size, parts = huge_report()
    assert size > REPORT_BYTES
    with serve_process(database_url, tmp_path / "data", "--no-web", "--no-imap") as server:
        with PeakSampler(server.rss_bytes) as memory:
            code, message = stream_report(server.address, parts)
        assert code == 552, message
        # aiosmtpd keeps lines up to the limit (each a bytearray, about twice its size),
        # then discards the rest as it reads: the growth is bounded by the limit, not
        # by what the sender sends.
        grown = f"the listener grew by {memory.growth / MiB:.1f} MiB"
        assert memory.growth < 3 * DEFAULT_LIMIT, grown
        # The session survives the refusal, and a normal report still goes in.
        code, _ = stream_report(server.address, iter([crlf(numbered_report(2))]))
        assert code == 250
    with Session(engine) as session:
        sizes = list(session.execute(select(RawReport.size)).scalars())
    assert len(sizes) == 1 and sizes[0] < MiB  # only the normal one was stored


@pytest.mark.slow
@on_sqlite
def test_a_50_mb_report_under_a_raised_limit_is_stored_and_parsed_in_bounded_time(
    directory_engine: Engine, database_url: str, tmp_path: Path
) -> None:
    size, parts = huge_report()
    env = {"ABUSEDESK_SMTP__MAX_MESSAGE_SIZE": str(64 * MiB)}
    with serve_process(database_url, tmp_path / "data", "--no-web", "--no-imap", env=env) as server:
        started = time.monotonic()
        code, message = stream_report(server.address, parts)
        assert code == 250, message

        def processed() -> bool:
            with Session(directory_engine) as session:
                return session.execute(select(RawReport.status)).scalar_one() != "pending"

        wait_for(processed, 60, "the worker to process the 50 MB report")
        elapsed = time.monotonic() - started
    with Session(directory_engine) as session:
        stored = session.execute(select(RawReport)).scalar_one()
        complaint = session.execute(select(Complaint)).scalar_one()
    assert stored.size == size and stored.status == "processed", stored.reason
    # The parser read a capped prefix, which holds the whole ARF part: still charged to alice.
    assert complaint.mailbox_id is not None and complaint.original_mail_from == "alice@shop.example"
    assert any("only the first" in problem for problem in complaint.problems), complaint.problems
    assert elapsed < 60
