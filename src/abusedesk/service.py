"""`abusedesk serve`: the long-running service — intake, processing and HTTP in one loop.

Each part can be switched off so that a deployment can run intake on some
nodes and workers on others, all sharing one database.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import uvicorn
from sqlalchemy import Engine
from starlette.applications import Starlette

from abusedesk.config import Settings, WebSettings
from abusedesk.decide import PolicyEngine, RulesWatcher, policy_engine
from abusedesk.enforce.running import start_enforcement
from abusedesk.ingest.imap import run_imap_poller
from abusedesk.ingest.smtp import start_smtp_listener
from abusedesk.metrics import Metrics
from abusedesk.notify.deliver import run_delivery
from abusedesk.pipeline.claims import pending_count
from abusedesk.pipeline.processes import WorkerProcesses
from abusedesk.pipeline.worker import ReportWorker, count_processed
from abusedesk.store.engine import create_database_engine
from abusedesk.web.app import build_app
from abusedesk.web.can_send import CanSendApi
from abusedesk.web.console.mount import build_console
from abusedesk.web.provisioning import ProvisioningApi

log = logging.getLogger(__name__)

IDLE_POLL_SECONDS = 1.0

Address = tuple[str, int]


@dataclass(frozen=True, slots=True)
class Roles:
    smtp: bool = True
    worker: bool = True
    web: bool = True
    imap: bool = True
    policy: bool = True


@dataclass(frozen=True, slots=True)
class Listening:
    smtp: Address | None = None
    web: Address | None = None
    policy: Address | None = None


async def run_service(
    settings: Settings,
    engine: Engine,
    roles: Roles,
    *,
    stop: asyncio.Event | None = None,
    on_ready: Callable[[Listening], None] | None = None,
) -> None:
    """Run until `stop` is set (or SIGINT/SIGTERM arrives)."""
    stop = stop or _stop_on_signals()
    metrics = Metrics()
    metrics.track_queue_depth(lambda: pending_count(engine))
    wake_worker = asyncio.Event()
    policy = policy_engine(settings) if roles.worker or roles.web else None
    processes = None
    if roles.worker and settings.worker.processes:
        processes = WorkerProcesses(
            settings, settings.worker.processes, partial(count_processed, metrics)
        )
    async with contextlib.AsyncExitStack() as running:
        if policy is not None and settings.rules.reload:
            _watch_rules(policy, settings, stop, running, processes)
        else:
            _ignore_sighup()
        smtp_address = web_address = None
        enforcement = None
        if roles.policy or roles.web:
            enforcement = await start_enforcement(
                settings.policy,
                engine,
                running,
                serve_policy=roles.policy,
                registry=metrics.registry,
            )
        if roles.smtp:
            server, committer = await start_smtp_listener(
                engine, settings.smtp, settings.providers, metrics, wake_worker.set
            )
            running.push_async_callback(committer.stop)
            running.push_async_callback(_close_server, server)
            smtp_address = _address(server)
            log.info("smtp: listening on %s:%s", *smtp_address)
        if roles.web:
            provisioning = ProvisioningApi(engine, policy, settings.web.service_token)
            console = build_console(settings, engine, policy)
            assert enforcement is not None
            can_send = CanSendApi(enforcement.state, settings.web.service_token)
            app = build_app(metrics, provisioning, console, can_send)
            web_address = await _start_web(settings, app, running)
        if processes is not None:
            processes.start()
            running.push_async_callback(processes.stop)
            forwarder = asyncio.create_task(_forward_wakes(wake_worker, processes))
            running.push_async_callback(_cancel, forwarder)
        elif roles.worker:
            write_engine = create_database_engine(settings.effective_database_url, for_worker=True)
            running.callback(write_engine.dispose)
            worker = ReportWorker(
                engine, settings, write_engine=write_engine, metrics=metrics, policy=policy
            )
            task = asyncio.create_task(_work(worker, wake_worker, stop))
            running.push_async_callback(_wait_for, task)
        if roles.worker:
            # Worker nodes also deliver the outbox; claims keep nodes from sending one twice.
            sender = asyncio.create_task(run_delivery(engine, settings.notices, stop, metrics))
            running.push_async_callback(_wait_for, sender)
        if roles.imap and settings.imap.accounts:
            poller = asyncio.create_task(run_imap_poller(settings, engine, stop, wake_worker.set))
            running.push_async_callback(_wait_for, poller)
        if on_ready:
            policy_address = enforcement.policy_address if enforcement else None
            on_ready(Listening(smtp=smtp_address, web=web_address, policy=policy_address))
        await stop.wait()


def web_server_config(web: WebSettings, app: Starlette) -> uvicorn.Config:
    """How uvicorn serves the web role; X-Forwarded-For only from `[web] trusted_proxies`.

    uvicorn's own default trusts the header from 127.0.0.1, which would let any
    local process pick the client address that sign-in limits and the audit
    trail see; with no proxy configured, no header is read at all.
    """
    return uvicorn.Config(
        app,
        host=web.host,
        port=web.port,
        log_level="warning",
        lifespan="off",
        proxy_headers=bool(web.trusted_proxies),
        forwarded_allow_ips=list(web.trusted_proxies),
    )


async def _start_web(
    settings: Settings, app: Starlette, running: contextlib.AsyncExitStack
) -> Address:
    server = uvicorn.Server(web_server_config(settings.web, app))
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()  # surfaces why it could not start (e.g. the port is taken)
        await asyncio.sleep(0.01)

    async def shut_down() -> None:
        server.should_exit = True
        await task

    running.push_async_callback(shut_down)
    address = _address(server.servers[0])
    log.info("web: listening on %s:%s", *address)
    return address


def _watch_rules(
    policy: PolicyEngine,
    settings: Settings,
    stop: asyncio.Event,
    running: contextlib.AsyncExitStack,
    processes: WorkerProcesses | None = None,
) -> None:
    """Reload the rules when the file changes or on SIGHUP; a bad file keeps the last good rules.

    Worker processes watch the file too; a SIGHUP is passed on to them.
    """
    watcher = RulesWatcher(policy, settings.rules.path, settings.data_dir)
    stopped = threading.Event()
    thread = threading.Thread(
        target=watcher.run, args=(stopped,), name="rules-watcher", daemon=True
    )
    thread.start()
    with contextlib.suppress(RuntimeError, ValueError):  # signals belong to the main thread
        asyncio.get_running_loop().add_signal_handler(signal.SIGHUP, _on_sighup, watcher, processes)

    def stop_watching() -> None:
        stopped.set()
        watcher.request_check()
        thread.join(5)

    running.callback(stop_watching)


def _ignore_sighup() -> None:
    """A node with no rules to reload must not die of the SIGHUP sent to every node."""
    with contextlib.suppress(RuntimeError, ValueError):  # signals belong to the main thread
        asyncio.get_running_loop().add_signal_handler(
            signal.SIGHUP, log.info, "SIGHUP: this node runs no rules; nothing to reload"
        )


def _on_sighup(watcher: RulesWatcher, processes: WorkerProcesses | None) -> None:
    watcher.request_check()
    if processes is not None:
        processes.request_rules_check()


def _address(server: asyncio.Server) -> Address:
    host, port = server.sockets[0].getsockname()[:2]
    return str(host), int(port)


async def _close_server(server: asyncio.Server) -> None:
    server.close()
    await server.wait_closed()


async def _wait_for(task: asyncio.Task[None]) -> None:
    await task


async def _work(worker: ReportWorker, wake: asyncio.Event, stop: asyncio.Event) -> None:
    while not stop.is_set():
        wake.clear()
        try:
            await asyncio.to_thread(worker.run_until_idle)
        except Exception:  # the database may be away for a while: keep trying
            log.exception("worker: could not process reports; retrying")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(_first(wake, stop), timeout=IDLE_POLL_SECONDS)


async def _forward_wakes(wake: asyncio.Event, processes: WorkerProcesses) -> None:
    """Wake the worker processes once for however many reports were stored meanwhile."""
    while True:
        await wake.wait()
        wake.clear()
        processes.wake()


async def _cancel(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def _first(*events: asyncio.Event) -> None:
    waiters = [asyncio.create_task(event.wait()) for event in events]
    try:
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()


def _stop_on_signals() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    return stop
