"""`POST /api/v1/accounts`: the platform's provisioning system announces a new mailbox.

A new mailbox is a `signup` event for the rules, exactly as when it arrives by
`abusedesk accounts add` or an import. The caller authenticates with the
service token of `[web] service_token`; without one configured the endpoint
refuses everything.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from abusedesk.accounts.signup import add_account
from abusedesk.decide import PolicyEngine
from abusedesk.errors import AbusedeskError
from abusedesk.web.service_token import has_service_token

FIELDS = {"address", "company", "company_abuse_contact", "created_at", "signup_ip"}


@dataclass(frozen=True)
class ProvisioningApi:
    engine: Engine
    policy: PolicyEngine | None
    service_token: str | None

    async def create_account(self, request: Request) -> Response:
        if not self._authorized(request):
            return _error(401, "a valid service token is required (Authorization: Bearer …)")
        try:
            body: Any = await request.json()
        except ValueError:
            return _error(400, "the body must be a JSON object")
        problem = _invalid(body)
        if problem:
            return _error(400, problem)
        try:
            created_at = _timestamp(body.get("created_at"))
            summary = await run_in_threadpool(
                add_account,
                self.engine,
                self.policy,
                body["address"],
                company=body.get("company"),
                abuse_contact=body.get("company_abuse_contact"),
                created_at=created_at,
                signup_ip=body.get("signup_ip"),
            )
        except (AbusedeskError, ValueError) as exc:
            return _error(400, str(exc))
        created = summary.mailboxes_created == 1
        address = str(body["address"]).strip().lower()
        return JSONResponse({"address": address, "created": created}, 201 if created else 200)

    def _authorized(self, request: Request) -> bool:
        return has_service_token(request, self.service_token)


def _invalid(body: Any) -> str | None:
    if not isinstance(body, dict):
        return "the body must be a JSON object"
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
    value = datetime.fromisoformat(text)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status)
