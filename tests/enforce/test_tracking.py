"""The send state follows the database by itself, on SQLite and PostgreSQL, within a second."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from sqlalchemy import Engine, delete, text, update
from sqlalchemy.engine import make_url
from sqlmodel import Session, col
from tests.enforce.lifecycle import delete as delete_account
from tests.enforce.lifecycle import lift, suspend
from tests.support.tcp_proxy import CuttableProxy

from abusedesk.enforce.state import SendState
from abusedesk.enforce.tracking import SendStateTracker, changes_since, prune_changes
from abusedesk.errors import StorageError
from abusedesk.store.engine import create_database_engine
from abusedesk.store.tables import Domain, Mailbox

BOB = "bob@shop.example"
ALICE = "alice@shop.example"


async def eventually(condition: Callable[[], bool], within: float = 1.0) -> float:
    """Seconds until `condition` held; fails after `within`."""
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > within:
            raise AssertionError(f"not within {within} s")
        await asyncio.sleep(0.01)
    return time.monotonic() - started


class Tracked:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.state = SendState()
        self.tracker = SendStateTracker(engine, self.state)
        self.stop = asyncio.Event()

    async def write(self, change: Callable[[Engine], None]) -> None:
        await asyncio.to_thread(change, self.engine)


async def tracking(engine: Engine) -> AsyncIterator[Tracked]:
    tracked = Tracked(engine)
    await tracked.tracker.load()
    task = asyncio.create_task(tracked.tracker.run(tracked.stop))
    try:
        yield tracked
    finally:
        tracked.stop.set()
        await asyncio.wait_for(task, 5)


def run(directory_engine: Engine, scenario: Callable[[Tracked], object]) -> None:
    async def main() -> None:
        async for tracked in tracking(directory_engine):
            await scenario(tracked)  # type: ignore[misc]

    asyncio.run(main())


def test_suspension_lift_and_deletion_reach_the_state_within_a_second(
    directory_engine: Engine,
) -> None:
    async def scenario(tracked: Tracked) -> None:
        state = tracked.state
        assert state.loaded and state.may_send(BOB) and state.blocked_count == 0
        await tracked.write(lambda e: suspend(e, BOB))
        await eventually(lambda: not state.may_send(BOB))
        assert state.may_send(ALICE)
        await tracked.write(lambda e: lift(e, BOB))
        await eventually(lambda: state.may_send(BOB))
        await tracked.write(lambda e: delete_account(e, ALICE))
        await eventually(lambda: not state.may_send(ALICE))
        assert state.blocked_count == 1

    run(directory_engine, scenario)


def test_the_blocked_set_is_loaded_at_start(directory_engine: Engine) -> None:
    suspend(directory_engine, BOB)
    delete_account(directory_engine, ALICE)

    async def scenario(tracked: Tracked) -> None:
        assert not tracked.state.may_send(BOB) and not tracked.state.may_send("Alice@Shop.Example")
        assert tracked.state.may_send("info@hikers.example")
        assert tracked.state.blocked_count == 2

    run(directory_engine, scenario)


def test_any_write_to_can_send_is_seen_even_raw_sql(directory_engine: Engine) -> None:
    def switch(value: bool) -> Callable[[Engine], None]:
        def write(engine: Engine) -> None:
            with engine.begin() as connection:
                connection.execute(
                    update(Mailbox).where(col(Mailbox.address) == BOB).values(can_send=value)
                )

        return write

    async def scenario(tracked: Tracked) -> None:
        for _ in range(3):
            await tracked.write(switch(False))
            await eventually(lambda: not tracked.state.may_send(BOB))
            await tracked.write(switch(True))
            await eventually(lambda: tracked.state.may_send(BOB))

    run(directory_engine, scenario)


def test_a_rolled_back_change_leaves_no_trace(directory_engine: Engine) -> None:
    def rolled_back(engine: Engine) -> None:
        with Session(engine) as session:
            session.execute(
                update(Mailbox).where(col(Mailbox.address) == BOB).values(can_send=False)
            )
            session.rollback()

    async def scenario(tracked: Tracked) -> None:
        await tracked.write(rolled_back)
        await tracked.write(lambda e: suspend(e, ALICE))
        await eventually(lambda: not tracked.state.may_send(ALICE))
        assert tracked.state.may_send(BOB) and tracked.state.version == 1

    run(directory_engine, scenario)


def test_blocked_mailboxes_inserted_or_removed_are_followed(directory_engine: Engine) -> None:
    def insert_blocked(engine: Engine) -> None:
        with Session(engine) as session, session.begin():
            domain = session.execute(
                text("SELECT id FROM domain WHERE name = 'shop.example'")
            ).scalar_one()
            session.add(Mailbox(address="new@shop.example", domain_id=domain, can_send=False))

    def remove(engine: Engine) -> None:
        with engine.begin() as connection:
            connection.execute(delete(Mailbox).where(col(Mailbox.address) == "new@shop.example"))

    async def scenario(tracked: Tracked) -> None:
        await tracked.write(insert_blocked)
        await eventually(lambda: not tracked.state.may_send("new@shop.example"))
        await tracked.write(remove)
        await eventually(lambda: tracked.state.may_send("new@shop.example"))

    run(directory_engine, scenario)


def test_changes_to_other_columns_do_not_bump_the_version(directory_engine: Engine) -> None:
    with directory_engine.begin() as connection:
        connection.execute(
            update(Mailbox).where(col(Mailbox.address) == BOB).values(can_login=False)
        )
        connection.execute(update(Domain).values(name=Domain.name))
    assert changes_since(directory_engine, 0) is not None
    assert changes_since(directory_engine, 0).states == []  # type: ignore[union-attr]


def test_a_node_behind_a_pruned_log_reloads_in_full(directory_engine: Engine) -> None:
    async def scenario(tracked: Tracked) -> None:
        tracked.stop.set()  # this node stops following for a while
        await asyncio.sleep(0.3)
        for _ in range(3):
            await tracked.write(lambda e: suspend(e, BOB))
            await tracked.write(lambda e: lift(e, BOB))
        await tracked.write(lambda e: suspend(e, BOB))
        await asyncio.to_thread(prune_changes, tracked.engine, 2)
        assert changes_since(tracked.engine, tracked.state.version) is None
        await tracked.tracker.catch_up()
        assert not tracked.state.may_send(BOB) and tracked.state.version == 7

    run(directory_engine, scenario)


def test_many_changes_in_one_go_are_all_applied(directory_engine: Engine) -> None:
    def suspend_everyone(engine: Engine) -> None:
        with engine.begin() as connection:
            connection.execute(update(Mailbox).values(can_send=False))

    async def scenario(tracked: Tracked) -> None:
        await tracked.write(suspend_everyone)
        await eventually(lambda: tracked.state.blocked_count == 10)

    run(directory_engine, scenario)


def test_the_state_keeps_answering_while_the_database_is_away(
    directory_engine: Engine, tmp_path: Path
) -> None:
    suspend(directory_engine, BOB)

    async def scenario(tracked: Tracked) -> None:
        broken = SendStateTracker(_unreachable(directory_engine, tmp_path), tracked.state)
        stop = asyncio.Event()
        task = asyncio.create_task(broken.run(stop))
        await asyncio.sleep(0.5)
        assert not tracked.state.may_send(BOB) and tracked.state.may_send(ALICE)
        stop.set()
        await asyncio.wait_for(task, 5)

    run(directory_engine, scenario)


def _unreachable(engine: Engine, tmp_path: Path) -> Engine:
    """A database that answers nothing useful: a closed port, or a SQLite file without tables."""
    if engine.dialect.name == "postgresql":
        return create_database_engine("postgresql+psycopg://nobody@127.0.0.1:1/none")
    return create_database_engine(f"sqlite:///{tmp_path / 'empty.sqlite3'}")


def test_a_schema_without_the_triggers_is_refused(directory_engine: Engine) -> None:
    with directory_engine.begin() as connection:
        suffix = " ON mailbox" if directory_engine.dialect.name == "postgresql" else ""
        connection.execute(text(f"DROP TRIGGER send_state_on_update{suffix}"))

    async def load() -> None:
        await SendStateTracker(directory_engine, SendState()).load()

    with pytest.raises(StorageError, match=r"send_state_on_update.*abusedesk db upgrade"):
        asyncio.run(load())


def test_after_a_postgresql_outage_the_state_catches_up_by_itself(
    directory_engine: Engine, database_url: str
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("a network outage needs a database behind the network")
    url = make_url(database_url)
    proxy = CuttableProxy(url.host or "127.0.0.1", url.port or 5432)
    proxied_url = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    proxied = create_database_engine(proxied_url + "&connect_timeout=3")

    async def scenario() -> None:
        state = SendState()
        tracker = SendStateTracker(proxied, state)
        await tracker.load()
        stop = asyncio.Event()
        task = asyncio.create_task(tracker.run(stop))
        try:
            proxy.cut()  # the LISTEN connection and the pool are gone
            await asyncio.to_thread(suspend, directory_engine, BOB)  # written meanwhile
            await asyncio.sleep(1.0)
            assert state.may_send(BOB)  # nothing can reach this node; it keeps answering
            proxy.restore()
            await eventually(lambda: not state.may_send(BOB), within=15)
            await asyncio.to_thread(lift, directory_engine, BOB)  # and it listens again
            await eventually(lambda: state.may_send(BOB), within=1.5)
        finally:
            stop.set()
            await asyncio.wait_for(task, 10)

    try:
        asyncio.run(scenario())
    finally:
        proxied.dispose()
        proxy.close()
