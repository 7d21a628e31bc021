"""Two workers deciding complaints of one mailbox at once must not both stay under the limit."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine
from sqlmodel import Session
from tests.decide.conftest import add_complaint, mailbox_id

from abusedesk.decide.decide import decide_after_complaint
from abusedesk.decide.engine import PolicyEngine
from abusedesk.store.tables import Mailbox

START = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)


def test_concurrent_complaints_crossing_the_limit_suspend(
    directory_engine: Engine, policy: PolicyEngine
) -> None:
    engine = directory_engine
    bob = mailbox_id(engine, "bob@shop.example")
    with Session(engine) as session:
        for i in range(4):
            complaint = add_complaint(session, bob, START + timedelta(minutes=i))
            assert complaint.id is not None
            decide_after_complaint(session, complaint.id, policy)
        session.commit()

    first_decided = threading.Event()
    errors: list[BaseException] = []

    def worker(minute: int, wait_for: threading.Event | None, then: threading.Event | None) -> None:
        try:
            if wait_for is not None:
                assert wait_for.wait(10)
            with Session(engine) as session:
                complaint = add_complaint(session, bob, START + timedelta(minutes=minute))
                assert complaint.id is not None
                decide_after_complaint(session, complaint.id, policy)
                if then is not None:
                    then.set()  # the second worker starts while this one has not committed
                    threading.Event().wait(0.5)
                session.commit()
        except BaseException as exc:  # surfaced below, in the test's thread
            errors.append(exc)

    first = threading.Thread(target=worker, args=(10, None, first_decided))
    second = threading.Thread(target=worker, args=(11, first_decided, None))
    first.start()
    second.start()
    first.join(30)
    second.join(30)
    assert not errors, errors
    with Session(engine) as session:
        mailbox = session.get(Mailbox, bob)
        assert mailbox is not None
        assert not mailbox.can_send, "six complaints in 24 h, decided concurrently, must suspend"
