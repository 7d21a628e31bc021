"""A policy service on a loopback port, in a thread with its own event loop."""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Callable, Iterator
from typing import TypeVar

import pytest

from abusedesk.config import PolicySettings
from abusedesk.enforce.metering import SendMeter
from abusedesk.enforce.server import PolicyServer, ServerLimits
from abusedesk.enforce.state import SendState
from abusedesk.enforce.verdict import PolicyDecider, reject_answer

T = TypeVar("T")
REJECT = PolicySettings().reject_action
SUSPENDED = "mallory@shop.example"
DELETED = "gone@shop.example"


class BackgroundPolicyServer:
    def __init__(self, limits: ServerLimits | None = None) -> None:
        self.state = SendState()
        self.state.replace([(1, SUSPENDED), (2, DELETED)], version=2)
        self.meter = SendMeter()
        self._limits = limits
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self.address: tuple[str, int] = ("", 0)
        self.server: PolicyServer | None = None

    def call(self, function: Callable[[], T]) -> T:
        """Run `function` on the server's loop (where the state lives) and return its result."""

        async def run() -> T:
            return function()

        return asyncio.run_coroutine_threadsafe(run(), self._loop).result(5)

    def __enter__(self) -> BackgroundPolicyServer:
        self._thread.start()

        async def start() -> tuple[str, int]:
            decider = PolicyDecider(self.state, self.meter, reject_answer(REJECT))
            self.server = PolicyServer(decider.answer, self._limits)
            return await self.server.start("127.0.0.1", 0)

        self.address = asyncio.run_coroutine_threadsafe(start(), self._loop).result(5)
        return self

    def __exit__(self, *_exc: object) -> None:
        assert self.server is not None
        future: concurrent.futures.Future[None] = asyncio.run_coroutine_threadsafe(
            self.server.close(), self._loop
        )
        future.result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()


@pytest.fixture
def policy_server() -> Iterator[BackgroundPolicyServer]:
    with BackgroundPolicyServer() as server:
        yield server
