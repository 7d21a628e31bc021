"""Build the console once at start-up: its dependencies, session signer, sign-in and routes."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from sqlalchemy import Engine
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from abusedesk import __version__
from abusedesk.config import Settings
from abusedesk.decide import PolicyEngine
from abusedesk.store.tables import AdminUser
from abusedesk.web.console.dispatch import Dispatcher
from abusedesk.web.console.endpoint import ConsoleDeps, Endpoint
from abusedesk.web.console.openapi import openapi_document
from abusedesk.web.console.routes import ENDPOINTS
from abusedesk.web.console.signin import SignIn
from abusedesk.web.secret import console_secret
from abusedesk.web.session import SessionSigner
from abusedesk.web.templating import console_templates
from abusedesk.web.throttle import LoginThrottle

OPENAPI_PATH = "/api/v1/openapi.json"
PUBLIC_PATHS = ("/login", "/logout", OPENAPI_PATH, "/static")
"""Routes the console serves without a signed-in user (the matrix test checks them apart)."""


@dataclass(frozen=True, slots=True)
class Console:
    dispatcher: Dispatcher
    sign_in: SignIn
    endpoints: tuple[Endpoint, ...]

    def routes(self) -> list[BaseRoute]:
        document = openapi_document(self.endpoints, __version__)

        async def openapi(_request: Request) -> Response:
            return JSONResponse(document)

        routes: list[BaseRoute] = [
            Route("/login", self.sign_in.form, methods=["GET"]),
            Route("/login", self.sign_in.submit, methods=["POST"]),
            Route("/logout", self.sign_in.sign_out, methods=["POST"]),
            Route(OPENAPI_PATH, openapi, methods=["GET"]),
            Mount("/static", StaticFiles(packages=[("abusedesk.web", "static")]), name="static"),
        ]
        routes.extend(
            Route(e.path, self.dispatcher.endpoint(e), methods=[e.method], name=e.name)
            for e in self.endpoints
        )
        return routes


def build_console(
    settings: Settings,
    engine: Engine,
    policy: PolicyEngine | None,
    *,
    throttle: LoginThrottle | None = None,
) -> Console:
    deps = ConsoleDeps(
        engine=engine,
        templates=console_templates(),
        policy=policy,
        rules_path=settings.rules.path,
        data_dir=settings.data_dir,
    )
    signer = SessionSigner(console_secret(settings.web.secret_key, settings.data_dir))
    dispatcher = Dispatcher(deps, signer)
    # A real argon2 hash of a random password: an unknown username costs as much as a known one.
    dummy = AdminUser(
        username="", role="staff", password_hash=PasswordHasher().hash(secrets.token_urlsafe())
    )
    sign_in = SignIn(dispatcher, throttle or LoginThrottle(engine), dummy)
    return Console(dispatcher, sign_in, ENDPOINTS)
