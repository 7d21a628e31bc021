"""Three `abusedesk serve` nodes on one PostgreSQL give what one node gives.

Two intake+worker nodes and one policy+web node start together on an empty
database (so they also race to create the schema). 5,000 attributed reports go
over SMTP to both intake nodes from several clients while one of those nodes
is killed with SIGKILL and started again, twice; clients resend whatever did
not get its 250. Then every accepted report must have been processed exactly
once, and the complaints, suspensions (with the complaints they rest on) and
escalations must be those of the same reports sent through a single node on
a database of its own; the policy node must reject every suspended sender and
accept every other.

Counters count complaints up to the time of the one being decided, so when
two complaints of one subject arrive out of order the outcome can depend on
the order in which workers happen to take them, on one node as on several.
The reports of one domain therefore all carry one arrival time: then every
decision sees every complaint recorded before it, and the outcome depends
only on which reports arrived — what this test compares — not on their order.
"""

from __future__ import annotations

import random
import smtplib
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlmodel import Session, col

from abusedesk.pipeline.claims import pending_count
from abusedesk.store.engine import create_database_engine
from abusedesk.store.tables import Complaint, Escalation, Mailbox, RawReport, Suspension
from tests.conftest import DEFAULT_RULES, crlf
from tests.support.nodes import Node, new_schema_url, run_abusedesk
from tests.support.reports import numbered_report

DOMAINS = 250
COMPLAINTS_PER_MAILBOX = (6, 6, 5, 3)  # of every domain: two go over the limit of 5, two not
YOUNG_EVERY = 5  # every fifth domain's mailboxes signed up the day before: fraudulent signups
REPORTS = DOMAINS * sum(COMPLAINTS_PER_MAILBOX)  # 5,000
CLIENTS = 8
KILL_AT = (1500, 3000)  # kill the second node once this many reports got their 250
RULES = DEFAULT_RULES


@dataclass(frozen=True, slots=True)
class Plan:
    accounts_csv: str
    reports: list[tuple[int, str, datetime]]  # number, sender, arrival time
    mailboxes: list[str]


@dataclass(frozen=True, slots=True)
class Outcome:
    complaints: dict[str, int]
    suspensions: dict[str, list[tuple[str | None, tuple[str, ...]]]]
    escalations: list[tuple[str, str, str, str]]


def make_plan() -> Plan:
    base = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=3)
    lines = ["company,company_abuse_contact,domain,address,created_at"]
    reports: list[tuple[int, str, datetime]] = []
    mailboxes = []
    for d in range(DOMAINS):
        at = base + timedelta(seconds=d)
        signed_up = at - timedelta(days=1) if d % YOUNG_EVERY == 0 else base - timedelta(days=400)
        company = f"Reseller {d // 10}"
        for m, count in enumerate(COMPLAINTS_PER_MAILBOX):
            address = f"m{m}@d{d}.example"
            mailboxes.append(address)
            lines.append(
                f"{company},abuse@reseller{d // 10}.example,d{d}.example,{address},"
                f"{signed_up.strftime('%Y-%m-%dT%H:%M:%SZ')}"
            )
            reports += [(len(reports) + i, address, at) for i in range(count)]
    random.Random(9).shuffle(reports)  # a mailbox's reports reach both nodes, in any order
    return Plan("\n".join(lines) + "\n", reports, mailboxes)


