"""Signing in and out of the console: CSRF-checked forms, argon2 passwords, rate-limited.

A wrong username and a wrong password get the same answer, in the same
time (the password is checked against a dummy hash when the user is
unknown), so the form does not tell which usernames exist.
"""

from __future__ import annotations

import hmac
import logging
import math
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlmodel import Session, col
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from abusedesk.access.audit import record_audit
from abusedesk.access.scope import actor_for
from abusedesk.access.users import verify_password
from abusedesk.store.tables import AdminUser
from abusedesk.web.console.dispatch import Dispatcher, client_address
from abusedesk.web.console.endpoint import Page
from abusedesk.web.session import COOKIE_NAME, SessionData, new_session
from abusedesk.web.throttle import LoginThrottle

log = logging.getLogger(__name__)

WRONG = "Wrong username or password."


@dataclass(frozen=True, slots=True)
class SignIn:
    dispatcher: Dispatcher
    throttle: LoginThrottle
    dummy_user: AdminUser

    async def form(self, request: Request) -> Response:
        session = self._session(request)
        if session.username:
            return RedirectResponse("/", 303)
        return self._page(session, request.query_params.get("next", "/"), None, 200)

    async def submit(self, request: Request) -> Response:
        session = self._session(request)
        form = await request.form(max_fields=10)
        username = str(form.get("username", "")).strip()
        password = str(form.get("password", ""))
        target = _safe_next(str(form.get("next", "/")))
        if not hmac.compare_digest(str(form.get("csrf", "")), session.csrf):
            return self._page(session, target, "This form has expired. Try again.", 403)
        address = client_address(request)
        wait = self.throttle.retry_after(username, address)
        if wait > 0:
            minutes = math.ceil(wait / 60)
            message = f"Too many failed sign-ins. Try again in {minutes} minute(s)."
            return self._page(session, target, message, 429)
        signed_in = await run_in_threadpool(self._check, username, password, address)
        if not signed_in:
            self.throttle.failed(username, address)
            log.warning("console: failed sign-in for %r from %s", username, address)
            return self._page(session, target, WRONG, 401)
        self.throttle.succeeded(username)
        response = RedirectResponse(target, 303)
        self.dispatcher.set_cookie(response, session.signed_in(signed_in, time.time()))
        return response

    async def sign_out(self, request: Request) -> Response:
        session = self.dispatcher.signer.load(request.cookies.get(COOKIE_NAME))
        form = await request.form(max_fields=10)
        if session is None or not hmac.compare_digest(str(form.get("csrf", "")), session.csrf):
            return RedirectResponse("/login", 303)
        if session.username:
            await run_in_threadpool(self._audit_sign_out, session.username, client_address(request))
        response = RedirectResponse("/login", 303)
        response.delete_cookie(COOKIE_NAME, path="/")
        return response

    def _check(self, username: str, password: str, address: str) -> str | None:
        with Session(self.dispatcher.deps.engine) as db:
            user = db.execute(
                select(AdminUser).where(col(AdminUser.username) == username)
            ).scalar_one_or_none()
            if user is None or user.disabled or not user.password_hash:
                verify_password(self.dummy_user, password)  # the same time as a real check
                return None
            if not verify_password(user, password):
                return None
            record_audit(db, actor_for(user, address), "sign-in", "user", user.username)
            db.commit()
            return str(user.username)

    def _audit_sign_out(self, username: str, address: str) -> None:
        with Session(self.dispatcher.deps.engine) as db:
            user = db.execute(
                select(AdminUser).where(col(AdminUser.username) == username)
            ).scalar_one_or_none()
            if user is not None:
                record_audit(db, actor_for(user, address), "sign-out", "user", user.username)
                db.commit()

    def _session(self, request: Request) -> SessionData:
        return self.dispatcher.signer.load(request.cookies.get(COOKIE_NAME)) or new_session(
            time.time()
        )

    def _page(self, session: SessionData, target: str, error: str | None, status: int) -> Response:
        page = Page("login.html", {"next": _safe_next(target), "error": error}, status)
        response = HTMLResponse(self.dispatcher.render(page, session, None), status)
        self.dispatcher.set_cookie(response, session)
        return response


def _safe_next(target: str) -> str:
    """Only a path on this site: `next=https://evil.example` or `//evil.example` goes home."""
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return "/"
    if "\\" in target or any(ord(c) < 32 for c in target):
        return "/"
    return target
