"""The policy service's listener: many connections, many pipelined requests on each.

Each connection is an `asyncio.Protocol` (no stream wrappers: every Postfix
smtpd process keeps one connection and asks on it for every recipient, so the
per-request path is kept short). Answers go out in request order, those to
one read in one write. A malformed request is logged and the connection
closed without an answer to it. A sweeper closes connections that sit idle
for too long or take too long to finish a request (a slow or stuck client
must not hold a slot forever); a client that does not read its answers is
stopped from sending more until it does.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass

from abusedesk.enforce.protocol import PolicyRequest, RequestReader
from abusedesk.enforce.stats import PolicyStats

log = logging.getLogger(__name__)

Decide = Callable[[PolicyRequest], bytes]


@dataclass(frozen=True, slots=True)
class ServerLimits:
    idle_seconds: float = 600.0
    """Postfix itself closes idle policy connections after smtpd_policy_service_max_idle."""
    request_seconds: float = 30.0
    """From the first byte of a request to its end."""
    max_connections: int = 4096
    sweep_seconds: float = 1.0


class PolicyConnection(asyncio.Protocol):
    def __init__(self, server: PolicyServer) -> None:
        self._server = server
        self._decide = server.decide
        self._stats = server.stats
        self._reader = RequestReader()
        self._transport: asyncio.Transport | None = None
        self.peer = "?"
        self.last_activity = 0.0
        self.request_started: float | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        peer = transport.get_extra_info("peername")
        self.peer = f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) else str(peer)
        self.last_activity = self._server.loop.time()
        if not self._server.register(self):
            log.warning("policy: refusing %s: %d connections open", self.peer, len(self._server))
            transport.abort()

    def connection_lost(self, exc: Exception | None) -> None:
        self._server.unregister(self)
        self._transport = None

    def data_received(self, data: bytes) -> None:
        transport = self._transport
        if transport is None:
            return
        now = self._server.loop.time()
        self.last_activity = now
        requests, problem = self._reader.feed(data)
        if requests:
            self._stats.requests += len(requests)
            try:
                decide = self._decide
                transport.write(b"".join([decide(request) for request in requests]))
            except Exception:
                log.exception("policy: could not answer %s; closing the connection", self.peer)
                transport.abort()
                return
        if problem is not None:
            self._stats.malformed += 1
            log.warning("policy: malformed request from %s: %s; closing", self.peer, problem)
            transport.close()
            return
        if self._reader.pending:
            if self.request_started is None:
                self.request_started = now
        else:
            self.request_started = None

    def buffered(self) -> int:
        """Bytes this connection holds in memory: answers not yet sent, a request not yet ended."""
        waiting = self._transport.get_write_buffer_size() if self._transport else 0
        return waiting + self._reader.buffered

    def pause_writing(self) -> None:
        # The client is not reading its answers: read no more of its questions.
        if self._transport is not None:
            self._transport.pause_reading()

    def resume_writing(self) -> None:
        if self._transport is not None:
            self._transport.resume_reading()

    def close(self, why: str, *, abort: bool = False) -> None:
        """Close politely (what was answered is still delivered), or `abort` a stuck client."""
        transport, self._transport = self._transport, None
        if transport is not None:
            log.info("policy: closing %s: %s", self.peer, why)
            if abort:
                transport.abort()
            else:
                transport.close()


class PolicyServer:
    """Serves `decide` on a TCP port until closed."""

    def __init__(
        self, decide: Decide, limits: ServerLimits | None = None, stats: PolicyStats | None = None
    ) -> None:
        self.decide = decide
        self.limits = limits or ServerLimits()
        self.stats = stats or PolicyStats()
        self.loop = asyncio.get_running_loop()
        self._connections: set[PolicyConnection] = set()
        self._server: asyncio.Server | None = None
        self._sweeper: asyncio.Task[None] | None = None

    def __len__(self) -> int:
        return len(self._connections)

    def connections(self) -> list[PolicyConnection]:
        return list(self._connections)

    def register(self, connection: PolicyConnection) -> bool:
        if len(self._connections) >= self.limits.max_connections:
            return False
        self._connections.add(connection)
        return True

    def unregister(self, connection: PolicyConnection) -> None:
        self._connections.discard(connection)

    async def start(self, host: str, port: int) -> tuple[str, int]:
        self._server = await self.loop.create_server(
            lambda: PolicyConnection(self), host, port, reuse_address=True
        )
        self._sweeper = asyncio.create_task(self._sweep())
        address = self._server.sockets[0].getsockname()
        return str(address[0]), int(address[1])

    async def close(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
        if self._server is not None:
            self._server.close()
            for connection in list(self._connections):
                connection.close("shutting down")
            await self._server.wait_closed()

    async def _sweep(self) -> None:
        limits = self.limits
        while True:
            await asyncio.sleep(limits.sweep_seconds)
            now = self.loop.time()
            for connection in list(self._connections):
                started = connection.request_started
                if started is not None and now - started > limits.request_seconds:
                    connection.close(
                        f"a request unfinished after {limits.request_seconds:g} s", abort=True
                    )
                elif now - connection.last_activity > limits.idle_seconds:
                    connection.close(f"idle for {limits.idle_seconds:g} s", abort=True)
