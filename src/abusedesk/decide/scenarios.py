"""Scenario tests for a rules file: given accounts and timed events, expect these actions.

Each scenario runs the real engine and the real executor on a fresh in-memory
database, so a scenario passes only if production would act the same way.
The file format is documented in docs/rules.md ("Scenario tests").
"""

from __future__ import annotations

from collections import Counter as Multiset
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import Engine, create_engine, select
from sqlalchemy.pool import StaticPool
from sqlmodel import Session, SQLModel, col

from abusedesk.act.suspend import active_suspension
from abusedesk.decide.decide import decide_after_complaint, decide_event
from abusedesk.decide.engine import PolicyEngine
from abusedesk.decide.events import lift_event, signup_event
from abusedesk.decide.expr import parse_duration
from abusedesk.decide.model import RuleSet
from abusedesk.errors import RulesError
from abusedesk.record.complaints import record_synthetic_complaint
from abusedesk.store.tables import Company, Decision, Domain, Mailbox, SentVolume

OLD_ACCOUNT = datetime(2020, 1, 1, tzinfo=UTC)
CARRIED_OUT = {"done", "queued", "not queued: no outbox in this run", "held for review"}


@dataclass
class ScenarioResult:
    name: str
    missing: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    error: str | None = None

    @property
    def passed(self) -> bool:
        return not (self.missing or self.unexpected or self.error)


def scenarios_path(rules_path: Path) -> Path:
    """`rules/default.yaml` → `rules/default.scenarios.yaml`."""
    return rules_path.with_name(rules_path.stem + ".scenarios.yaml")


