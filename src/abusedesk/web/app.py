"""The Starlette application served on the `[web]` port."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from abusedesk.metrics import Metrics
from abusedesk.web.can_send import CanSendApi
from abusedesk.web.provisioning import ProvisioningApi

PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8"


def build_app(
    metrics: Metrics, provisioning: ProvisioningApi, can_send: CanSendApi | None = None
) -> Starlette:
    async def metrics_endpoint(_request: Request) -> Response:
        return Response(metrics.exposition(), media_type=PROMETHEUS_TEXT)

    async def health(_request: Request) -> Response:
        return PlainTextResponse("ok\n")

    routes = [
        Route("/metrics", metrics_endpoint),
        Route("/healthz", health),
        Route("/api/v1/accounts", provisioning.create_account, methods=["POST"]),
    ]
    if can_send is not None:
        routes.append(
            Route("/api/v1/mailboxes/{address}/can-send", can_send.can_send, methods=["GET"])
        )
    return Starlette(routes=routes)
