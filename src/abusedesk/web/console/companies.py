"""Company pages: abuse contacts (add, edit, verify, remove) and per-company and per-domain params.

Staff and the company's own admins manage its contacts. Params change what
the rules allow, so only staff set them; company admins see them.
"""

from __future__ import annotations

import re

from sqlalchemy import or_, select
from sqlmodel import col

from abusedesk.access import Role
from abusedesk.access.audit import record_audit
from abusedesk.access.scope import company_scope
from abusedesk.decide.params import put_param
from abusedesk.errors import NotFoundError, UsageError
from abusedesk.store.tables import Company, Contact, Domain, PolicyParam
from abusedesk.web.console.endpoint import Call, Page, Redirect
from abusedesk.web.console.forms import act, field
from abusedesk.web.console.visible import company_in_scope

EMAIL = re.compile(r"[^@\s<>\"',;]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
COMPANY_LIMIT = 200


def list_companies(call: Call) -> Page:
    rows = call.session.execute(
        select(col(Company.id), col(Company.name))
        .where(company_scope(call.actor))
        .order_by(col(Company.name))
        .limit(COMPANY_LIMIT)
    ).all()
    return Page("companies.html", {"rows": rows})


def _company(call: Call) -> Company:
    try:
        company_id = int(call.params["company_id"])
    except ValueError:
        raise NotFoundError("no such company") from None
    company = call.session.get(Company, company_id)
    if company is None:
        raise NotFoundError("no such company")
    return company_in_scope(call.session, call.actor, company.name)


def show_company(call: Call) -> Page:
    company = _company(call)
    domains = _domains(call, company)
    contacts = call.session.execute(
        select(Contact, col(Domain.name))
        .join(Domain, col(Domain.id) == col(Contact.domain_id), isouter=True)
        .where(col(Contact.company_id) == company.id)
        .order_by(col(Domain.name).is_not(None), col(Domain.name), col(Contact.email))
    ).all()
    params = list(
        call.session.execute(
            select(PolicyParam)
            .where(
                or_(
                    (col(PolicyParam.scope) == "company")
                    & (col(PolicyParam.scope_key) == company.name),
                    (col(PolicyParam.scope) == "domain")
                    & col(PolicyParam.scope_key).in_([d.name for d in domains]),
                )
            )
            .order_by(col(PolicyParam.scope), col(PolicyParam.scope_key), col(PolicyParam.name))
        ).scalars()
    )
    policy = call.deps.policy
    names = sorted(policy.ruleset.params) if policy else []
    return Page(
        "company.html",
        {
            "company": company,
            "domains": domains,
            "contacts": contacts,
            "params": params,
            "param_names": names,
            "may_set_params": call.actor.role is Role.STAFF,
        },
    )


def _valid_email(text: str) -> str:
    email = text.strip()
    if not EMAIL.fullmatch(email) or len(email) > 320:
        raise UsageError(f"{email!r} is not an email address")
    return email


def add_contact(call: Call) -> Redirect:
    company = _company(call)
    url = f"/companies/{company.id}"

    def run() -> str:
        email = _valid_email(field(call.body, "email"))
        domain_id = None
        if field(call.body, "domain"):
            domain = call.session.execute(
                select(Domain).where(
                    col(Domain.name) == field(call.body, "domain").lower(),
                    col(Domain.company_id) == company.id,
                )
            ).scalar_one_or_none()
            if domain is None:
                raise UsageError(f"{company.name} has no domain {field(call.body, 'domain')}")
            domain_id = domain.id
        assert company.id is not None
        contact = Contact(company_id=company.id, domain_id=domain_id, email=email, verified=False)
        call.session.add(contact)
        call.session.flush()
        record_audit(
            call.session,
            call.actor,
            "contact.add",
            "company",
            company.name,
            detail={"email": email},
        )
        return f"Abuse contact {email} added (not verified yet)."

    return act(call, url, run)


def edit_contact(call: Call) -> Redirect:
    try:
        contact_id = int(call.params["contact_id"])
    except ValueError:
        raise NotFoundError("no such contact") from None
    contact = call.session.get(Contact, contact_id)
    if contact is None:
        raise NotFoundError("no such contact")
    company = call.session.get(Company, contact.company_id)
    assert company is not None
    company_in_scope(call.session, call.actor, company.name)
    url = f"/companies/{company.id}"

    def run() -> str:
        before = contact.email
        if field(call.body, "remove"):
            call.session.delete(contact)
            record_audit(
                call.session,
                call.actor,
                "contact.remove",
                "company",
                company.name,
                detail={"email": before},
            )
            return f"Abuse contact {before} removed."
        email = _valid_email(field(call.body, "email") or contact.email)
        verified = bool(field(call.body, "verified"))
        if email != contact.email:
            verified = (
                False  # a new address must be verified anew; verification does not carry over
            )
        contact.email, contact.verified = email, verified
        call.session.add(contact)
        record_audit(
            call.session,
            call.actor,
            "contact.edit",
            "company",
            company.name,
            detail={"email": email, "previous": before, "verified": verified},
        )
        return f"Abuse contact {email} saved{' and verified' if verified else ''}."

    return act(call, url, run)


def set_param(call: Call) -> Redirect:
    company = _company(call)
    url = f"/companies/{company.id}"

    def run() -> str:
        policy = call.deps.policy
        if policy is None:
            raise UsageError("no rules are loaded: params cannot be checked")
        name, value, domain = (field(call.body, k) for k in ("name", "value", "domain"))
        if domain and domain.lower() not in {d.name for d in _domains(call, company)}:
            raise UsageError(f"{company.name} has no domain {domain}")
        where = {"domain": domain} if domain else {"company": company.name}
        if not value:
            return _clear_param(call, name, *next(iter(where.items())))
        row = put_param(
            call.session, policy.ruleset, name, value, actor=call.actor.username, **where
        )
        record_audit(
            call.session,
            call.actor,
            "param.set",
            row.scope,
            row.scope_key,
            detail={"name": name, "value": value},
        )
        return f"{name} = {value} for {row.scope} {row.scope_key}."

    return act(call, url, run)


def _clear_param(call: Call, name: str, scope: str, key: str) -> str:
    key = key.lower() if scope == "domain" else key
    existing = call.session.execute(
        select(PolicyParam).where(
            col(PolicyParam.scope) == scope,
            col(PolicyParam.scope_key) == key,
            col(PolicyParam.name) == name,
        )
    ).scalar_one_or_none()
    if existing is None:
        raise UsageError(f"{name} has no override for {scope} {key}")
    call.session.delete(existing)
    record_audit(call.session, call.actor, "param.clear", scope, key, detail={"name": name})
    return f"{name} for {scope} {key} cleared: the rules file's value applies."


def _domains(call: Call, company: Company) -> list[Domain]:
    return list(
        call.session.execute(
            select(Domain).where(col(Domain.company_id) == company.id).order_by(col(Domain.name))
        ).scalars()
    )