def run_scenarios(ruleset: RuleSet, path: Path) -> list[ScenarioResult]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise RulesError(f"{path}: cannot read the scenarios: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("scenarios"), list):
        raise RulesError(f"{path}: expected a top-level 'scenarios:' list")
    results = []
    for index, spec in enumerate(data["scenarios"], start=1):
        name = str(spec.get("name", f"scenario #{index}")) if isinstance(spec, dict) else "?"
        try:
            results.append(_run(ruleset, name, spec))
        except (KeyError, TypeError, ValueError, RulesError) as exc:
            results.append(ScenarioResult(name, error=f"{path}: {name}: {exc}"))
    return results


def _run(ruleset: RuleSet, name: str, spec: dict[str, Any]) -> ScenarioResult:
    engine = create_engine(
        "sqlite://", poolclass=StaticPool, connect_args={"check_same_thread": False}
    )
    SQLModel.metadata.create_all(engine)
    policy = PolicyEngine(ruleset)
    try:
        for account in spec.get("accounts", []):
            _add_account(engine, account)
        for event in spec.get("events", []):
            _play(engine, policy, event)
        actual = Multiset(_taken(engine))
    finally:
        policy.snapshot().durable.close()
        engine.dispose()
    expected = Multiset(" ".join(str(line).split()) for line in spec.get("expect") or [])
    return ScenarioResult(
        name, sorted((expected - actual).elements()), sorted((actual - expected).elements())
    )


def _add_account(engine: Engine, account: str | dict[str, Any]) -> None:
    spec = {"address": account} if isinstance(account, str) else dict(account)
    address = str(spec["address"]).lower()
    created = _time(spec["created"]) if "created" in spec else OLD_ACCOUNT
    _mailbox(engine, address, created, spec.get("company"), spec.get("signup_ip"))


def _mailbox(
    engine: Engine, address: str, created: datetime, company: str | None, ip: str | None
) -> Mailbox:
    domain_name = address.rsplit("@", 1)[1]
    with Session(engine, expire_on_commit=False) as session:
        domain = session.execute(
            select(Domain).where(col(Domain.name) == domain_name)
        ).scalar_one_or_none()
        if domain is None:
            owner = Company(name=company or f"owner of {domain_name}")
            session.add(owner)
            session.flush()
            assert owner.id is not None
            domain = Domain(name=domain_name, company_id=owner.id, created_at=OLD_ACCOUNT)
            session.add(domain)
            session.flush()
        assert domain.id is not None
        mailbox = Mailbox(address=address, domain_id=domain.id, created_at=created, signup_ip=ip)
        session.add(mailbox)
        session.commit()
    return mailbox


def _play(engine: Engine, policy: PolicyEngine, event: dict[str, Any]) -> None:
    at = _time(event["at"])
    every = parse_duration(str(event.get("every", "1m")))
    if every is None:
        raise ValueError(f"every: {event['every']!r} is not a duration")
    for repeat in range(int(event.get("repeat", 1))):
        when = at + timedelta(seconds=every * repeat)
        with Session(engine) as session:
            if "complaint" in event:
                complaint_id = _complaint(session, event, when)
                decide_after_complaint(session, complaint_id, policy)
            elif "signup" in event:
                session.close()
                mailbox = _mailbox(
                    engine,
                    str(event["signup"]).lower(),
                    when,
                    event.get("company"),
                    event.get("ip"),
                )
                with Session(engine) as fresh:
                    decide_event(fresh, policy, signup_event(mailbox))
                    fresh.commit()
                continue
            elif "lift" in event:
                _lift(session, policy, str(event["lift"]).lower(), when)
            elif "sent" in event:
                _sent(session, event, when)
            else:
                raise ValueError(
                    f"event at {event['at']}: expected complaint, signup, lift or sent"
                )
            session.commit()


def _mailbox_id(session: Session, address: str, what: str) -> int:
    mailbox_id = session.execute(
        select(col(Mailbox.id)).where(col(Mailbox.address) == address)
    ).scalar_one_or_none()
    if mailbox_id is None:
        raise ValueError(f"{what} {address}, which is not among the accounts")
    return int(mailbox_id)


def _sent(session: Session, event: dict[str, Any], at: datetime) -> None:
    """Mail sent, metered into the hour's bucket as the policy service meters it."""
    mailbox_id = _mailbox_id(session, str(event["sent"]).lower(), "mail sent by")
    messages = int(event.get("messages", 1))
    recipients = int(event.get("recipients", messages))
    if messages < 0 or recipients < 0:
        raise ValueError(f"sent at {event['at']}: messages and recipients cannot be negative")
    hour = at.replace(minute=0, second=0, microsecond=0)
    bucket = session.get(SentVolume, (mailbox_id, hour))
    if bucket is None:
        bucket = SentVolume(mailbox_id=mailbox_id, hour=hour)
    bucket.messages += messages
    bucket.recipients += recipients
    session.add(bucket)
    session.flush()


def _complaint(session: Session, event: dict[str, Any], at: datetime) -> int:
    address = str(event["complaint"]).lower()
    mailbox_id = _mailbox_id(session, address, "complaint about")
    complaint = record_synthetic_complaint(
        session,
        mailbox_id,
        at,
        trusted=bool(event.get("trusted", True)),
        kind=str(event.get("kind", "complaint")),
        origin="scenario",
    )
    assert complaint.id is not None
    return complaint.id


def _lift(session: Session, policy: PolicyEngine, address: str, at: datetime) -> None:
    mailbox = session.execute(select(Mailbox).where(col(Mailbox.address) == address)).scalar_one()
    assert mailbox.id is not None
    suspension = active_suspension(session, mailbox.id)
    if suspension is None:
        raise ValueError(f"lift of {address}, which is not suspended at {at.isoformat()}")
    suspension.lifted_at, suspension.outcome, suspension.lifted_by = at, "lifted", "scenario"
    mailbox.can_send = True
    session.add_all([suspension, mailbox])
    session.flush()
    decide_event(session, policy, lift_event(suspension))


def _taken(engine: Engine) -> list[str]:
    """Every action carried out, as "RULE ACTION SUBJECT"; shadow ones marked so."""
    taken = []
    with Session(engine) as session:
        rows = session.execute(
            select(Decision, col(Mailbox.address))
            .join(Mailbox, col(Mailbox.id) == col(Decision.mailbox_id))
            .order_by(col(Decision.id))
        )
        for decision, address in rows:
            for action in decision.actions:
                if action["shadow"]:
                    taken.append(f"{action['rule']} {action['action']} {address} (shadow)")
                elif action["status"] in CARRIED_OUT:
                    subject = action.get("scope_key", address)
                    taken.append(f"{action['rule']} {action['action']} {subject}")
    return taken


def _time(value: object) -> datetime:
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    if moment.tzinfo is None:
        raise ValueError(f"time {value!r} has no zone; write it in UTC, e.g. ...T10:00:00Z")
    return moment.astimezone(UTC)
