"""Benchmark: decisions per second with 10 rules, on an empty history and on a large one.

The large history is 1,000,000 stored complaints: 100,000 of them in one domain
within the last 24 hours, the rest spread over 30 days and 200 domains, with
25 hours of metered sent volume for the hot domain and a tenth of the other
mailboxes. The 10 rules are the five of the default policy and five more that
read domain-wide, company-wide, untrusted and weekly counters. Each measured
decision records a new complaint and decides it in the same transaction, as
the worker does (commits every 100 decisions, so that the disk's fsync does not
hide the cost of deciding). Half the measured complaints hit the hot domain, so
on the large history the enforce run suspends, escalates and decides the
suspensions it raises, as live traffic would.

The two histories are measured in alternating rounds, so that the load of
other processes on the machine hits both alike. Prints decisions/s — timing
`decide_after_complaint` alone, the whole loop with recording the complaint,
and deciding by this process's CPU time — for shadow and enforce mode on both
histories, what the enforce runs carried out, the ratios large/empty (target
≥ 0.8), then times a replay of the whole large history with the default rules
(target under 2 minutes on SQLite).

    python bench/decide.py [--complaints 1000000] [--decisions 2000] [--rounds 10]
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, func, insert, select
from sqlmodel import Session

from abusedesk.config import packaged_rules
from abusedesk.decide.decide import decide_after_complaint
from abusedesk.decide.engine import PolicyEngine
from abusedesk.decide.loader import load_rules
from abusedesk.decide.replay import replay
from abusedesk.record.buckets import rebuild_buckets
from abusedesk.record.complaints import record_synthetic_complaint
from abusedesk.store.engine import create_database_engine
from abusedesk.store.migrate import upgrade_database
from abusedesk.store.tables import (
    Company,
    Complaint,
    Domain,
    Escalation,
    Mailbox,
    RawReport,
    SentVolume,
    Suspension,
)

NOW = datetime(2026, 6, 1, tzinfo=UTC)
DOMAINS, MAILBOXES_PER_DOMAIN, HOT_SHARE = 200, 100, 0.1
CHUNK = 20_000

EXTRA_RULES = """
  - name: domain-flood
    on: complaint
    when: counters.domain_complaints_24h > 500
    then: [{hold-for-review: {reason: a domain under fire}}]
  - name: company-flood
    on: complaint
    when: counters.company_complaints_24h > 2000
    then: [{escalate: {pattern: company-flood, scope: company}}]
  - name: untrusted-flood
    on: complaint
    when: not report.trusted and counters.untrusted_24h > 20
    then: [hold-for-review]
  - name: weekly-offender
    on: complaint
    when: counters.complaints_7d > 30
    then: [{escalate: {pattern: weekly-offender}}]
  - name: signup-burst
    on: signup
    when: counters.signups_1h > 20
    then: [{escalate: {pattern: signup-burst, scope: domain}}]
"""
EXTRA_COUNTERS = """
  domain_complaints_24h: {count: complaint, per: domain, within: 24h,
                          where: "report.kind == 'complaint'"}
  company_complaints_24h: {count: complaint, per: company, within: 24h,
                           where: "report.kind == 'complaint'"}
  untrusted_24h: {count: complaint, per: mailbox, within: 24h, where: not report.trusted}
  complaints_7d: {count: complaint, per: mailbox, within: 7d, where: "report.kind == 'complaint'"}
  signups_1h: {count: signup, per: domain, within: 1h}
