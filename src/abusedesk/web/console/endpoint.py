"""What a console page or API operation is: its route, who may call it, and what it answers.

Every page and API operation is an `Endpoint` in one table (`routes.py`). The
table is what the app mounts, what the OpenAPI document is generated from,
and what the authorization test matrix walks, so no route escapes any of them.
Handlers are plain functions of a `Call`, run in a worker thread inside one
database transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from jinja2 import Environment
from sqlalchemy import Engine
from sqlmodel import Session

from abusedesk.access.scope import Actor
from abusedesk.decide import PolicyEngine


class Target(StrEnum):
    """The kind of object a path names; its scope is checked by the handler that loads it."""

    NONE = "none"
    MAILBOX = "mailbox"
    SUSPENSION = "suspension"
    ESCALATION = "escalation"
    REPORT = "report"
    COMPANY = "company"
    CONTACT = "contact"


class Audience(StrEnum):
    """Which roles may use an endpoint at all; anyone else is answered 404, as if it were not."""

    ANY = "any"
    COMPANY = "company"
    STAFF = "staff"


@dataclass(frozen=True, slots=True)
class ConsoleDeps:
    """What pages need besides the request, built once at start-up."""

    engine: Engine
    templates: Environment
    policy: PolicyEngine | None
    rules_path: Path
    data_dir: Path


@dataclass(frozen=True, slots=True)
class Call:
    actor: Actor
    session: Session
    deps: ConsoleDeps
    params: Mapping[str, str]
    query: Mapping[str, str]
    body: Mapping[str, Any]
    path: str


@dataclass(frozen=True, slots=True)
class Page:
    template: str
    context: Mapping[str, Any]
    status: int = 200


@dataclass(frozen=True, slots=True)
class Redirect:
    url: str
    flash: str | None = None
    flash_kind: str = "info"


@dataclass(frozen=True, slots=True)
class Json:
    data: Any
    status: int = 200


@dataclass(frozen=True, slots=True)
class Text:
    text: str


Reply = Page | Redirect | Json | Text
Handler = Callable[[Call], Reply]


@dataclass(frozen=True, slots=True)
class Endpoint:
    path: str
    name: str
    handler: Handler
    summary: str
    method: str = "GET"
    target: Target = Target.NONE
    audience: Audience = Audience.ANY
    api: bool = False
    fields: Mapping[str, str] = field(default_factory=dict)
    """For a POST: its body fields and what each means (the form's, or the JSON body's)."""
    example: Mapping[str, str] = field(default_factory=dict)
    """A valid body, as the authorization matrix sends it."""
