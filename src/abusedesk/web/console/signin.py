"""Signing in and out of the console: CSRF-checked forms, argon2 passwords, rate-limited.

A wrong username and a wrong password get the same answer, in the same
time (the password is checked against a dummy hash when the user is
unknown), so the form does not tell which usernames exist. The attempt is
counted before the password is checked (`web.throttle`), so sign-ins sent
in parallel cannot all be tried. Signing in opens a session in the database
(`access.sessions`); signing out ends it there, on every node at once.
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
from abusedesk.access.sessions import end_session, open_session, session_user
from abusedesk.access.users import verify_password
from abusedesk.store.tables import AdminUser
from abusedesk.web.bodies import BadBody, closing, read_form
from abusedesk.web.console.dispatch import Dispatcher, client_address
from abusedesk.web.console.endpoint import Page
from abusedesk.web.session import COOKIE_NAME, SessionData, new_session
from abusedesk.web.throttle import LoginThrottle

log = logging.getLogger(__name__)

WRONG = "Wrong username or password."
MAX_SIGN_IN_BYTES = 4096
"""A username, a password, a CSRF token and where to go next."""


@dataclass(frozen=True, slots=True)
class SignIn:
    dispatcher: Dispatcher
    throttle: LoginThrottle
    dummy_user: AdminUser

    async def form(self, request: Request) -> Response:
        session = self._session(request)
        if session.token:
            return RedirectResponse("/", 303)
        return self._page(session, request.query_params.get("next", "/"), None, 200)

    async def submit(self, request: Request) -> Response:
        session = self._session(request)
        form = await read_form(request, 10, MAX_SIGN_IN_BYTES)
        if isinstance(form, BadBody):
            return closing(self._page(session, "/", form.message, form.status))
        username = form.get("username", "").strip()
        password = form.get("password", "")
        target = _safe_next(form.get("next", "/"))
        if not hmac.compare_digest(form.get("csrf", ""), session.csrf):
            return self._page(session, target, "This form has expired. Try again.", 403)
        address = client_address(request)
        attempt = await run_in_threadpool(self.throttle.attempt, username, address)
        if attempt.wait > 0:
            minutes = math.ceil(attempt.wait / 60)
            message = f"Too many failed sign-ins. Try again in {minutes} minute(s)."
            return self._page(session, target, message, 429)
        token = await run_in_threadpool(self._check, username, password, address, session.token)
        if token is None:
            log.warning("console: failed sign-in for %r from %s", username, address)
            return self._page(session, target, WRONG, 401)
        await run_in_threadpool(self.throttle.succeeded, attempt)
        response = RedirectResponse(target, 303)
        self.dispatcher.set_cookie(response, session.signed_in(token, time.time()))
        return response

    async def sign_out(self, request: Request) -> Response:
        session = self.dispatcher.signer.load(request.cookies.get(COOKIE_NAME))
        if session is None or session.token is None:
            return closing(RedirectResponse("/login", 303))
        form = await read_form(request, 10, MAX_SIGN_IN_BYTES)
        if isinstance(form, BadBody) or not hmac.compare_digest(form.get("csrf", ""), session.csrf):
            return closing(RedirectResponse("/login", 303))
        await run_in_threadpool(self._end, session.token, client_address(request))
        response = RedirectResponse("/login", 303)
        response.delete_cookie(COOKIE_NAME, path="/")
        return response

    def _check(
        self, username: str, password: str, address: str, previous: str | None
    ) -> str | None:
        """The token of a new session when the password is right, else None."""
        with Session(self.dispatcher.deps.engine) as db:
            user = db.execute(
                select(AdminUser).where(col(AdminUser.username) == username)
            ).scalar_one_or_none()
            if user is None or user.disabled or not user.password_hash:
                verify_password(self.dummy_user, password)  # the same time as a real check
                return None
            if not verify_password(user, password):
                return None
            if previous:
                end_session(db, previous)  # signing in again replaces the browser's old session
            token = open_session(db, user)
            record_audit(db, actor_for(user, address), "sign-in", "user", user.username)
            db.commit()
            return token

    def _end(self, token: str, address: str) -> None:
        with Session(self.dispatcher.deps.engine) as db:
            user = session_user(db, token)
            end_session(db, token)
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
