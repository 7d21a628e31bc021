"""Turn an `Endpoint` into a Starlette endpoint: authenticate, check CSRF and audience, run, answer.

Console pages authenticate by the session cookie, whose session the database
holds (`access.sessions`), and answer HTML; API operations authenticate by a
per-user bearer token only (never the cookie, so no API call can be forged
from another site) and answer JSON. The caller is known before a byte of a
body is read, and every body is bounded (`web.bodies`). Every id in a path is
bounded too: one that no table could hold is not found, like a missing one.
Everything that touches the database runs in a worker thread inside one
transaction, committed only when the handler returns.
"""

from __future__ import annotations

import hmac
import logging
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse
from starlette.responses import Response as StarletteResponse

from abusedesk.access.scope import Actor, actor_for
from abusedesk.access.sessions import session_actor
from abusedesk.access.users import user_for_api_token
from abusedesk.errors import AbusedeskError, NotFoundError, RefusedError
from abusedesk.store.types import AdminRole
from abusedesk.web.bodies import BadBody, closing, read_form, read_json_object
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
INVALID_TOKEN = "the API token is not valid"
MAX_BODY_FIELDS = 50
MAX_ID = 2**31 - 1
"""The largest id of any table: ids are INTEGER columns, 32 bits on PostgreSQL."""
MAX_ADDRESS = 320
"""The longest mailbox address the directory stores."""
_ID = re.compile(r"[1-9][0-9]{0,9}")
"""An id as the console writes it: ASCII digits, no sign, no leading zero, no spaces."""


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
        if session is None or session.token is None:
            if spec.method == "GET":
                return RedirectResponse(f"/login?next={quote(request.url.path)}", 303)
            return closing(RedirectResponse("/login?next=/", 303))
        token = session.token
        origin = client_address(request)
        body: dict[str, Any] = {}
        if spec.method == "POST":
            signed_in = await run_in_threadpool(self._session_actor, token, origin)
            if signed_in is None:
                return closing(signed_out())
            form = await read_form(request, MAX_BODY_FIELDS)
            if isinstance(form, BadBody):
                return closing(self.render_error(session, form.status, form.message, signed_in))
            body = dict(form)
            if not hmac.compare_digest(str(body.pop("csrf", "")), session.csrf):
                return self.render_error(session, 403, "This form has expired. Reload the page.")

        def work() -> StarletteResponse:
            with Session(self.deps.engine) as db:
                # Looked up again inside the transaction: a session ended meanwhile acts no more.
                actor = session_actor(db, token, origin)
                if actor is None:
                    return signed_out()
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

    def _session_actor(self, token: str, origin: str) -> Actor | None:
        with Session(self.deps.engine) as db:
            return session_actor(db, token, origin)

    def _call(
        self, spec: Endpoint, actor: Actor, db: Session, request: Request, body: dict[str, Any]
    ) -> Reply:
        if not allowed(spec.audience, actor):
            raise NotFoundError(NOT_FOUND)
        call = Call(
            actor=actor,
            session=db,
            deps=self.deps,
            params=bounded_params(request.path_params),
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
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            return closing(_api_error(401, "an API token is required (Authorization: Bearer …)"))
        body: dict[str, Any] = {}
        if spec.method == "POST":
            if not await run_in_threadpool(self._api_token_valid, token):
                return closing(_api_error(401, INVALID_TOKEN))
            parsed = await read_json_object(request)
            if isinstance(parsed, BadBody):
                return closing(_api_error(parsed.status, parsed.message))
            unknown = set(parsed) - set(spec.fields)
            if unknown:
                return _api_error(400, f"unknown fields: {', '.join(sorted(unknown))}")
            body = parsed
        origin = client_address(request)

        def work() -> StarletteResponse:
            with Session(self.deps.engine) as db:
                user = user_for_api_token(db, token)
                if user is None or user.disabled:
                    return _api_error(401, INVALID_TOKEN)
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

    def _api_token_valid(self, token: str) -> bool:
        with Session(self.deps.engine) as db:
            user = user_for_api_token(db, token)
            return user is not None and not user.disabled


def allowed(audience: Audience, actor: Actor) -> bool:
    if audience is Audience.ANY:
        return True
    if audience is Audience.COMPANY:
        return actor.role in {AdminRole.STAFF, AdminRole.COMPANY_ADMIN}
    return actor.role == AdminRole.STAFF


def bounded_params(path_params: dict[str, Any]) -> dict[str, str]:
    """The path's values as text; NotFoundError for an id or address no table could hold.

    Checked here, for every route, so that no handler can forget it: a huge id
    would otherwise overflow the database driver (SQLite's 64 bits, PostgreSQL's
    32) and answer 500 instead of 404.
    """
    params = {name: str(value) for name, value in path_params.items()}
    for name, value in params.items():
        if name.endswith("_id") and not (_ID.fullmatch(value) and int(value) <= MAX_ID):
            raise NotFoundError(NOT_FOUND)
        if name == "address" and len(value) > MAX_ADDRESS:
            raise NotFoundError(NOT_FOUND)
    return params


def signed_out() -> StarletteResponse:
    """The session is over: to the sign-in page, with the cookie cleared."""
    response = RedirectResponse("/login", 303)
    response.delete_cookie(COOKIE_NAME, path="/")
    return response


def client_address(request: Request) -> str:
    """The client's address: the peer, or what a trusted proxy said (`[web] trusted_proxies`)."""
    return request.client.host if request.client else "unknown"


def _api_error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status)
