"""The outbox and its sender: once per key, 4xx and outages retried with backoff, 5xx final."""

from __future__ import annotations

import threading
from datetime import timedelta

from sqlalchemy import Engine, select
from sqlmodel import Session, col

from abusedesk.notify.deliver import deliver_due
from abusedesk.notify.outbox import NoticeDraft, claim_due, enqueue, record_sent, retry_delay
from abusedesk.store.tables import Notice
from abusedesk.store.types import utcnow
from tests.notify.conftest import PLATFORM, at, notice_settings
from tests.support.smtp_sink import SmtpSink


def draft(key: str, recipient: str = "abuse@acme-resellers.example") -> NoticeDraft:
    return NoticeDraft(
        idempotency_key=key,
        decision_id=None,
        template="aup-notice",
        recipient=recipient,
        fallback=False,
        subject=f"Notice {key}",
        body_text=f"text of {key}\n",
        body_html=f"<p>html of {key}</p>\n",
    )


def queue(engine: Engine, *keys: str) -> list[int]:
    with Session(engine) as session:
        ids = [enqueue(session, draft(key), "desk@platform.example")[0].id for key in keys]
        session.commit()
    return [i for i in ids if i is not None]


def notice(engine: Engine, notice_id: int) -> Notice:
    with Session(engine) as session:
        found = session.get(Notice, notice_id)
        assert found is not None
        return found


def test_one_notice_per_idempotency_key(engine: Engine) -> None:
    with Session(engine) as session:
        first, new = enqueue(session, draft("decision-1:aup-notice:a@x.example"), PLATFORM)
        again, new_again = enqueue(session, draft("decision-1:aup-notice:a@x.example"), PLATFORM)
        session.commit()
        assert new and not new_again and again.id == first.id
        assert first.message_id and first.message_id.endswith("@platform.example>")
        assert len(session.execute(select(Notice)).scalars().all()) == 1


def test_a_delivered_notice_is_sent_once_with_its_message_id(
    engine: Engine, sink: SmtpSink
) -> None:
    [one, two] = queue(engine, "k1", "k2")
    settings = notice_settings(sink.port)
    done = deliver_due(engine, settings)
    assert (done.sent, done.retried, done.failed) == (2, 0, 0)
    assert deliver_due(engine, settings).claimed == 0  # nothing is due any more
    assert len(sink.received) == 2
    for notice_id, received in zip((one, two), sink.received, strict=True):
        sent = notice(engine, notice_id)
        assert sent.status == "sent" and sent.attempts == 1 and sent.sent_at is not None
        assert received.message["Message-ID"] == sent.message_id
        assert received.message["Subject"] == sent.subject


def test_a_4xx_is_retried_with_exponential_backoff(engine: Engine, sink: SmtpSink) -> None:
    [notice_id] = queue(engine, "k1")
    settings = notice_settings(sink.port, retry_initial_seconds=60, retry_max_seconds=600)
    sink.answer = "451 4.3.0 try again later"
    start = utcnow()
    assert deliver_due(engine, settings, now=start).retried == 1
    waiting = notice(engine, notice_id)
    assert waiting.status == "queued" and waiting.attempts == 1
    assert waiting.last_error == "smarthost answered 451 4.3.0 try again later"
    assert waiting.next_attempt_at == start + timedelta(seconds=60)
    assert deliver_due(engine, settings, now=start + timedelta(seconds=59)).claimed == 0
    assert deliver_due(engine, settings, now=start + timedelta(seconds=61)).retried == 1
    assert notice(engine, notice_id).next_attempt_at == start + timedelta(seconds=61 + 120)
    sink.answer = None
    assert deliver_due(engine, settings, now=start + timedelta(seconds=200)).sent == 1
    sent = notice(engine, notice_id)
    assert sent.status == "sent" and sent.attempts == 3 and sent.last_error is None
    assert len(sink.received) == 1


