"""Start enforcement inside `abusedesk serve`: the send state, and the policy service on top.

The web role's can-send route needs the send state even on a node without the
policy service, so the state (and its tracker) starts for either role.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from prometheus_client import CollectorRegistry
from sqlalchemy import Engine

from abusedesk.config import PolicySettings
from abusedesk.enforce.metering import MeterFlusher, SendMeter
from abusedesk.enforce.server import PolicyServer
from abusedesk.enforce.state import SendState
from abusedesk.enforce.stats import EnforcementCollector, PolicyStats
from abusedesk.enforce.tracking import SendStateTracker
from abusedesk.enforce.verdict import PolicyDecider, reject_answer

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Enforcement:
    state: SendState
    policy_address: tuple[str, int] | None


async def start_enforcement(
    settings: PolicySettings,
    engine: Engine,
    running: contextlib.AsyncExitStack,
    *,
    serve_policy: bool,
    registry: CollectorRegistry | None = None,
) -> Enforcement:
    """Load the send state, follow it, and (with `serve_policy`) listen for Postfix.

    With a `registry`, the state and the policy service's counters are in its metrics.
    """
    reject = reject_answer(settings.reject_action) if serve_policy else b""
    state = SendState()
    tracker = SendStateTracker(engine, state)
    await tracker.load()
    _run_until_unwound(tracker.run, running)
    stats = PolicyStats() if serve_policy else None
    if registry is not None:
        registry.register(EnforcementCollector(state, stats))
    if stats is None:
        return Enforcement(state, None)
    meter = SendMeter()
    flusher = MeterFlusher(engine, meter, stats=stats)
    _run_until_unwound(flusher.run, running)  # its last flush runs after the server closed
    server = PolicyServer(PolicyDecider(state, meter, reject, stats).answer, stats=stats)
    address = await server.start(settings.host, settings.port)
    running.push_async_callback(server.close)
    log.info("policy: listening on %s:%s", *address)
    return Enforcement(state, address)


def _run_until_unwound(
    run: Callable[[asyncio.Event], Awaitable[None]], running: contextlib.AsyncExitStack
) -> None:
    stop = asyncio.Event()
    task: asyncio.Task[None] = asyncio.create_task(_awaited(run(stop)))

    async def stop_and_wait() -> None:
        stop.set()
        await task

    running.push_async_callback(stop_and_wait)


async def _awaited(awaitable: Awaitable[None]) -> None:
    await awaitable
