"""Group commit: many concurrent SMTP transactions share one database commit (one fsync).

Each DATA command hands its report to the committer and waits for its own id.
While one batch is being written, new reports queue up and go together in the
next batch, so under load the cost of a durable commit is shared by everyone
who arrived meanwhile, and an idle listener still commits each report at once.
A failed batch fails every report in it: each of those senders gets a 451 and
retries, and nothing of the batch was written.

The batches are written by one thread of the committer's own, which hands each
batch's ids back to the event loop in one call: handing every batch to a pool
thread (`asyncio.to_thread`) cost the listener more than the commit itself.
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from collections.abc import Callable, Sequence

from abusedesk.errors import StorageError
from abusedesk.ingest.spool import IncomingReport

MAX_BATCH = 256
STOP_SECONDS = 10.0

StoreBatch = Callable[[Sequence[IncomingReport]], list[int]]
Waiting = tuple[IncomingReport, "asyncio.Future[int]"]


class GroupCommitter:
    """Runs `store_batch` in a thread of its own for batches of queued reports."""

    def __init__(
        self,
        store_batch: StoreBatch,
        max_batch: int = MAX_BATCH,
        close: Callable[[], None] | None = None,
    ) -> None:
        self._store_batch = store_batch
        self._close = close or (lambda: None)
        """Run by the committer's thread when it stops (its connection is closed there)."""
        self._max_batch = max_batch
        self._waiting: deque[Waiting] = deque()
        self._arrived = threading.Condition()
        self._stopping = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start committing for the running event loop."""
        self._loop = asyncio.get_running_loop()
        self._thread = threading.Thread(target=self._run, name="group-commit", daemon=True)
        self._thread.start()

    async def stop(self) -> None:
        """Finish the batch being written; reports still waiting are refused (451)."""
        with self._arrived:
            self._stopping = True
            self._arrived.notify()
        if self._thread is not None:
            await asyncio.to_thread(self._thread.join, STOP_SECONDS)

    async def store(self, report: IncomingReport) -> int:
        """Store `report` durably; returns its id or raises what the batch's commit raised."""
        future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        with self._arrived:
            if self._stopping:
                raise StorageError("the listener is shutting down")
            self._waiting.append((report, future))
            self._arrived.notify()
        return await future

    def _run(self) -> None:
        try:
            self._commit_until_stopped()
        finally:
            self._close()

    def _commit_until_stopped(self) -> None:
        assert self._loop is not None
        while batch := self._next_batch():
            ids: list[int] | None = None
            error: BaseException | None = None
            try:
                stored = self._store_batch([report for report, _ in batch])
                if len(stored) == len(batch):
                    ids = stored
                else:
                    error = StorageError(f"{len(batch)} reports stored, {len(stored)} ids")
            except Exception as exc:  # every waiter learns that its report was not stored
                error = exc
            try:
                self._loop.call_soon_threadsafe(_settle, batch, ids, error)
            except RuntimeError:  # the loop is closed: nobody is waiting any more
                return
        refused = StorageError("the listener is shutting down")
        with self._arrived:
            left, self._waiting = list(self._waiting), deque()
        if left:
            self._loop.call_soon_threadsafe(_settle, left, None, refused)

    def _next_batch(self) -> list[Waiting]:
        """Wait for reports; take up to `max_batch` of them. Empty when stopping."""
        with self._arrived:
            while not self._waiting and not self._stopping:
                self._arrived.wait()
            if self._stopping:
                return []
            count = min(len(self._waiting), self._max_batch)
            return [self._waiting.popleft() for _ in range(count)]


def _settle(batch: list[Waiting], ids: list[int] | None, error: BaseException | None) -> None:
    if ids is not None:
        for (_, future), report_id in zip(batch, ids, strict=True):
            if not future.done():
                future.set_result(report_id)
        return
    for _, future in batch:
        if not future.done():
            future.set_exception(error or StorageError("the report was not stored"))
