"""The console's cookie: a small JSON payload, signed with HMAC-SHA256 and dated.

The cookie holds the CSRF token of the browser's session, a flash message for
the next page and, once signed in, the token of a session kept in the
database (`access.sessions`): the database, not the cookie, says who is
signed in and whether that still holds, so signing out, a new password or a
disabled user ends the session on every node at once. A tampered, foreign or
expired cookie reads as no session.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass, replace

COOKIE_NAME = "abusedesk_session"
MAX_AGE_SECONDS = 12 * 3600


@dataclass(frozen=True, slots=True)
class SessionData:
    csrf: str
    token: str | None = None
    """The token of the signed-in session in the database; None before signing in."""
    issued_at: float = 0.0
    flash: str | None = None
    flash_kind: str = "info"

    def signed_in(self, token: str, now: float) -> SessionData:
        # A new CSRF token at sign-in: a token seen before the sign-in is worth nothing after it.
        return SessionData(csrf=secrets.token_urlsafe(24), token=token, issued_at=now)

    def with_flash(self, message: str | None, kind: str = "info") -> SessionData:
        return replace(self, flash=message, flash_kind=kind)


def new_session(now: float) -> SessionData:
    return SessionData(csrf=secrets.token_urlsafe(24), issued_at=now)


@dataclass(frozen=True, slots=True)
class SessionSigner:
    key: bytes
    max_age: float = MAX_AGE_SECONDS

    def dump(self, session: SessionData) -> str:
        payload = json.dumps(
            {
                "c": session.csrf,
                "s": session.token,
                "t": session.issued_at,
                "f": session.flash,
                "k": session.flash_kind,
            },
            separators=(",", ":"),
        ).encode()
        body = base64.urlsafe_b64encode(payload).rstrip(b"=")
        return f"{body.decode()}.{self._sign(body)}"

    def load(self, cookie: str | None, now: float | None = None) -> SessionData | None:
        if not cookie or "." not in cookie:
            return None
        body, _, signature = cookie.rpartition(".")
        if not hmac.compare_digest(signature, self._sign(body.encode())):
            return None
        try:
            data = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
            session = SessionData(
                csrf=str(data["c"]),
                token=data["s"] if isinstance(data["s"], str) else None,
                issued_at=float(data["t"]),
                flash=data["f"] if isinstance(data["f"], str) else None,
                flash_kind=str(data["k"]),
            )
        except (ValueError, KeyError, TypeError):
            return None
        current = time.time() if now is None else now
        if not 0 <= current - session.issued_at <= self.max_age:
            return None
        return session

    def _sign(self, body: bytes) -> str:
        digest = hmac.new(self.key, b"abusedesk-session\0" + body, hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
