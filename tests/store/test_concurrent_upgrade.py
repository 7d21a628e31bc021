"""Nodes that start together on an empty database migrate it one at a time."""

from __future__ import annotations

import threading

from abusedesk.store.engine import create_database_engine
from abusedesk.store.migrate import current_revision, head_revision
from abusedesk.store.schema import ensure_schema

NODES = 4


def test_nodes_starting_together_on_an_empty_database_all_start(database_url: str) -> None:
    engines = [create_database_engine(database_url) for _ in range(NODES)]
    failures: list[BaseException] = []
    go = threading.Barrier(NODES)

    def start(index: int) -> None:
        go.wait()
        try:
            ensure_schema(engines[index])  # what `serve` does with an empty database
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=start, args=(i,)) for i in range(NODES)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    try:
        assert failures == []
        assert current_revision(engines[0]) == head_revision(engines[0])
    finally:
        for engine in engines:
            engine.dispose()
