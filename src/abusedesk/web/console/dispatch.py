"""Turn an `Endpoint` into a Starlette endpoint: authenticate, check CSRF and audience, run, answer.

Console pages authenticate by the signed session cookie and answer HTML;
API operations authenticate by a per-user bearer token only (never the
cookie, so no API call can be forged from another site) and answer JSON.
Everything that touches the database runs in a worker thread inside one
transaction, committed only when the handler returns.
"""

from __future__ import annotations

import hmac
import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse
from starlette.responses import Response as StarletteResponse

from abusedesk.access.scope import Actor, actor_for, load_actor
from abusedesk.access.users import user_for_api_token
from abusedesk.errors import AbusedeskError, NotFoundError, RefusedError
from abusedesk.store.types import AdminRole
from abusedesk.web.console.endpoint import (
    Audience,
    Call,
    ConsoleDeps,
    Endpoint,
    Json,
    Page,
    Redirect,
    Reply,
    Text,
)
from abusedesk.web.session import COOKIE_NAME, SessionData, SessionSigner

log = logging.getLogger(__name__)

NOT_FOUND = "not found"
MAX_BODY_FIELDS = 50


@dataclass(frozen=True, slots=True)
class Dispatcher:
    deps: ConsoleDeps
    signer: SessionSigner

    def endpoint(self, spec: Endpoint) -> Any:
        async def run(request: Request) -> StarletteResponse:
            if spec.api:
                return await self._api(spec, request)
            return await self._console(spec, request)

        run.__name__ = spec.name.replace("-", "_")
        return run

    async def _console(self, spec: Endpoint, request: Request) -> StarletteResponse:
        session = self.signer.load(request.cookies.get(COOKIE_NAME))
        if session is None or session.username is None:
            target = request.url.path if spec.method == "GET" else "/"
            return RedirectResponse(f"/login?next={quote(target)}", 303)
        body: dict[str, Any] = {}
        if spec.method == "POST":
            form = await request.form(max_fields=MAX_BODY_FIELDS)
            body = {k: v for k, v in form.items() if isinstance(v, str)}
            if not hmac.compare_digest(str(body.pop("csrf", "")), session.csrf):
                return self.render_error(session, 403, "This form has expired. Reload the page.")
        username = session.username
        origin = client_address(request)

        def work() -> StarletteResponse:
            with Session(self.deps.engine) as db:
                try:
                    actor = load_actor(db, username, origin)
                except NotFoundError:
                    response: StarletteResponse = RedirectResponse("/login", 303)
                    response.delete_cookie(COOKIE_NAME, path="/")
                    return response
                try:
                    reply = self._call(spec, actor, db, request, body)
                    # Rendered inside the transaction: templates read the loaded rows as they are.
                    response = self._console_response(reply, session, actor)
                except NotFoundError:
                    db.rollback()
                    return self.render_error(session, 404, NOT_FOUND, actor)
                except AbusedeskError as exc:
                    db.rollback()
                    return self.render_error(session, 409, str(exc), actor)
                db.commit()
                return response

        return await run_in_threadpool(work)

    def _call(
        self, spec: Endpoint, actor: Actor, db: Session, request: Request, body: dict[str, Any]
    ) -> Reply:
        if not allowed(spec.audience, actor):
            raise NotFoundError(NOT_FOUND)
        call = Call(
            actor=actor,
            session=db,
            deps=self.deps,
            params={k: str(v) for k, v in request.path_params.items()},
            query=dict(request.query_params),
            body=body,
            path=request.url.path,
        )
        return spec.handler(call)

    def _console_response(
        self, reply: Reply, session: SessionData, actor: Actor
    ) -> StarletteResponse:
        if isinstance(reply, Redirect):
            response: StarletteResponse = RedirectResponse(reply.url, 303)
            self.set_cookie(response, session.with_flash(reply.flash, reply.flash_kind))
            return response
        if isinstance(reply, Text):
            return PlainTextResponse(reply.text)
        if isinstance(reply, Json):
            return JSONResponse(reply.data, reply.status)
        response = HTMLResponse(self.render(reply, session, actor), reply.status)
        if session.flash:
            self.set_cookie(response, session.with_flash(None))  # shown once
        return response

    def render(self, page: Page, session: SessionData, actor: Actor | None) -> str:
        template = self.deps.templates.get_template(page.template)
        return template.render(
            actor=actor,
            csrf=session.csrf,
            flash=session.flash,
            flash_kind=session.flash_kind,
            is_staff=actor is not None and actor.role == AdminRole.STAFF,
            **page.context,
        )

    def render_error(
        self, session: SessionData, status: int, message: str, actor: Actor | None = None
    ) -> HTMLResponse:
        page = Page("error.html", {"status": status, "message": message}, status)
        return HTMLResponse(self.render(page, session.with_flash(None), actor), status)

    def set_cookie(self, response: StarletteResponse, session: SessionData) -> None:
        response.set_cookie(
            COOKIE_NAME,
            self.signer.dump(session),
            max_age=int(self.signer.max_age),
            httponly=True,
            samesite="strict",
            path="/",
        )

    async def _api(self, spec: Endpoint, request: Request) -> StarletteResponse:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            return _api_error(401, "an API token is required (Authorization: Bearer …)")
        body: dict[str, Any] = {}
        if spec.method == "POST":
            try:
                parsed = await request.json() if await request.body() else {}
            except ValueError:
                return _api_error(400, "the body must be a JSON object")
            if not isinstance(parsed, dict):
                return _api_error(400, "the body must be a JSON object")
            unknown = set(parsed) - set(spec.fields)
            if unknown:
                return _api_error(400, f"unknown fields: {', '.join(sorted(unknown))}")
            body = parsed
        origin = client_address(request)

        def work() -> StarletteResponse:
            with Session(self.deps.engine) as db:
                user = user_for_api_token(db, token.strip())
                if user is None or user.disabled:
                    return _api_error(401, "the API token is not valid")
                actor = actor_for(user, origin)
                try:
                    reply = self._call(spec, actor, db, request, body)
                except NotFoundError as exc:
                    db.rollback()
                    return _api_error(404, str(exc) if allowed(spec.audience, actor) else NOT_FOUND)
                except RefusedError as exc:
                    db.rollback()
                    return _api_error(409, str(exc))
                except (AbusedeskError, ValueError) as exc:
                    db.rollback()
                    return _api_error(400, str(exc))
                db.commit()
            assert isinstance(reply, Json)
            return JSONResponse(reply.data, reply.status)

        return await run_in_threadpool(work)


def allowed(audience: Audience, actor: Actor) -> bool:
    if audience is Audience.ANY:
        return True
    if audience is Audience.COMPANY:
        return actor.role in {AdminRole.STAFF, AdminRole.COMPANY_ADMIN}
    return actor.role == AdminRole.STAFF


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _api_error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status)