"""


def ten_rules(folder: Path, mode: str) -> Path:
    text = packaged_rules().read_text().replace("mode: enforce", f"mode: {mode}")
    text = text.replace("counters:\n", "counters:" + EXTRA_COUNTERS, 1) + EXTRA_RULES
    path = folder / f"ten-{mode}.yaml"
    path.write_text(text)
    assert len(load_rules(path).rules) == 10
    return path


def directory(engine: Engine) -> list[list[int]]:
    """200 domains of 100 mailboxes, 20 companies; returns mailbox ids per domain."""
    created = NOW - timedelta(days=400)
    with engine.begin() as connection:
        connection.execute(
            insert(Company),
            [{"id": c + 1, "name": f"Reseller {c}", "created_at": created} for c in range(20)],
        )
        connection.execute(
            insert(Domain),
            [
                {
                    "id": d + 1,
                    "name": f"d{d}.example",
                    "company_id": d % 20 + 1,
                    "created_at": created,
                }
                for d in range(DOMAINS)
            ],
        )
        connection.execute(
            insert(Mailbox),
            [
                {
                    "id": d * MAILBOXES_PER_DOMAIN + m + 1,
                    "address": f"u{m}@d{d}.example",
                    "domain_id": d + 1,
                    "created_at": created,
                    "can_send": True,
                    "can_receive": True,
                    "can_login": True,
                }
                for d in range(DOMAINS)
                for m in range(MAILBOXES_PER_DOMAIN)
            ],
        )
    return [
        [d * MAILBOXES_PER_DOMAIN + m + 1 for m in range(MAILBOXES_PER_DOMAIN)]
        for d in range(DOMAINS)
    ]


def history(engine: Engine, mailboxes: list[list[int]], total: int) -> None:
    """`total` complaints by executemany: a tenth in domain 0 within 24 h, the rest in 30 days."""
    rng = random.Random(5)
    hot = int(total * HOT_SHARE)
    next_id = 1
    while next_id <= total:
        size = min(CHUNK, total - next_id + 1)
        raws, complaints = [], []
        for i in range(next_id, next_id + size):
            if i <= hot:
                domain = 0
                at = NOW - timedelta(seconds=rng.uniform(60, 86_000))
            else:
                domain = rng.randrange(1, DOMAINS)
                at = NOW - timedelta(seconds=rng.uniform(60, 30 * 86_400))
            mailbox = rng.choice(mailboxes[domain])
            roll = rng.random()
            kind = "complaint" if roll < 0.9 else ("not-spam" if roll < 0.95 else "opt-out")
            raws.append(
                {
                    "id": i,
                    "sha256": f"{i:064x}",
                    "raw": b"r",
                    "size": 1,
                    "received_at": at,
                    "source": "file",
                    "envelope": {},
                    "trusted": True,
                    "status": "processed",
                    "attempts": 0,
                }
            )
            complaints.append(
                {
                    "id": i,
                    "raw_report_id": i,
                    "dedupe_key": f"k{i}",
                    "kind": kind,
                    "format": "arf",
                    "trusted": rng.random() < 0.97,
                    "occurred_at": at,
                    "recorded_at": at,
                    "mailbox_id": mailbox,
                    "domain_id": domain + 1,
                    "problems": [],
                }
            )
        with engine.begin() as connection:
            connection.execute(insert(RawReport), raws)
            connection.execute(insert(Complaint), complaints)
        next_id += size
    with engine.begin() as connection:
        # Written in bulk, past the recorder: bucket them as migration 0008 does.
        rebuild_buckets(connection)


def sent_volume(engine: Engine, mailboxes: list[list[int]]) -> int:
    """What the policy service metered over the last 25 hours: the hot domain and a tenth of
    the rest send, so the complaint-rate rule has volume to judge (and escalates there)."""
    rng = random.Random(9)
    senders = list(mailboxes[0]) + [
        m for domain in mailboxes[1:] for m in domain if rng.random() < 0.1
    ]
    hour = NOW.replace(minute=0, second=0, microsecond=0)
    rows = [
        {
            "mailbox_id": mailbox,
            "hour": hour - timedelta(hours=h),
            "messages": (sent := rng.randrange(200, 2000)),
            "recipients": sent + rng.randrange(0, 300),
        }
        for mailbox in senders
        for h in range(25)
    ]
    with engine.begin() as connection:
        connection.execute(insert(SentVolume), rows)
    return len(rows)


@dataclass
class Run:
    """Decisions on one history, measured in rounds interleaved with the other history's."""

    engine: Engine
    policy: PolicyEngine
    mailboxes: list[list[int]]
    label: str
    rng: random.Random = field(default_factory=lambda: random.Random(7))
    done: int = 0
    deciding: float = 0.0
    deciding_cpu: float = 0.0
    overall: float = 0.0
    fired: int = 0
    cascaded: int = 0

    def round(self, count: int) -> None:
        session = Session(self.engine)
        began_round = time.perf_counter()
        for _ in range(count):
            n = self.done
            domain = 0 if n % 2 == 0 else self.rng.randrange(1, DOMAINS)
            at = NOW + timedelta(seconds=n)
            complaint = record_synthetic_complaint(
                session, self.rng.choice(self.mailboxes[domain]), at, origin=self.label
            )
            assert complaint.id is not None
            began, began_cpu = time.perf_counter(), time.process_time()
            decisions = decide_after_complaint(session, complaint.id, self.policy)
            self.deciding += time.perf_counter() - began
            self.deciding_cpu += time.process_time() - began_cpu
            self.fired += sum(1 for d in decisions if d.fired)
            self.cascaded += len(decisions) - 1
            self.done += 1
            if self.done % 100 == 0:
                session.commit()
        session.commit()
        session.close()
        self.overall += time.perf_counter() - began_round

    def rates(self) -> tuple[float, float, float]:
        """Decisions/s timing `decide_after_complaint` alone, with recording and commits, and
        deciding by this process's CPU time (which other processes' load does not dilute)."""
        return (
            self.done / self.deciding,
            self.done / self.overall,
            self.done / max(self.deciding_cpu, 1e-9),
        )

    def carried_out(self) -> str:
        with Session(self.engine) as session:
            suspensions = session.execute(select(func.count()).select_from(Suspension))
            escalations = session.execute(select(func.count()).select_from(Escalation))
            return (
                f"{self.fired:,} decisions fired a rule, {self.cascaded:,} follow-up "
                f"decisions, {suspensions.scalar_one():,} suspensions and "
                f"{escalations.scalar_one():,} escalations stored"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--complaints", type=int, default=1_000_000)
    parser.add_argument("--decisions", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        histories: dict[str, tuple[Engine, list[list[int]]]] = {}
        for total in (0, args.complaints):
            label = f"{total:,} complaints" if total else "empty history"
            engine = create_database_engine(f"sqlite:///{folder}/{total}.sqlite3")
            upgrade_database(engine)
            mailboxes = directory(engine)
            if total:
                started = time.perf_counter()
                history(engine, mailboxes, total)
                buckets = sent_volume(engine, mailboxes)
                print(
                    f"stored {total:,} complaints and {buckets:,} sent-volume buckets "
                    f"in {time.perf_counter() - started:.1f}s"
                )
            histories[label] = engine, mailboxes
        rates: dict[tuple[str, str], tuple[float, float, float]] = {}
        # Shadow first: the same work of deciding on both histories. Enforcing on the
        # large one also carries out what fires there (suspensions, escalations, and the
        # decisions they raise), which an empty history rarely triggers. The histories
        # take turns, round by round, so that a change in the machine's load hits both.
        for mode in ("shadow", "enforce"):
            rules = load_rules(ten_rules(folder, mode))
            runs = [
                Run(engine, PolicyEngine(rules), mailboxes, label)
                for label, (engine, mailboxes) in histories.items()
            ]
            per_round = max(args.decisions // args.rounds, 1)
            for number in range(args.rounds):
                for run in runs if number % 2 == 0 else reversed(runs):
                    run.round(per_round)
            for run in runs:
                rate = rates[(run.label, mode)] = run.rates()
                print(
                    f"{run.label:>22}, {mode:7}: {rate[0]:5.0f} decisions/s deciding; "
                    f"{rate[1]:5.0f}/s with recording the complaint and committing; "
                    f"{rate[2]:5.0f}/s deciding by CPU time"
                )
                if mode == "enforce":
                    print(f"{'':>24}{run.carried_out()}")
        engine, _ = histories[f"{args.complaints:,} complaints"]
        started = time.perf_counter()
        report = replay(engine, load_rules(packaged_rules()), NOW - timedelta(days=31), NOW)
        elapsed = time.perf_counter() - started
        print(
            f"replay of {report.events:,} events ({args.complaints:,} stored complaints, "
            f"default rules): {elapsed:.1f}s, {report.engine_calls:,} durable-rules "
            f"calls (target < 120 s)"
        )
        for engine, _ in histories.values():
            engine.dispose()
    for mode in ("shadow", "enforce"):
        empty, full = (rate for (_, m), rate in rates.items() if m == mode)
        print(
            f"ratio large/empty history, {mode}: {full[0] / empty[0]:.2f} deciding, "
            f"{full[1] / empty[1]:.2f} with recording, {full[2] / empty[2]:.2f} deciding by "
            f"CPU time (target >= 0.8)"
        )


if __name__ == "__main__":
    main()
