"""`GET /api/v1/mailboxes/{address}/can-send`: may this mailbox send right now?

For webmail and other submitters that do not go through Postfix's policy
check. The answer comes from the same in-memory send state as the policy
service, so it costs no database query and changes within a second of a
suspension or a lift. Like the policy service, it knows only which mailboxes
may *not* send: any other address answers `"send": true`. The caller presents
the `[web] service_token`.
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from abusedesk.enforce.state import SendState, normalize
from abusedesk.web.service_token import has_service_token

MAX_ADDRESS = 320


@dataclass(frozen=True)
class CanSendApi:
    state: SendState
    service_token: str | None

    async def can_send(self, request: Request) -> Response:
        if not has_service_token(request, self.service_token):
            return _error(401, "a valid service token is required (Authorization: Bearer …)")
        address = normalize(str(request.path_params["address"]))
        local, at, domain = address.rpartition("@")
        if not (local and at and domain) or len(address) > MAX_ADDRESS or _unprintable(address):
            return _error(400, "not an email address")
        if not self.state.loaded:
            return _error(503, "the send state is not loaded yet; try again")
        return JSONResponse({"address": address, "send": self.state.may_send(address)})


def _unprintable(text: str) -> bool:
    return any(ord(char) < 0x21 or ord(char) == 0x7F for char in text)


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status)
