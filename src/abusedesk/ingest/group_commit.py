"""Group commit: many concurrent SMTP transactions share one database commit (one fsync).

Each DATA command hands its report to the committer and waits for its own id.
While one batch is being written, new reports queue up and go together in the
next batch, so under load the cost of a durable commit is shared by everyone
who arrived meanwhile, and an idle listener still commits each report at once.
A failed batch fails every report in it: each of those senders gets a 451 and
retries, and nothing of the batch was written.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence

from abusedesk.ingest.spool import IncomingReport

MAX_BATCH = 256

StoreBatch = Callable[[Sequence[IncomingReport]], list[int]]


class GroupCommitter:
    """Runs `store_batch` in a worker thread for batches of queued reports."""

    def __init__(self, store_batch: StoreBatch, max_batch: int = MAX_BATCH) -> None:
        self._store_batch = store_batch
        self._max_batch = max_batch
        self._queue: asyncio.Queue[tuple[IncomingReport, asyncio.Future[int]]] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="group-commit")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def store(self, report: IncomingReport) -> int:
        """Store `report` durably; returns its id or raises what the batch's commit raised."""
        future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        await self._queue.put((report, future))
        return await future

    async def _run(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while len(batch) < self._max_batch and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            reports = [report for report, _ in batch]
            try:
                ids = await asyncio.to_thread(self._store_batch, reports)
            except Exception as exc:  # every waiter learns that its report was not stored
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            for (_, future), report_id in zip(batch, ids, strict=True):
                if not future.done():
                    future.set_result(report_id)