def test_a_5xx_fails_for_good_and_stays_visible(engine: Engine, sink: SmtpSink) -> None:
    [notice_id] = queue(engine, "k1")
    settings = notice_settings(sink.port)
    sink.answer = "554 5.7.1 relay access denied"
    assert deliver_due(engine, settings).failed == 1
    failed = notice(engine, notice_id)
    assert failed.status == "failed" and failed.next_attempt_at is None
    assert failed.last_error == "smarthost answered 554 5.7.1 relay access denied"
    sink.answer = None
    assert deliver_due(engine, settings, now=utcnow() + timedelta(days=1)).claimed == 0
    assert sink.received == []


def test_a_message_that_cannot_be_built_fails_without_stopping_the_rest(
    engine: Engine, sink: SmtpSink
) -> None:
    [bad, good] = queue(engine, "k1", "k2")
    with Session(engine) as session:
        broken = session.get(Notice, bad)
        assert broken is not None
        broken.recipient = "not an address"
        session.commit()
    done = deliver_due(engine, notice_settings(sink.port))
    assert (done.sent, done.failed) == (1, 1)
    failed = notice(engine, bad)
    assert failed.status == "failed"
    assert (failed.last_error or "").startswith("cannot build the message:")
    assert notice(engine, good).status == "sent" and len(sink.received) == 1


def test_an_unreachable_smarthost_is_retried_then_given_up(engine: Engine, sink: SmtpSink) -> None:
    [notice_id] = queue(engine, "k1")
    sink.stop()
    settings = notice_settings(sink.port, give_up_hours=1)
    created = notice(engine, notice_id).created_at
    assert deliver_due(engine, settings, now=created).retried == 1
    waiting = notice(engine, notice_id)
    assert waiting.status == "queued"
    assert "smarthost unreachable: ConnectionRefusedError" in (waiting.last_error or "")
    late = created + timedelta(hours=2)
    assert deliver_due(engine, settings, now=late).failed == 1
    given_up = notice(engine, notice_id)
    assert given_up.status == "failed"
    assert (given_up.last_error or "").startswith("gave up after 2 attempts: smarthost unreachable")


def test_a_claim_runs_out_and_a_stale_sender_cannot_overwrite(engine: Engine) -> None:
    [notice_id] = queue(engine, "k1")
    now = utcnow()
    [claimed] = claim_due(engine, 10, lease=timedelta(minutes=5), now=now)
    assert notice(engine, notice_id).status == "sending"
    assert claim_due(engine, 10, now=now + timedelta(minutes=4)) == []  # still claimed
    [again] = claim_due(engine, 10, now=now + timedelta(minutes=6))  # that sender died
    assert again.attempts == claimed.attempts + 1
    assert not record_sent(engine, claimed)  # the first claim is no longer ours
    assert record_sent(engine, again)
    assert notice(engine, notice_id).status == "sent"


def test_concurrent_senders_never_claim_the_same_notice(engine: Engine) -> None:
    ids = queue(engine, *[f"k{i}" for i in range(40)])
    claimed: list[list[int]] = []
    lock = threading.Lock()

    def sender() -> None:
        mine: list[int] = []
        while batch := claim_due(engine, 3):
            mine += [n.id for n in batch if n.id is not None]
        with lock:
            claimed.append(mine)

    threads = [threading.Thread(target=sender) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    every = [i for mine in claimed for i in mine]
    assert sorted(every) == sorted(ids)  # each claimed exactly once
    with Session(engine) as session:
        attempts = session.execute(select(col(Notice.attempts))).scalars().all()
    assert set(attempts) == {1}


def test_backoff_doubles_up_to_the_maximum() -> None:
    delays = [retry_delay(n, 60, 1000).total_seconds() for n in range(1, 7)]
    assert delays == [60, 120, 240, 480, 960, 1000]
    assert retry_delay(200, 60, 1000).total_seconds() == 1000


def test_notices_are_due_in_time_order(engine: Engine) -> None:
    first, second = queue(engine, "a", "b")
    assert [n.id for n in claim_due(engine, 1, now=at(0) + timedelta(days=3650))] == [first]
    assert [n.id for n in claim_due(engine, 1, now=at(0) + timedelta(days=3650))] == [second]
