"""Group commit: concurrent reports share commits; a failed commit fails exactly its batch."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence

import pytest

from abusedesk.errors import StorageError
from abusedesk.ingest.group_commit import GroupCommitter
from abusedesk.ingest.spool import IncomingReport
from abusedesk.store.types import ReportSource


def report(n: int) -> IncomingReport:
    return IncomingReport(
        raw=b"report %d" % n, source=ReportSource.SMTP, trusted=False, trust_reason="test"
    )


def test_concurrent_reports_share_commits_and_each_gets_its_id() -> None:
    batches: list[int] = []
    release = threading.Event()

    def slow_store(reports: Sequence[IncomingReport]) -> list[int]:
        release.wait(5)  # the first commit is slow: everyone else queues behind it
        batches.append(len(reports))
        return [int(r.raw.split()[1]) * 10 for r in reports]

    async def main() -> list[int]:
        committer = GroupCommitter(slow_store)
        committer.start()
        tasks = [asyncio.create_task(committer.store(report(n))) for n in range(50)]
        await asyncio.sleep(0.1)
        release.set()
        ids = await asyncio.gather(*tasks)
        await committer.stop()
        return list(ids)

    assert asyncio.run(main()) == [n * 10 for n in range(50)]
    assert sum(batches) == 50
    assert len(batches) <= 3, batches  # not one commit per report


def test_failed_commit_fails_its_waiters_and_the_next_batch_succeeds() -> None:
    calls = 0

    def flaky_store(reports: Sequence[IncomingReport]) -> list[int]:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise StorageError("database unavailable")
        return list(range(len(reports)))

    async def main() -> None:
        committer = GroupCommitter(flaky_store)
        committer.start()
        with pytest.raises(StorageError):
            await committer.store(report(1))
        assert await committer.store(report(2)) == 0
        await committer.stop()

    asyncio.run(main())


def test_stopping_finishes_the_batch_being_written_and_refuses_the_rest() -> None:
    writing = threading.Event()
    release = threading.Event()

    def slow_store(reports: Sequence[IncomingReport]) -> list[int]:
        writing.set()
        release.wait(5)
        return [int(r.raw.split()[1]) for r in reports]

    async def main() -> list[object]:
        committer = GroupCommitter(slow_store)
        committer.start()
        first = asyncio.create_task(committer.store(report(1)))
        await asyncio.to_thread(writing.wait, 5)  # report 1 is being written
        queued = [asyncio.create_task(committer.store(report(n))) for n in (2, 3)]
        await asyncio.sleep(0.05)
        stopping = asyncio.create_task(committer.stop())
        await asyncio.sleep(0.05)
        release.set()
        await stopping
        with pytest.raises(StorageError):
            await committer.store(report(4))  # a stopped committer stores nothing
        return list(await asyncio.gather(first, *queued, return_exceptions=True))

    first, *queued = asyncio.run(main())
    assert first == 1
    assert all(isinstance(outcome, StorageError) for outcome in queued), queued
