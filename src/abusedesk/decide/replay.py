"""Replay stored history against candidate rules, carrying out nothing, and compare.

Events (complaints, signups, lifts) are walked in the order they happened. The
candidate's own suspensions are simulated — they raise suspension events and
count in suspension counters exactly as live ones would — but nothing is
written. A lift found in history lifts the candidate's suspension of the same
mailbox at the same moment. What the current rules did is what is stored:
the suspensions and escalations created in the period.
"""

from __future__ import annotations

import heapq
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, select
from sqlmodel import Session, col

from abusedesk.decide.counters import Subject
from abusedesk.decide.engine import PolicyEngine
from abusedesk.decide.evaluate import comparisons, compile_predicate, counter_caps
from abusedesk.decide.events import ALL_SUBJECTS, Event, entity_facts, resolve_params
from abusedesk.decide.expr import paths_in
from abusedesk.decide.model import Escalate, EventKind, RuleSet, Scope, Suspend, Value, Volume
from abusedesk.decide.replay_report import ReplayReport
from abusedesk.decide.volume import HOUR
from abusedesk.decide.window import VolumeWindow, WindowCounter, micros
from abusedesk.store.tables import Complaint, Escalation, Mailbox, SentVolume, Suspension

BATCH = 20_000


def replay(engine: Engine, ruleset: RuleSet, since: datetime, until: datetime) -> ReplayReport:
    started = time.monotonic()
    with Session(engine) as session:
        run = _Replay(session, ruleset, since, until)
        run.walk()
        report = run.report
        _current(session, since, until, report)
    report.seconds = time.monotonic() - started
    return report


