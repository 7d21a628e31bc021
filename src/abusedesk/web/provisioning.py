"""`POST /api/v1/accounts`: the platform's provisioning system announces a new mailbox.

A new mailbox is a `signup` event for the rules, exactly as when it arrives by
`abusedesk accounts add` or an import, and it only adds (`accounts.signup`):
a domain of another company is 409, and contacts are not changed. The caller
authenticates with the service token of `[web] service_token` before its body
is read; without a token configured the endpoint refuses everything. Every
authenticated call is audited as `service:provisioning`, from the caller's
address, refused and invalid ones too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from abusedesk.access import Role
from abusedesk.access.scope import Actor
from abusedesk.accounts.signup import (
    SignupOutcome,
    add_account,
    record_refused_signup,
    signup_from,
)
from abusedesk.decide import PolicyEngine
from abusedesk.errors import AbusedeskError, RefusedError
from abusedesk.web.bodies import BadBody, closing, read_json_object
from abusedesk.web.console.dispatch import client_address
from abusedesk.web.service_token import has_service_token

FIELDS = {"address", "company", "company_abuse_contact", "created_at", "signup_ip"}
MAX_BODY_BYTES = 8 * 1024
"""Five short fields."""
ACTOR = "service:provisioning"


@dataclass(frozen=True)
class ProvisioningApi:
    engine: Engine
    policy: PolicyEngine | None
    service_token: str | None

    async def create_account(self, request: Request) -> Response:
        if not has_service_token(request, self.service_token):
            message = "a valid service token is required (Authorization: Bearer …)"
            return closing(_error(401, message))
        actor = Actor(ACTOR, Role.STAFF, None, None, client_address(request))
        body = await read_json_object(request, MAX_BODY_BYTES)
        if isinstance(body, BadBody):
            await self._invalid(actor, "", body.message)
            return closing(_error(body.status, body.message))
        target = body.get("address") if isinstance(body.get("address"), str) else ""
        try:
            problem = _invalid(body)
            if problem:
                raise ValueError(problem)
            signup = signup_from(
                body["address"],
                company=body.get("company"),
                abuse_contact=body.get("company_abuse_contact"),
                created_at=_timestamp(body.get("created_at")),
                signup_ip=body.get("signup_ip"),
            )
        except (AbusedeskError, ValueError) as exc:
            await self._invalid(actor, str(target), str(exc))
            return _error(400, str(exc))
        try:
            # add_account audits what it did, or why it refused.
            result = await run_in_threadpool(add_account, self.engine, self.policy, signup, actor)
        except RefusedError as exc:
            return _error(409, str(exc))
        except AbusedeskError as exc:
            return _error(400, str(exc))
        status = 201 if result.created else 200
        return JSONResponse({"address": result.address, "created": result.created}, status)

    async def _invalid(self, actor: Actor, target: str, reason: str) -> None:
        await run_in_threadpool(
            record_refused_signup,
            self.engine,
            actor,
            target,
            reason,
            None,
            SignupOutcome.INVALID,
        )


def _invalid(body: dict[str, Any]) -> str | None:
    unknown = set(body) - FIELDS
    if unknown:
        return f"unknown fields: {', '.join(sorted(unknown))}"
    if not isinstance(body.get("address"), str):
        return "address is required"
    for name in FIELDS - {"address"}:
        if body.get(name) is not None and not isinstance(body[name], str):
            return f"{name} must be a string"
    return None


def _timestamp(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"created_at {text[:40]!r} is not an ISO 8601 date-time") from None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status)
