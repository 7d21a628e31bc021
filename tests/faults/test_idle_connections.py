"""10,000 connections opened and left idle against the SMTP listener and the policy service:
the server's memory stays bounded, other clients are still served at once, and the idle
connections are timed out (SMTP) or make room for real clients (the policy service's cap).

The server is `abusedesk serve` in a process of its own (its memory measured
from /proc); the idle connections are this test's, from many loopback addresses
so that per-peer limits do not hide the flood from the global bounds.
"""

from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest
from sqlalchemy import Engine

from abusedesk.enforce.server import ServerLimits
from tests.conftest import crlf
from tests.enforce.policy_client import read_answers, request
from tests.faults.conftest import on_sqlite, send_report, wait_for
from tests.faults.idle_clients import close_all, closed_by_server, open_idle
from tests.faults.memory import PeakSampler
from tests.faults.serve_process import serve_process
from tests.support.reports import numbered_report

IDLE = 10_000
KiB = 1024
PER_CONNECTION = 24 * KiB
"""The memory an idle connection may cost the server (aiosmtpd's is about 11 KiB)."""
IDLE_TIMEOUT = 20
PROMPT = 1.0


@pytest.mark.slow
@on_sqlite
def test_idle_smtp_connections_cost_bounded_memory_and_are_timed_out(
    engine: Engine, database_url: str, tmp_path: Path
) -> None:
    env = {"ABUSEDESK_SMTP__IDLE_TIMEOUT_SECONDS": str(IDLE_TIMEOUT)}
    roles = ("--no-worker", "--no-web", "--no-imap", "--no-policy")
    with serve_process(database_url, tmp_path / "data", *roles, env=env) as server:
        files_before = server.open_files()
        with (
            PeakSampler(server.rss_bytes, 0.1) as memory,
            PeakSampler(server.open_files, 0.1) as files,
        ):
            idle = open_idle(server.address[1], IDLE)
        try:
            assert files.peak > files_before + IDLE // 2, "the idle connections were not held"
            grown = f"{memory.growth / KiB / IDLE:.1f} KiB per idle connection"
            assert memory.growth < IDLE * PER_CONNECTION, grown
            started = time.monotonic()
            code, _ = send_report(server.address, crlf(numbered_report(1)))
            assert code == 250 and time.monotonic() - started < PROMPT
            wait_for(lambda: all(closed_by_server(c) for c in idle), IDLE_TIMEOUT + 30, "timeouts")
            wait_for(lambda: server.open_files() < files_before + 20, 10, "the server's sockets")
        finally:
            close_all(idle)
        print(f"smtp: {grown}; {IDLE} idle connections held at most {files.peak - files_before}")


def ask_policy(address: tuple[str, int]) -> str:
    with socket.create_connection(address, timeout=5) as client:
        client.sendall(request(sender="alice@shop.example"))
        [answer] = read_answers(client, 1)
    return answer


@pytest.mark.slow
@on_sqlite
def test_idle_policy_connections_are_capped_and_postfix_is_still_answered(
    directory_engine: Engine, database_url: str, tmp_path: Path
) -> None:
    cap = ServerLimits().max_connections
    roles = ("--no-smtp", "--no-worker", "--no-web", "--no-imap")
    with serve_process(database_url, tmp_path / "data", *roles) as server:
        assert server.policy_address is not None
        files_before = server.open_files()
        # Postfix's smtpd processes hold their connections and ask on them now and then.
        postfix = socket.create_connection(server.policy_address, timeout=5)
        postfix.sendall(request(sender="alice@shop.example"))
        assert read_answers(postfix, 1) == ["DUNNO"]
        with (
            PeakSampler(server.rss_bytes, 0.1) as memory,
            PeakSampler(server.open_files, 0.1) as files,
        ):
            idle = open_idle(server.policy_address[1], IDLE)
        try:
            # Beyond the cap a connection is accepted and closed at once: a few are in between.
            assert files.peak <= files_before + cap * 1.05, "the connection cap did not hold"
            grown = f"{memory.growth / KiB / cap:.1f} KiB per held connection"
            assert memory.growth < cap * PER_CONNECTION, grown
            # The flood took every free slot: a new client and the old one are still answered.
            started = time.monotonic()
            assert ask_policy(server.policy_address) == "DUNNO"
            postfix.sendall(request(sender="alice@shop.example"))
            assert read_answers(postfix, 1) == ["DUNNO"]
            assert time.monotonic() - started < PROMPT
            assert sum(closed_by_server(c) for c in idle) >= IDLE - cap
        finally:
            close_all(idle)
            postfix.close()
        print(f"policy: {grown}; {IDLE} idle connections, at most {files.peak - files_before} held")