class _Replay:
    def __init__(self, session: Session, ruleset: RuleSet, since: datetime, until: datetime):
        self.session, self.ruleset, self.since, self.until = session, ruleset, since, until
        self.policy = PolicyEngine(ruleset)
        self.snapshot = self.policy.snapshot()
        self.subjects = _subjects(session)
        self._params: dict[int, dict[str, Value]] = {}
        self.counters: dict[str, WindowCounter | VolumeWindow] = {
            name: VolumeWindow(c, self.subjects)
            if isinstance(c.count, Volume)
            else WindowCounter(c, self.subjects, self.params)
            for name, c in ruleset.counters.items()
        }
        self.volumes = [c for c in self.counters.values() if isinstance(c, VolumeWindow)]
        self.suspended: dict[int, str] = {}  # mailbox id → rule, for the candidate's suspensions
        self.open_escalations: set[tuple[str, str, str]] = set()
        self.report = ReplayReport(str(ruleset.path), since, until)
        self._fired_cache: dict[tuple[Any, ...], frozenset[str]] = {}
        self._comparisons = {
            kind: [
                compile_predicate(c)
                for r in ruleset.rules_for(kind)
                if r.when
                for c in comparisons(r.when)
            ]
            for kind in EventKind
        }
        # Caps depend on the thresholds only; when those read nothing but params and
        # literals, they are the same for every event of one domain.
        self._caps: dict[tuple[EventKind, int], dict[str, int | None]] = {}
        self._static_caps = all(
            p.parts[0] == "params"
            for r in ruleset.rules
            if r.when
            for c in comparisons(r.when)
            for p in paths_in(c.right)
        )

    def params(self, subject: Subject) -> dict[str, Value]:
        if subject.domain_id not in self._params:
            self._params[subject.domain_id] = resolve_params(self.session, self.ruleset, subject)
        return self._params[subject.domain_id]

    def walk(self) -> None:
        longest = max((c.within for c in self.ruleset.counters.values()), default=0.0)
        warmup = self.since - timedelta(seconds=longest)
        self._warm_suspensions(warmup)
        streams = [
            _complaints(self.session, warmup, self.until),
            _signups(self.session, warmup, self.until),
            _lifts(self.session, self.since, self.until),
        ]
        sent = sent_buckets(self.session, warmup, self.until) if self.volumes else iter(())
        bucket = next(sent, None)
        for at, _order, kind, mailbox_id, details in heapq.merge(*streams):
            while bucket is not None and bucket[0] <= at:
                for volume in self.volumes:
                    volume.add(micros(bucket[0]), *bucket[1:])
                bucket = next(sent, None)
            self._feed(kind, at, mailbox_id, details)
            if at > self.since and mailbox_id in self.subjects:
                if kind is EventKind.LIFT:
                    self.suspended.pop(mailbox_id, None)
                self._decide(Event(kind, mailbox_id, at, details))

    def _feed(
        self, kind: EventKind, at: datetime, mailbox_id: int, details: dict[str, Any]
    ) -> None:
        namespace = {
            EventKind.COMPLAINT: "report",
            EventKind.SIGNUP: "signup",
            EventKind.LIFT: "lift",
            EventKind.SUSPENSION: "suspension",
        }[kind]
        for counter in self.counters.values():
            if counter.counter.count is kind and isinstance(counter, WindowCounter):
                counter.add(micros(at), mailbox_id, {namespace: details})

    def _warm_suspensions(self, warmup: datetime) -> None:
        """Suspensions before the period: they count, and those still active stay active."""
        rows = self.session.execute(
            select(Suspension)
            .where(col(Suspension.started_at) > warmup, col(Suspension.started_at) <= self.since)
            .order_by(col(Suspension.started_at))
        ).scalars()
        for s in rows:
            self._feed(
                EventKind.SUSPENSION,
                s.started_at,
                s.mailbox_id,
                {"rule": s.rule, "service": s.service},
            )
            if s.lifted_at is None or s.lifted_at > self.since:
                self.suspended[s.mailbox_id] = s.rule or ""
        for e in self.session.execute(
            select(Escalation).where(
                col(Escalation.created_at) <= self.since, col(Escalation.status) != "resolved"
            )
        ).scalars():
            self.open_escalations.add((e.pattern, e.scope, e.scope_key))

    def _decide(self, event: Event, depth: int = 0) -> None:
        rules = self.ruleset.rules_for(event.kind)
        if not rules:
            return
        self.report.events += 1
        subject = self.subjects[event.mailbox_id]
        params = self.params(subject)
        suspended = event.mailbox_id in self.suspended
        facts = entity_facts(event, subject, suspended, can_send=not suspended)
        facts["params"] = params
        caps = self._caps.get((event.kind, subject.domain_id)) if self._static_caps else None
        if caps is None:
            caps = counter_caps(rules, facts)
            self._caps[(event.kind, subject.domain_id)] = caps
        now = micros(event.at)
        facts["counters"] = {
            name: self.counters[name].count(subject, now, params, caps.get(name))
            for name in self.ruleset.counters_for(event.kind)
        }
        for rule_name in self._fired(event, facts):
            rule = next(r for r in rules if r.name == rule_name)
            self.report.fired(rule_name)
            if rule.shadow:
                continue
            for action in rule.actions:
                if isinstance(action, Suspend) and event.mailbox_id not in self.suspended:
                    self._suspend(event, subject, rule_name, depth)
                elif isinstance(action, Escalate):
                    key = {
                        Scope.MAILBOX: subject.address,
                        Scope.DOMAIN: subject.domain,
                        Scope.COMPANY: subject.company,
                    }[action.scope]
                    if (action.pattern, action.scope.value, key) not in self.open_escalations:
                        self.open_escalations.add((action.pattern, action.scope.value, key))
                        self.report.candidate_escalation(action.pattern, key)

    def _suspend(self, event: Event, subject: Subject, rule: str, depth: int) -> None:
        self.suspended[event.mailbox_id] = rule
        self.report.candidate_suspension(rule, subject.address)
        details: dict[str, Value | None] = {"rule": rule, "service": "send"}
        self._feed(EventKind.SUSPENSION, event.at, event.mailbox_id, details)
        if depth < 2:
            self._decide(
                Event(EventKind.SUSPENSION, event.mailbox_id, event.at, details), depth + 1
            )

    def _fired(self, event: Event, facts: dict[str, Any]) -> frozenset[str]:
        # A condition is and/or over comparisons, so the rules that fire depend only on
        # which comparisons hold. durable-rules is asked once per such pattern — and each
        # answer is checked against our evaluator — then the answer is reused.
        signature = (
            event.kind,
            *(holds(facts) for holds in self._comparisons[event.kind]),
        )
        if signature not in self._fired_cache:
            verdict = self.policy.evaluate(self.snapshot, event.kind, event.key, facts)
            self._fired_cache[signature] = frozenset(f["rule"] for f in verdict.fired)
            self.report.engine_calls += 1
        return self._fired_cache[signature]