def send_all(plan: Plan, ports: list[Callable[[], int]], acked: dict[int, int]) -> None:
    """Send every report, client `i` to node `i % len(ports)`, resending until it gets its 250;
    `acked` maps each report's number to the raw report id of its 250."""
    lock = threading.Lock()

    def client(index: int) -> None:
        pending = plan.reports[index::CLIENTS]
        port = ports[index % len(ports)]
        while pending:
            try:
                with smtplib.SMTP("127.0.0.1", port(), timeout=20) as smtp:
                    smtp.ehlo("mx.provider.example")
                    while pending:
                        number, sender, at = pending[0]
                        smtp.mail("fbl@provider.example")
                        smtp.rcpt("fbl@abusedesk.example")
                        code, message = smtp.data(crlf(numbered_report(number, sender, at)))
                        if code == 250:
                            with lock:
                                acked[number] = int(message.split()[-1])
                            pending.pop(0)
            except (OSError, smtplib.SMTPException):
                time.sleep(0.2)  # the node is gone: try again when it is back

    threads = [threading.Thread(target=client, args=(i,)) for i in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(300)


def wait_until_processed(engine: Engine, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while pending_count(engine) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert pending_count(engine) == 0, "reports left unprocessed"


def check_exactly_once(engine: Engine, acked: dict[int, int]) -> None:
    with Session(engine) as session:
        stored = set(session.execute(select(col(RawReport.id))).scalars())
        complaints = session.execute(select(func.count()).select_from(Complaint)).scalar_one()
        keys = session.execute(
            select(func.count(func.distinct(col(Complaint.dedupe_key))))
        ).scalar_one()
        statuses = dict(
            session.execute(
                select(col(RawReport.status), func.count()).group_by(col(RawReport.status))
            ).all()
        )
    assert len(acked) == REPORTS
    assert set(acked.values()) <= stored, "a report that got its 250 is missing"
    assert complaints == keys == REPORTS, "a report was lost or counted twice"
    assert set(statuses) == {"processed"}, statuses


def outcome(engine: Engine) -> Outcome:
    with Session(engine) as session:
        address = dict(session.execute(select(col(Mailbox.id), col(Mailbox.address))).all())
        key = dict(session.execute(select(col(Complaint.id), col(Complaint.dedupe_key))).all())
        per_mailbox = session.execute(
            select(col(Complaint.mailbox_id), func.count()).group_by(col(Complaint.mailbox_id))
        ).all()
        suspensions: dict[str, list[tuple[str | None, tuple[str, ...]]]] = {}
        for suspension in session.execute(select(Suspension)).scalars():
            evidence = tuple(sorted(key[i] for i in suspension.complaint_ids))
            suspensions.setdefault(address[suspension.mailbox_id], []).append(
                (suspension.rule, evidence)
            )
        escalations = sorted(
            (e.pattern, e.scope, e.scope_key, e.status)
            for e in session.execute(select(Escalation)).scalars()
        )
    complaints = {address[m]: n for m, n in per_mailbox if m is not None}
    return Outcome(complaints, suspensions, escalations)


def run_single_node(plan: Plan, database_url: str, tmp_path: Path) -> Outcome:
    node = Node("single", database_url, tmp_path, RULES, "--intake", "--worker")
    accounts = tmp_path / "accounts.csv"
    try:
        node.start(node.smtp_port)
        run_abusedesk(database_url, "accounts", "import", str(accounts))
        acked: dict[int, int] = {}
        send_all(plan, [lambda: node.smtp_port], acked)
        engine = create_database_engine(database_url)
        try:
            wait_until_processed(engine)
            check_exactly_once(engine, acked)
            return outcome(engine)
        finally:
            engine.dispose()
    finally:
        node.stop()


@pytest.mark.slow
def test_three_nodes_match_one_node_through_two_kills(
    postgres_database: str, tmp_path: Path
) -> None:
    plan = make_plan()
    (tmp_path / "accounts.csv").write_text(plan.accounts_csv)
    database_url = new_schema_url(postgres_database)
    first = Node("intake-1", database_url, tmp_path, RULES, "--intake", "--worker")
    second = Node("intake-2", database_url, tmp_path, RULES, "--intake", "--worker")
    policy = Node("policy", database_url, tmp_path, RULES, "--policy", "--web")
    nodes = [first, second, policy]
    acked: dict[int, int] = {}
    kills: list[float] = []

    def kill_and_restart() -> None:
        for at in KILL_AT:
            while len(acked) < at:
                time.sleep(0.01)
            second.kill()
            kills.append(time.monotonic())
            time.sleep(0.5)
            second.start(second.smtp_port)

    started = time.monotonic()
    try:
        for node in nodes:  # together, on an empty database
            node.launch()
        first.wait_until_listening(first.smtp_port)
        second.wait_until_listening(second.smtp_port)
        policy.wait_until_listening(policy.policy_port)
        run_abusedesk(database_url, "accounts", "import", str(tmp_path / "accounts.csv"))
        killer = threading.Thread(target=kill_and_restart, daemon=True)
        killer.start()
        send_all(plan, [lambda: first.smtp_port, lambda: second.smtp_port], acked)
        killer.join(60)
        sent = time.monotonic()
        engine = create_database_engine(database_url)
        try:
            wait_until_processed(engine)
            processed = time.monotonic()
            check_exactly_once(engine, acked)
            several = outcome(engine)
            answers = policy.policy_answers(plan.mailboxes)
            deadline = time.monotonic() + 1.0
            while time.monotonic() < deadline and not all(
                answers[m].startswith("REJECT") == (m in several.suspensions)
                for m in plan.mailboxes
            ):
                answers = policy.policy_answers(plan.mailboxes)
        finally:
            engine.dispose()
        assert len(kills) == len(KILL_AT), "the worker node was not killed twice"
        print(
            f"\nthree nodes: {REPORTS} reports sent in {sent - started:.1f} s, all processed "
            f"after {processed - started:.1f} s, through {len(kills)} kills"
        )
    finally:
        for node in nodes:
            node.stop()

    suspended = {m for m, answer in answers.items() if answer.startswith("REJECT")}
    assert suspended == set(several.suspensions), "the policy node's answers are not the state"
    assert all(answers[m] == "DUNNO" for m in plan.mailboxes if m not in suspended)
    # Not vacuous: two mailboxes of every domain went over the limit; young domains escalated.
    assert len(several.suspensions) == 2 * DOMAINS
    assert all(len(s) == 1 and len(s[0][1]) == 6 for s in several.suspensions.values())
    assert Counter(e[2] for e in several.escalations) == {  # once each: none opened twice
        f"d{d}.example": 1 for d in range(0, DOMAINS, YOUNG_EVERY)
    }

    single_started = time.monotonic()
    one = run_single_node(plan, new_schema_url(postgres_database), tmp_path)
    print(f"one node: the same reports in {time.monotonic() - single_started:.1f} s")
    assert several.complaints == one.complaints
    assert Counter(several.complaints.values()) == Counter(
        {n: DOMAINS for n in (6, 5, 3)} | {6: 2 * DOMAINS}
    )
    assert several.suspensions == one.suspensions
    assert several.escalations == one.escalations
