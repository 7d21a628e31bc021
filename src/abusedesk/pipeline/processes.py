"""Worker processes: `abusedesk serve` runs its processing workers beside itself, a core each.

Parsing a report is CPU work in Python. Run inside the service's process it
shares one interpreter lock with the SMTP listener, so each slows the other
down; in a process of its own a worker uses another core. Each worker process
builds its own database and policy engines from the settings and claims
reports like any other worker, so correctness needs nothing from here: a
worker that dies leaves its claims to be taken again once their lease runs
out. The service wakes its workers when it has stored reports, restarts one
that died, and counts what they processed in its own metrics (they send it
after every batch). A worker whose service was killed outright notices within
a second and exits.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
import signal
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.context import SpawnProcess
from multiprocessing.synchronize import Event as ProcessEvent

from abusedesk.config import Settings
from abusedesk.decide import RulesWatcher, policy_engine
from abusedesk.errors import AbusedeskError
from abusedesk.ingest.backoff import Backoff
from abusedesk.pipeline.worker import ProcessedObserver, ProcessedReport, ReportWorker
from abusedesk.store.engine import create_database_engine

log = logging.getLogger(__name__)

IDLE_POLL_SECONDS = 1.0
"""How long an idle worker waits for a wake-up before looking at the queue (and whether
its service is still there) anyway."""
LINGER_SECONDS = 0.02
"""After a batch that was not full, how long a worker lets the next one gather (see
`ReportWorker.run_until_idle`); a report waits at most this much longer for it."""
STOP_SECONDS = 5.0
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
RESTART_BACKOFF = Backoff(initial=1.0, cap=60.0)


@dataclass
class _Child:
    process: SpawnProcess
    wake: ProcessEvent
    results: Connection


class WorkerProcesses:
    """`count` worker processes, kept running until `stop`."""

    def __init__(self, settings: Settings, count: int, on_processed: ProcessedObserver) -> None:
        # Spawned, not forked: the service has threads (and an event loop) that a
        # forked child would inherit in whatever state they were in.
        self._context = multiprocessing.get_context("spawn")
        self._settings = settings
        self._count = count
        self._on_processed = on_processed
        self._stop = self._context.Event()
        self._children: list[_Child] = []
        self._supervisor: asyncio.Task[None] | None = None

    @property
    def pids(self) -> list[int]:
        return [child.process.pid for child in self._children if child.process.pid is not None]

    def start(self) -> None:
        """Start the processes (in the running loop) and a task that restarts any that die."""
        self._children = [self._spawn() for _ in range(self._count)]
        self._supervisor = asyncio.create_task(self._supervise(), name="worker-processes")

    def wake(self) -> None:
        """Reports were stored: look at the queue now rather than at the next poll."""
        for child in self._children:
            child.wake.set()

    def request_rules_check(self) -> None:
        """Pass a SIGHUP on: each worker checks the rules file now."""
        for pid in self.pids:
            # One that just died is restarted by the supervisor, with the current rules.
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGHUP)

    async def stop(self) -> None:
        """Let every worker finish its batch and exit (or end it after `STOP_SECONDS`)."""
        self._stop.set()
        if self._supervisor is not None:
            self._supervisor.cancel()
        self.wake()
        await asyncio.to_thread(self._join_all)
        loop = asyncio.get_running_loop()
        for child in self._children:
            loop.remove_reader(child.results.fileno())
            child.results.close()

    def _spawn(self) -> _Child:
        receiver, sender = self._context.Pipe(duplex=False)
        wake = self._context.Event()
        process = self._context.Process(
            target=run_worker_process,
            args=(self._settings, wake, self._stop, sender, os.getpid()),
            name="abusedesk-worker",
            daemon=False,
        )
        process.start()
        sender.close()  # the child holds the only sending end: its exit reads as end of file
        child = _Child(process, wake, receiver)
        asyncio.get_running_loop().add_reader(receiver.fileno(), self._read_results, child)
        log.info("worker: process %s started", process.pid)
        return child

    def _read_results(self, child: _Child) -> None:
        try:
            while child.results.poll():
                self._on_processed(child.results.recv())
        except (EOFError, OSError):  # the worker exited; the supervisor sees to it
            asyncio.get_running_loop().remove_reader(child.results.fileno())

    async def _supervise(self) -> None:
        retries = RESTART_BACKOFF.retries()
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(IDLE_POLL_SECONDS)
            if all(child.process.is_alive() for child in self._children):
                retries.reset()
            for index, child in enumerate(self._children):
                if child.process.is_alive() or self._stop.is_set():
                    continue
                delay = retries.next_delay()
                log.error(
                    "worker: process %s exited with %s; starting another in %.0f s",
                    child.process.pid,
                    child.process.exitcode,
                    delay,
                )
                await asyncio.sleep(delay)
                loop.remove_reader(child.results.fileno())
                child.results.close()
                child.process.close()
                if not self._stop.is_set():
                    self._children[index] = self._spawn()

    def _join_all(self) -> None:
        for child in self._children:
            child.process.join(STOP_SECONDS)
            if child.process.is_alive():
                log.warning("worker: process %s did not stop; ending it", child.process.pid)
                child.process.kill()
                child.process.join(STOP_SECONDS)


def run_worker_process(
    settings: Settings,
    wake: ProcessEvent,
    stop: ProcessEvent,
    results: Connection,
    service_pid: int,
) -> None:
    """The body of one worker process: process reports until told to stop."""
    logging.basicConfig(level=settings.log_level, format=LOG_FORMAT)
    # The service stops its workers itself; a Ctrl-C reaches the whole process group.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    ended = threading.Event()
    signal.signal(signal.SIGTERM, lambda _signum, _frame: ended.set())

    def keep_going() -> bool:
        return not (stop.is_set() or ended.is_set() or os.getppid() != service_pid)

    def report(processed: Sequence[ProcessedReport]) -> None:
        results.send(list(processed))

    url = settings.effective_database_url
    engine = create_database_engine(url)
    write_engine = create_database_engine(url, for_worker=True)
    try:
        policy = policy_engine(settings)
        if settings.rules.reload:
            _watch_rules(RulesWatcher(policy, settings.rules.path), ended)
        worker = ReportWorker(
            engine, settings, write_engine=write_engine, policy=policy, on_processed=report
        )
        log.info("worker: process %s processing reports", os.getpid())
        while keep_going():
            wake.clear()
            try:
                worker.run_until_idle(keep_going=keep_going, linger=LINGER_SECONDS)
            except (BrokenPipeError, EOFError):
                break  # the service is gone
            except Exception:  # the database may be away for a while: keep trying
                log.exception("worker: could not process reports; retrying")
            wake.wait(IDLE_POLL_SECONDS)
    except AbusedeskError as exc:
        log.error("worker: process %s cannot run: %s", os.getpid(), exc)
        raise SystemExit(1) from None
    finally:
        ended.set()
        write_engine.dispose()
        engine.dispose()


def _watch_rules(watcher: RulesWatcher, ended: threading.Event) -> None:
    """Follow rules reloads like the service does; the service alone writes the status file."""
    watcher.install_sighup()
    threading.Thread(target=watcher.run, args=(ended,), name="rules-watcher", daemon=True).start()