Row = tuple[datetime, int, EventKind, int, dict[str, Any]]


def _complaints(session: Session, start: datetime, end: datetime) -> Iterator[Row]:
    query = (
        select(
            col(Complaint.occurred_at),
            col(Complaint.id),
            col(Complaint.mailbox_id),
            col(Complaint.kind),
            col(Complaint.trusted),
            col(Complaint.format),
            col(Complaint.feedback_type),
            col(Complaint.reporter),
            col(Complaint.source_ip),
        )
        .where(
            col(Complaint.occurred_at) > start,
            col(Complaint.occurred_at) <= end,
            col(Complaint.mailbox_id).is_not(None),
        )
        .order_by(col(Complaint.occurred_at), col(Complaint.id))
        .execution_options(yield_per=BATCH)
    )
    for at, _id, mid, kind, trusted, fmt, ftype, reporter, ip in session.execute(query):
        yield (
            at,
            0,
            EventKind.COMPLAINT,
            mid,
            {
                "kind": kind,
                "trusted": trusted,
                "format": fmt,
                "feedback_type": ftype,
                "reporter": reporter,
                "source_ip": ip,
            },
        )


def sent_buckets(session: Session, start: datetime, end: datetime) -> Iterator[tuple[Any, ...]]:
    """(hour, mailbox id, messages, recipients) of every bucket the walk can count."""
    query = (
        select(
            col(SentVolume.hour),
            col(SentVolume.mailbox_id),
            col(SentVolume.messages),
            col(SentVolume.recipients),
        )
        .where(col(SentVolume.hour) > start - HOUR, col(SentVolume.hour) <= end)
        .order_by(col(SentVolume.hour))
        .execution_options(yield_per=BATCH)
    )
    for row in session.execute(query):
        yield tuple(row)


def _signups(session: Session, start: datetime, end: datetime) -> Iterator[Row]:
    query = (
        select(col(Mailbox.created_at), col(Mailbox.id), col(Mailbox.signup_ip))
        .where(col(Mailbox.created_at) > start, col(Mailbox.created_at) <= end)
        .order_by(col(Mailbox.created_at))
    )
    for at, mid, ip in session.execute(query):
        yield at, 1, EventKind.SIGNUP, mid, {"ip": ip}


def _lifts(session: Session, start: datetime, end: datetime) -> Iterator[Row]:
    query = (
        select(
            col(Suspension.lifted_at),
            col(Suspension.mailbox_id),
            col(Suspension.outcome),
            col(Suspension.lifted_by),
        )
        .where(col(Suspension.lifted_at) > start, col(Suspension.lifted_at) <= end)
        .order_by(col(Suspension.lifted_at))
    )
    for at, mid, outcome, by in session.execute(query):
        yield at, 2, EventKind.LIFT, mid, {"outcome": outcome, "by": by}


def _subjects(session: Session) -> dict[int, Subject]:
    rows = session.execute(ALL_SUBJECTS)
    return {row[0]: Subject(*row) for row in rows}


def _current(session: Session, since: datetime, until: datetime, report: ReplayReport) -> None:
    rows = session.execute(
        select(col(Suspension.rule), col(Mailbox.address))
        .join(Mailbox, col(Mailbox.id) == col(Suspension.mailbox_id))
        .where(col(Suspension.started_at) > since, col(Suspension.started_at) <= until)
    )
    for rule, address in rows:
        report.current_suspension(rule or "(no rule)", address)
    for pattern, key in session.execute(
        select(col(Escalation.pattern), col(Escalation.scope_key)).where(
            col(Escalation.created_at) > since, col(Escalation.created_at) <= until
        )
    ):
        report.current_escalation(pattern, key)
