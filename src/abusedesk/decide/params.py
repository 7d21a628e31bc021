"""Per-company and per-domain overrides of the rules file's params, kept in the database."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, select
from sqlmodel import Session, col

from abusedesk.decide.events import parse_param_value
from abusedesk.decide.model import RuleSet
from abusedesk.errors import NotFoundError, RulesError
from abusedesk.store.tables import Company, Domain, PolicyParam
from abusedesk.store.types import utcnow


@dataclass(frozen=True, slots=True)
class ParamRow:
    name: str
    scope: str
    scope_key: str
    value: str

    def as_json(self) -> dict[str, str]:
        return {
            "name": self.name,
            "scope": self.scope,
            "scope_key": self.scope_key,
            "value": self.value,
        }


def set_param(
    engine: Engine,
    ruleset: RuleSet,
    name: str,
    value: str,
    *,
    company: str | None = None,
    domain: str | None = None,
    actor: str | None = None,
) -> ParamRow:
    """Store an override after checking it names a param of `ruleset` and fits its type."""
    with Session(engine) as session:
        row = put_param(session, ruleset, name, value, company=company, domain=domain, actor=actor)
        session.commit()
    return row


def put_param(
    session: Session,
    ruleset: RuleSet,
    name: str,
    value: str,
    *,
    company: str | None = None,
    domain: str | None = None,
    actor: str | None = None,
) -> ParamRow:
    """`set_param` inside the caller's transaction (the console audits in the same one)."""
    if (company is None) == (domain is None):
        raise RulesError("give exactly one of --company or --domain")
    if name not in ruleset.params:
        known = ", ".join(sorted(ruleset.params)) or "none"
        raise RulesError(f"{ruleset.path} has no param {name!r} (its params: {known})")
    if parse_param_value(ruleset, name, value) is None:
        declared = ruleset.params[name].type
        raise RulesError(f"param {name!r} is a {declared} in {ruleset.path}; {value!r} is not")
    scope, key = ("company", company) if company is not None else ("domain", domain)
    assert key is not None
    key = key.strip() if scope == "company" else key.strip().lower()
    table = Company if scope == "company" else Domain
    if session.execute(select(col(table.id)).where(col(table.name) == key)).first() is None:
        raise NotFoundError(f"no {scope} named {key!r} in the account directory")
    row = session.execute(
        select(PolicyParam).where(
            col(PolicyParam.scope) == scope,
            col(PolicyParam.scope_key) == key,
            col(PolicyParam.name) == name,
        )
    ).scalar_one_or_none()
    if row is None:
        row = PolicyParam(scope=scope, scope_key=key, name=name, value=value)
    row.value, row.updated_at, row.updated_by = value, utcnow(), actor
    session.add(row)
    session.flush()
    return ParamRow(name, scope, key, value)


def list_params(engine: Engine) -> list[ParamRow]:
    with Session(engine) as session:
        rows = session.execute(
            select(PolicyParam).order_by(
                col(PolicyParam.name), col(PolicyParam.scope), col(PolicyParam.scope_key)
            )
        ).scalars()
        return [ParamRow(r.name, r.scope, r.scope_key, r.value) for r in rows]
