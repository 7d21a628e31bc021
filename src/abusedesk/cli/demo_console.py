"""The demo's console users: one of each reach, with passwords made up for this run."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy import Engine
from sqlmodel import Session

from abusedesk.access import Role
from abusedesk.access.users import add_user, find_user, set_password


@dataclass(frozen=True, slots=True)
class DemoAdmin:
    username: str
    role: Role
    reach: str
    password: str


DEMO_ADMINS = (
    ("abuse-team", Role.STAFF, None, None, "everything"),
    ("acme-admin", Role.COMPANY_ADMIN, "Acme Hosting Resellers", None, "Acme Hosting Resellers"),
    ("shop-admin", Role.DOMAIN_ADMIN, None, "shop.example", "shop.example"),
)


def create_demo_admins(engine: Engine) -> list[DemoAdmin]:
    """The demo's admins, each with a fresh random password (a kept data dir gets new ones)."""
    admins = []
    with Session(engine) as session:
        for username, role, company, domain, reach in DEMO_ADMINS:
            password = secrets.token_urlsafe(9)
            if find_user(session, username) is None:
                add_user(session, username, role, company=company, domain=domain)
            set_password(session, username, password)
            admins.append(DemoAdmin(username, role, reach, password))
        session.commit()
    return admins


def console_lines(url: str, admins: list[DemoAdmin]) -> list[str]:
    lines = [f"   The review console: {url}/  — sign in as"]
    lines += [
        f"     {a.username:11} password {a.password:14} ({a.role.value}: {a.reach})" for a in admins
    ]
    return lines
