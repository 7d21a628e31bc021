"""The service token that the platform's own systems present (`[web] service_token`)."""

from __future__ import annotations

import hmac

from starlette.requests import Request


def has_service_token(request: Request, service_token: str | None) -> bool:
    """`Authorization: Bearer <token>` with the configured token; never true without one."""
    if not service_token:
        return False
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(
        token.strip().encode(), service_token.encode()
    )
